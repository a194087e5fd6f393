from __future__ import annotations

import pytest
from django.test import Client

from storefront.staff import PLATFORM_STAFF_GROUP, ensure_platform_staff_group
from tests.factories import make_user


@pytest.fixture
def platform_staff(db):
    user = make_user("ops@example.com", is_staff=True)
    user.groups.add(ensure_platform_staff_group())
    client = Client()
    client.force_login(user)
    return client


def test_the_group_exists_after_migrate_with_billing_and_storefront_permissions(db):
    from django.contrib.auth.models import Group

    group = Group.objects.get(name=PLATFORM_STAFF_GROUP)
    labels = set(group.permissions.values_list("content_type__app_label", flat=True))
    assert labels == {"billing", "storefront", "axes"}
    assert group.permissions.filter(codename="change_billingaccount").exists()


@pytest.mark.parametrize(
    "path",
    [
        "/admin/billing/billingaccount/",
        "/admin/billing/webhookevent/",
        "/admin/storefront/customer/",
        "/admin/axes/accessattempt/",
    ],
)
def test_staff_in_the_group_reach_billing_admin_without_being_superusers(platform_staff, path):
    assert platform_staff.get(path).status_code == 200


def test_staff_outside_the_group_do_not(db):
    client = Client()
    client.force_login(make_user("intern@example.com", is_staff=True))
    assert client.get("/admin/billing/billingaccount/").status_code == 403


def test_the_demo_admin_is_platform_staff_not_superuser(db):
    from io import StringIO

    from django.core.management import call_command

    from storefront.models import User

    call_command("seed_demo", stdout=StringIO())
    admin = User.objects.get(email="admin@example.com")
    assert admin.is_staff and not admin.is_superuser
    assert admin.groups.filter(name=PLATFORM_STAFF_GROUP).exists()


def test_staff_cannot_promote_themselves_or_anyone(platform_staff):
    from storefront.models import User

    me = User.objects.get(email="ops@example.com")
    response = platform_staff.post(
        f"/admin/storefront/user/{me.pk}/change/",
        {"email": me.email, "is_active": "on", "is_staff": "on", "is_superuser": "on"},
    )
    assert response.status_code == 403
    me.refresh_from_db()
    assert not me.is_superuser
    assert platform_staff.get("/admin/storefront/user/add/").status_code == 403
    # They may still look people up.
    assert platform_staff.get("/admin/storefront/user/").status_code == 200
