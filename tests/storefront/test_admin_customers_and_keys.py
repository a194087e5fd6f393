"""Django admin: customers with their memberships, and API keys with the revoke action."""

from __future__ import annotations

from django.contrib.admin.models import LogEntry

from storefront.models import ApiKey, Membership, Role


def test_customers_are_searchable_and_filter_by_having_a_parent(admin_client, cast):
    response = admin_client.get("/admin/storefront/customer/", {"q": "Globex"})
    assert [c.name for c in response.context["cl"].result_list] == ["Globex Publishing"]
    response = admin_client.get("/admin/storefront/customer/", {"parent__isempty": "0"})
    assert {c.name for c in response.context["cl"].result_list} == {
        "Northwind Sports",
        "Northwind News",
    }


def test_a_customer_page_shows_and_edits_its_memberships(admin_client, cast):
    url = f"/admin/storefront/customer/{cast.standalone.pk}/change/"
    response = admin_client.get(url)
    assert "owner@globex.test" in response.content.decode()
    membership = Membership.objects.get(customer=cast.standalone)
    data = {
        "name": cast.standalone.name,
        "company": cast.standalone.company,
        "parent": "",
        "memberships-TOTAL_FORMS": "1",
        "memberships-INITIAL_FORMS": "1",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
        "memberships-0-id": str(membership.pk),
        "memberships-0-customer": str(cast.standalone.pk),
        "memberships-0-user": str(membership.user.pk),
        "memberships-0-role": Role.MEMBER,
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["errors"] if response.context else ""
    membership.refresh_from_db()
    assert membership.role == Role.MEMBER
    assert LogEntry.objects.filter(object_id=str(cast.standalone.pk)).exists()


def test_the_revoke_action_revokes_the_selected_keys_only(admin_client, cast):
    doomed, _ = ApiKey.issue(user=cast.parent_owner, customer=cast.parent, name="Old", scopes=[])
    kept, _ = ApiKey.issue(user=cast.parent_owner, customer=cast.parent, name="New", scopes=[])
    response = admin_client.post(
        "/admin/storefront/apikey/", {"action": "revoke", "_selected_action": [doomed.pk]}
    )
    assert response.status_code == 302
    doomed.refresh_from_db()
    kept.refresh_from_db()
    assert doomed.revoked_at is not None and not doomed.is_active
    assert kept.revoked_at is None
    response = admin_client.get("/admin/storefront/apikey/", {"revoked_at__isempty": "0"})
    assert list(response.context["cl"].result_list) == [doomed]
    response = admin_client.get("/admin/storefront/apikey/", {"q": "parent"})
    assert response.status_code == 200
