"""Every cell of the acting-customer matrix: who may act as which customer, with which role."""

from __future__ import annotations

import pytest

from storefront import access
from storefront.models import Role

# user persona -> {customer persona: (role, via_parent) or None for refused}
MATRIX = {
    "parent_owner": {
        "parent": (Role.ADMIN, False),
        "child": (Role.ADMIN, True),
        "sibling": (Role.ADMIN, True),
        "standalone": None,
        "other": None,
    },
    "parent_viewer": {
        "parent": (Role.MEMBER, False),
        "child": (Role.MEMBER, True),
        "sibling": (Role.MEMBER, True),
        "standalone": None,
        "other": None,
    },
    "child_owner": {
        "parent": None,
        "child": (Role.ADMIN, False),
        "sibling": None,
        "standalone": None,
        "other": None,
    },
    "standalone_owner": {
        "parent": None,
        "child": None,
        "sibling": None,
        "standalone": (Role.ADMIN, False),
        "other": None,
    },
    "stranger": {
        "parent": None,
        "child": None,
        "sibling": None,
        "standalone": None,
        "other": (Role.ADMIN, False),
    },
}
CELLS = [
    (user, customer, expected) for user, row in MATRIX.items() for customer, expected in row.items()
]


@pytest.mark.parametrize(("user_name", "customer_name", "expected"), CELLS)
def test_matrix_cell(cast, user_name, customer_name, expected):
    user, customer = getattr(cast, user_name), getattr(cast, customer_name)
    if expected is None:
        with pytest.raises(access.AccessDenied):
            access.resolve(user, customer.pk)
        assert customer not in access.actable_customers(user)
    else:
        acting = access.resolve(user, customer.pk)
        assert acting.customer == customer
        assert (acting.role, acting.via_parent) == expected
        assert acting.is_platform_staff is False
        assert customer in access.actable_customers(user)


@pytest.mark.parametrize("customer_name", ["parent", "child", "sibling", "standalone", "other"])
def test_staff_act_as_any_customer_as_platform_admin(cast, customer_name):
    customer = getattr(cast, customer_name)
    acting = access.resolve(cast.staff, customer.pk)
    assert acting.customer == customer
    assert acting.role == Role.ADMIN
    assert acting.is_platform_staff


def test_a_missing_customer_is_refused_not_replaced_by_the_users_own(cast):
    with pytest.raises(access.AccessDenied):
        access.resolve(cast.parent_owner, 999_999)


def test_no_customer_id_means_the_users_default_top_level_customer(cast):
    assert access.resolve(cast.parent_owner, None).customer == cast.parent
    assert access.resolve(cast.child_owner, None).customer == cast.child


def test_a_user_without_memberships_has_no_default(db):
    from tests.factories import make_user

    with pytest.raises(access.AccessDenied, match="not a member"):
        access.resolve(make_user(), None)


def test_inactive_users_act_as_nobody(cast):
    cast.parent_owner.is_active = False
    cast.parent_owner.save()
    with pytest.raises(access.AccessDenied):
        access.resolve(cast.parent_owner, cast.parent.pk)
    assert not access.actable_customers(cast.parent_owner).exists()


def test_new_children_are_reachable_by_the_parents_users_at_once(cast):
    from tests.factories import make_customer

    newborn = make_customer("Northwind Kids", parent=cast.parent)
    assert access.resolve(cast.parent_viewer, newborn.pk).via_parent


def test_a_member_of_both_parent_and_child_gets_the_higher_role(cast):
    from storefront.models import Membership

    Membership.objects.create(user=cast.parent_viewer, customer=cast.child, role=Role.ADMIN)
    acting = access.resolve(cast.parent_viewer, cast.child.pk)
    assert acting.role == Role.ADMIN
    assert acting.via_parent is False


class TestProvisioningRefusal:
    def test_child_users_may_not_provision_and_are_told_who_can(self, cast):
        reason = access.resolve(cast.child_owner, cast.child.pk).provisioning_refusal()
        assert reason is not None
        assert "Northwind Media" in reason and "admin" in reason

    def test_parent_admins_may_provision_for_their_children(self, cast):
        assert access.resolve(cast.parent_owner, cast.child.pk).provisioning_refusal() is None

    def test_members_may_not_provision(self, cast):
        reason = access.resolve(cast.parent_viewer, cast.parent.pk).provisioning_refusal()
        assert reason is not None and "Only an admin" in reason

    def test_standalone_admins_may_provision(self, cast):
        assert access.resolve(cast.standalone_owner, None).provisioning_refusal() is None


class TestAllowedScopes:
    def test_members_get_read_scopes_only(self, cast):
        scopes = access.resolve(cast.parent_viewer, cast.parent.pk).allowed_scopes()
        # `finance` (the Billing API) too: on a member's key it is the grant of billing access.
        assert sorted(scopes) == ["billing:read", "finance", "storefront:read"]

    def test_admins_also_write(self, cast):
        scopes = access.resolve(cast.parent_owner, cast.parent.pk).allowed_scopes()
        assert sorted(scopes) == [
            "billing:read",
            "billing:write",
            "finance",
            "storefront:read",
            "storefront:write",
        ]

    def test_staff_also_edit_fees(self, cast):
        assert "billing:admin" in access.resolve(cast.staff, cast.parent.pk).allowed_scopes()


