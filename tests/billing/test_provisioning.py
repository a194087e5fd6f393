"""Provisioning Express accounts through the gateway, against the Stripe emulator."""

from __future__ import annotations

import threading

import pytest

from billing import onboarding
from billing.models import BillingAccount, ConnectAccount, OnboardingStatus
from billing.resolution import resolve_billing
from storefront import access
from tests.concurrency import in_threads


def acting(user, customer):
    return access.resolve(user, customer.pk)


def test_it_creates_an_express_account_prefilled_with_what_we_know(
    cast, emulated_stripe, stripe_client
):
    cast.parent.company = "Northwind Media Group Ltd"
    cast.parent.save()
    connect, created = onboarding.provision(acting(cast.parent_owner, cast.parent), country="gb")
    assert created
    account = stripe_client.v1.accounts.retrieve(connect.stripe_id)
    assert account.country == "GB"
    assert account.email == "owner@northwind.test"
    assert account.business_profile.name == "Northwind Media Group Ltd"
    assert account.controller.stripe_dashboard.type == "express"
    assert account.metadata["customer_id"] == str(cast.parent.pk)
    assert connect.country == "GB"
    assert connect.onboarding_status == OnboardingStatus.PENDING
    assert connect.raw["id"] == connect.stripe_id


def test_calling_it_again_returns_the_same_account(cast, emulated_stripe, stripe_client):
    who = acting(cast.parent_owner, cast.parent)
    first, _ = onboarding.provision(who)
    second, created = onboarding.provision(who)
    assert not created
    assert second.stripe_id == first.stripe_id
    assert ConnectAccount.objects.count() == 1
    assert len(stripe_client.v1.accounts.list({"limit": 100}).data) == 1


def test_a_retry_after_losing_our_row_gets_the_same_stripe_account(
    cast, emulated_stripe, stripe_client
):
    # As if our process died after Stripe created the account but before we stored it.
    who = acting(cast.parent_owner, cast.parent)
    first, _ = onboarding.provision(who)
    stripe_id = first.stripe_id
    first.delete()
    again, created = onboarding.provision(who)
    assert again.stripe_id == stripe_id
    assert len(stripe_client.v1.accounts.list({"limit": 100}).data) == 1


def test_the_country_is_permanent(cast, emulated_stripe):
    who = acting(cast.parent_owner, cast.parent)
    onboarding.provision(who, country="US")
    with pytest.raises(onboarding.BillingError, match="cannot be changed") as excinfo:
        onboarding.provision(who, country="DE")
    assert excinfo.value.field == "country"


def test_unsupported_countries_are_refused_before_calling_stripe(
    cast, emulated_stripe, stripe_client
):
    with pytest.raises(onboarding.BillingError, match="'ZZ' is not a country"):
        onboarding.provision(acting(cast.parent_owner, cast.parent), country="zz")
    assert stripe_client.v1.accounts.list().data == []
    assert not BillingAccount.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_make_one_account_and_one_row(cast, emulated_stripe, stripe_client):
    who = acting(cast.parent_owner, cast.parent)
    results = []
    barrier = threading.Barrier(2)

    def provision() -> None:
        barrier.wait()
        results.append(onboarding.provision(who)[0].stripe_id)

    in_threads(provision, provision)
    assert len(set(results)) == 1
    assert ConnectAccount.objects.count() == 1
    assert BillingAccount.objects.count() == 1
    assert len(stripe_client.v1.accounts.list({"limit": 100}).data) == 1


