from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from storefront.models import ApiKey, Customer, InventorySource, Membership, Storefront, User


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


class TestSeedDemo:
    def test_it_creates_the_demo_cast(self, db):
        run("seed_demo")
        media = Customer.objects.get(name="Northwind Media")
        assert sorted(media.children.values_list("name", flat=True)) == [
            "Northwind News",
            "Northwind Sports",
        ]
        assert Customer.objects.get(name="Globex Publishing").parent is None
        assert User.objects.get(email="admin@example.com").is_staff
        assert User.objects.get(email="owner@globex.test").check_password("demo-owner")
        assert Membership.objects.get(user__email="viewer@northwind.test").role == "MEMBER"
        assert (
            Membership.objects.get(user__email="owner@news.northwind.test").customer.name
            == "Northwind News"
        )

    def test_running_it_twice_changes_nothing(self, db):
        run("seed_demo")
        before = [
            list(model.objects.order_by("pk").values())
            for model in (Customer, User, Membership, Storefront, InventorySource)
        ]
        run("seed_demo")
        after = [
            list(model.objects.order_by("pk").values())
            for model in (Customer, User, Membership, Storefront, InventorySource)
        ]
        assert after == before

    def test_storefronts_get_sources_that_advertise_agent_billing(self, db):
        run("seed_demo")
        globex = Storefront.objects.get(customer__name="Globex Publishing")
        assert globex.sources.get().offers_agent_billing
        media = Storefront.objects.get(customer__name="Northwind Media")
        assert (media.sources.count(), media.default_currency) == (2, "USD")

    def test_it_prints_the_logins(self, db):
        out = run("seed_demo")
        assert "owner@northwind.test" in out and "demo-owner" in out


class TestCreateApiKey:
    def test_it_prints_a_working_read_only_key_by_default(self, cast):
        raw = run("create_api_key", "owner@northwind.test").strip()
        assert raw.startswith("sfk_")
        key = ApiKey.objects.authenticate(raw)
        assert key is not None
        assert key.customer == cast.parent
        assert key.scopes == ["billing:read", "storefront:read"]
        assert not key.can_write

    def test_write_scopes_are_given_when_named_with_a_warning(self, cast):
        out, err = io.StringIO(), io.StringIO()
        call_command(
            "create_api_key",
            "owner@northwind.test",
            "--scopes",
            "billing:read",
            "billing:write",
            stdout=out,
            stderr=err,
        )
        key = ApiKey.objects.authenticate(out.getvalue().strip())
        assert key.scopes == ["billing:read", "billing:write"]
        assert "Warning: this key can change data (billing:write)" in err.getvalue()

    def test_members_get_read_scopes_by_default(self, cast):
        key = ApiKey.objects.authenticate(run("create_api_key", "viewer@northwind.test").strip())
        assert key.scopes == ["billing:read", "storefront:read"]

    def test_a_member_is_granted_billing_access_only_by_naming_finance(self, cast):
        raw = run("create_api_key", "viewer@northwind.test", "--scopes", "billing:read", "finance")
        assert ApiKey.objects.authenticate(raw.strip()).scopes == ["billing:read", "finance"]

    def test_staff_get_billing_admin(self, cast):
        key = ApiKey.objects.authenticate(
            run(
                "create_api_key",
                "staff@example.com",
                "--customer",
                str(cast.parent.pk),
                "--scopes",
                "billing:read",
                "billing:admin",
            ).strip()
        )
        assert "billing:admin" in key.scopes

    def test_it_binds_the_key_to_a_child_for_a_parent_user(self, cast):
        raw = run(
            "create_api_key", "owner@northwind.test", "--customer", str(cast.child.pk)
        ).strip()
        assert ApiKey.objects.authenticate(raw).customer == cast.child

    def test_it_refuses_a_customer_the_user_cannot_act_for(self, cast):
        with pytest.raises(CommandError, match="not yours"):
            run("create_api_key", "owner@sports.northwind.test", "--customer", str(cast.parent.pk))
        assert not ApiKey.objects.exists()

    def test_it_refuses_scopes_beyond_the_role(self, cast):
        with pytest.raises(CommandError, match="may not hold: billing:write"):
            run("create_api_key", "viewer@northwind.test", "--scopes", "billing:write")

    def test_it_refuses_an_unknown_user(self, db):
        with pytest.raises(CommandError, match="No user"):
            run("create_api_key", "nobody@example.com")