class TestSwitcher:
    def test_parent_users_see_the_parent_then_its_children(self, cast):
        customers = access.switcher_customers(access.resolve(cast.parent_owner, cast.child.pk))
        assert customers == [cast.parent, cast.sibling, cast.child]

    def test_child_users_see_only_their_child(self, cast):
        customers = access.switcher_customers(access.resolve(cast.child_owner, cast.child.pk))
        assert customers == [cast.child]

    def test_users_of_two_families_see_both(self, cast):
        from storefront.models import Membership

        Membership.objects.create(user=cast.standalone_owner, customer=cast.other, role=Role.MEMBER)
        customers = access.switcher_customers(access.resolve(cast.standalone_owner, None))
        assert customers == [cast.standalone, cast.other]

    def test_staff_see_the_family_of_the_customer_they_act_as(self, cast):
        customers = access.switcher_customers(access.resolve(cast.staff, cast.standalone.pk))
        assert customers == [cast.standalone]


# Whose rows each customer's money pages show on the parent's account.
MONEY_OWNERS = {
    "parent": {"child", "sibling", "parent"},
    "child": {"child"},
    "sibling": {"sibling"},
}


class TestMoneyOnTheParentsAccount:
    """What each persona sees of the money pages' rows when acting as each customer it may act
    as: a child billed through its parent sees only its own buyers' rows there, never a
    sibling's nor the parent's other rows; the parent sees its whole account."""

    @pytest.fixture
    def ledger(self, cast):
        from datetime import UTC, datetime

        from billing.models import (
            BalanceTransaction,
            BillingAccount,
            Buyer,
            ConnectAccount,
            Dispute,
            Invoice,
            InvoiceItem,
        )

        at = datetime(2026, 1, 1, tzinfo=UTC)
        account = BillingAccount.objects.open_for(cast.parent)
        connect = ConnectAccount.objects.create(
            billing_account=account, stripe_id="acct_parent", country="US"
        )
        owners = {"child": cast.child, "sibling": cast.sibling, "parent": None}
        for who, seller in owners.items():
            buyer = Buyer.objects.create(
                connect_account=connect, reference=who, name=f"buyer-{who}", seller=seller
            )
            invoice = Invoice.objects.create(
                connect_account=connect,
                buyer=buyer,
                stripe_id=f"in_{who}",
                number=f"NW-{who}",
                status="paid",
                currency="usd",
                total=100,
                amount_due=100,
                amount_paid=100,
                amount_remaining=0,
                created=at,
                charge_stripe_id=f"ch_{who}",
            )
            InvoiceItem.objects.create(
                connect_account=connect,
                buyer=buyer,
                stripe_id=f"ii_{who}",
                kind="plan_cost",
                description=f"item-{who}",
                amount=100,
                currency="usd",
                created=at,
            )
            Dispute.objects.create(
                connect_account=connect,
                invoice=invoice,
                stripe_id=f"dp_{who}",
                charge_stripe_id=f"ch_{who}",
                amount=100,
                currency="usd",
                status="lost",
                created=at,
            )
            for source in (f"ch_{who}", f"dp_{who}"):
                BalanceTransaction.objects.create(
                    connect_account=connect,
                    stripe_id=f"txn_{source}",
                    amount=100,
                    fee=0,
                    net=100,
                    currency="usd",
                    type="charge",
                    status="available",
                    created=at,
                    source_id=source,
                )
        # A card payment of the parent's own, linked to no invoice, and a payout.
        BalanceTransaction.objects.create(
            connect_account=connect,
            stripe_id="txn_card",
            amount=5,
            fee=0,
            net=5,
            currency="usd",
            type="charge",
            status="available",
            created=at,
            source_id="ch_card",
        )
        return connect

    @staticmethod
    def rows(customer):
        from billing.activity import activity_for

        activity = activity_for(customer)
        return (
            set(activity.invoices().values_list("number", flat=True)),
            set(activity.pending_items().values_list("description", flat=True)),
            set(activity.transactions().values_list("stripe_id", flat=True)),
        )

    @pytest.mark.parametrize(
        ("user_name", "customer_name"),
        [(u, c) for u, c, expected in CELLS if expected is not None and c in MONEY_OWNERS],
    )
    def test_each_actable_customer_sees_exactly_its_own_rows(
        self, cast, ledger, user_name, customer_name
    ):
        acting = access.resolve(getattr(cast, user_name), getattr(cast, customer_name).pk)
        invoices, items, transactions = self.rows(acting.customer)
        expected = MONEY_OWNERS[customer_name]
        assert invoices == {f"NW-{who}" for who in expected}
        assert items == {f"item-{who}" for who in expected}
        own_txns = {f"txn_ch_{who}" for who in expected} | {f"txn_dp_{who}" for who in expected}
        if customer_name == "parent":
            own_txns.add("txn_card")
        assert transactions == own_txns

    def test_a_child_user_never_reaches_the_siblings_or_the_parents_pages(self, cast, ledger):
        from django.test import Client

        client = Client()
        client.force_login(cast.child_owner)
        for customer in (cast.sibling, cast.parent):
            for path in ("transactions/", "invoices/", "pending/", "invoices/NW-sibling/"):
                assert client.get(f"/c/{customer.pk}/billing/{path}").status_code == 404
        html = client.get(f"/c/{cast.child.pk}/billing/invoices/").content.decode()
        assert "NW-child" in html and "NW-sibling" not in html and "NW-parent" not in html
        assert client.get(f"/c/{cast.child.pk}/billing/invoices/nw-sibling/").status_code == 404
        assert client.get(f"/c/{cast.child.pk}/billing/invoices/nw-child/").status_code == 200