class TestWhoMayProvision:
    def test_a_parent_admin_provisions_a_separate_account_for_a_child(self, cast, emulated_stripe):
        parent_account, _ = onboarding.provision(acting(cast.parent_owner, cast.parent))
        child_account, _ = onboarding.provision(acting(cast.parent_owner, cast.child))
        assert child_account.stripe_id != parent_account.stripe_id
        assert child_account.billing_account.customer == cast.child
        assert not resolve_billing(cast.child).inherited
        assert resolve_billing(cast.sibling).inherited

    def test_a_child_user_is_refused_with_who_can(self, cast, emulated_stripe, stripe_client):
        with pytest.raises(onboarding.ProvisioningRefused) as excinfo:
            onboarding.provision(acting(cast.child_owner, cast.child))
        assert "Only an admin of Northwind Media" in excinfo.value.message
        assert stripe_client.v1.accounts.list().data == []
        assert not BillingAccount.objects.exists()

    def test_a_member_is_refused(self, cast, emulated_stripe):
        with pytest.raises(onboarding.ProvisioningRefused, match="Only an admin"):
            onboarding.provision(acting(cast.parent_viewer, cast.parent))

    def test_a_parent_member_is_refused_for_a_child(self, cast, emulated_stripe):
        with pytest.raises(onboarding.ProvisioningRefused):
            onboarding.provision(acting(cast.parent_viewer, cast.child))

    def test_a_standalone_admin_provisions(self, cast, emulated_stripe):
        connect, _ = onboarding.provision(acting(cast.standalone_owner, cast.standalone))
        assert connect.billing_account.customer == cast.standalone

    def test_staff_may_provision_for_any_customer(self, cast, emulated_stripe):
        connect, _ = onboarding.provision(acting(cast.staff, cast.other))
        assert connect.billing_account.customer == cast.other


class TestStatusFromStripe:
    """Each account state the emulator can produce, refreshed through the gateway."""

    @pytest.fixture
    def connect(self, cast, emulated_stripe):
        return onboarding.provision(acting(cast.parent_owner, cast.parent))[0]

    @pytest.mark.parametrize(
        ("action", "extra", "status", "reason_prefix"),
        [
            ("complete", {}, OnboardingStatus.COMPLETE, ""),
            ("partial", {}, OnboardingStatus.PENDING, ""),
            (
                "pending_verification",
                {},
                OnboardingStatus.PENDING,
                "requirements.pending_verification",
            ),
            ("restrict", {}, OnboardingStatus.RESTRICTED, "requirements.past_due"),
            (
                "reject",
                {"reason": "terms_of_service"},
                OnboardingStatus.RESTRICTED,
                "rejected.terms_of_service",
            ),
        ],
    )
    def test_status_follows_the_account(
        self, connect, emulated_stripe, action, extra, status, reason_prefix
    ):
        if action == "restrict":
            # A live account whose requirements went past due.
            emulated_stripe.complete_onboarding(connect.stripe_id, "complete")
        emulated_stripe.complete_onboarding(connect.stripe_id, action, **extra)
        onboarding.refresh(connect)
        connect.refresh_from_db()
        assert connect.onboarding_status == status
        assert connect.disabled_reason.startswith(reason_prefix)
        assert connect.refreshed_at is not None

    def test_refresh_takes_a_balance_snapshot(self, connect, emulated_stripe):
        emulated_stripe.complete_onboarding(connect.stripe_id)
        onboarding.refresh(connect)
        connect.refresh_from_db()
        assert connect.balance_as_of is not None
        assert all(isinstance(entry["amount"], int) for entry in connect.balance_available)


def test_a_child_getting_its_own_account_keeps_the_parents_fees(cast, emulated_stripe):
    from decimal import Decimal

    parent_account = BillingAccount.objects.open_for(cast.parent)
    parent_account.change_fee_schedule(
        platform_fee_percent=Decimal("12.5"),
        fees=[{"name": "Ad serving", "feePercent": "2"}],
        currency="USD",
    )
    connect, _ = onboarding.provision(acting(cast.parent_owner, cast.child))
    schedule = connect.billing_account.fee_schedule()
    assert schedule.platform_fee_percent == Decimal("12.5")
    assert [fee.name for fee in schedule.additional_fees] == ["Ad serving"]
    assert "Carried over from Northwind Media" in schedule.note
    assert schedule.changed_by == cast.parent_owner
