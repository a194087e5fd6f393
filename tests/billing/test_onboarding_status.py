from __future__ import annotations

from importlib import import_module

import pytest

from billing.models import BillingAccount, ConnectAccount, OnboardingStatus
from billing.status import DISABLED_REASONS, derive_onboarding_status, explain


def account(**fields) -> ConnectAccount:
    connect = ConnectAccount(stripe_id="acct_test", country="US", **fields)
    # As the mirror stores it when it applies Stripe's account object.
    connect.onboarding_status = derive_onboarding_status(connect)
    return connect


def assert_reads(connect: ConnectAccount, status: OnboardingStatus, words: str) -> None:
    """The account derives `status` and its explanation to the seller says `words`."""
    assert derive_onboarding_status(connect) == status
    assert words in explain(connect)


def test_nothing_provisioned_is_none():
    assert derive_onboarding_status(None) == OnboardingStatus.NONE


def test_a_fresh_account_is_pending_and_says_to_continue():
    fresh = account(currently_due=["business_type", "external_account"])
    assert_reads(fresh, OnboardingStatus.PENDING, "continue")


def test_submitted_and_verifying_is_pending_with_nothing_to_do():
    verifying = account(details_submitted=True, pending_verification=["individual.id_number"])
    assert_reads(verifying, OnboardingStatus.PENDING, "Nothing to do")


def test_charges_and_payouts_enabled_is_complete():
    done = account(details_submitted=True, charges_enabled=True, payouts_enabled=True)
    assert derive_onboarding_status(done) == OnboardingStatus.COMPLETE


def test_charges_without_payouts_is_still_pending():
    half = account(details_submitted=True, charges_enabled=True, payouts_enabled=False)
    assert derive_onboarding_status(half) == OnboardingStatus.PENDING


def test_a_new_account_stripe_marks_past_due_is_pending_not_restricted():
    new = account(
        currently_due=["tos_acceptance.date"],
        past_due=["tos_acceptance.date"],
        disabled_reason="requirements.past_due",
    )
    assert_reads(new, OnboardingStatus.PENDING, "continue")


def test_verification_in_progress_is_pending():
    checking = account(details_submitted=True, disabled_reason="requirements.pending_verification")
    assert_reads(checking, OnboardingStatus.PENDING, "verifying")


def test_past_due_is_restricted_even_while_enabled():
    late = account(
        details_submitted=True,
        charges_enabled=True,
        payouts_enabled=True,
        past_due=["external_account"],
    )
    assert_reads(late, OnboardingStatus.RESTRICTED, "overdue")


@pytest.mark.parametrize(
    "reason", sorted(set(DISABLED_REASONS) - {"requirements.pending_verification"})
)
def test_every_disabled_reason_restricts_with_its_own_explanation(reason):
    disabled = account(details_submitted=True, disabled_reason=reason)
    assert derive_onboarding_status(disabled) == OnboardingStatus.RESTRICTED
    assert explain(disabled) == DISABLED_REASONS[reason]


def test_rejections_say_rejected():
    rejected = account(disabled_reason="rejected.fraud")
    assert_reads(rejected, OnboardingStatus.RESTRICTED, "rejected")


def test_an_unknown_disabled_reason_is_still_explained():
    odd = account(details_submitted=True, disabled_reason="something.new")
    assert_reads(odd, OnboardingStatus.RESTRICTED, "something.new")


def test_requirements_read_as_things_a_seller_knows_each_once():
    from billing.status import requirement_labels

    keys = [
        "individual.dob.day",
        "individual.dob.month",
        "individual.dob.year",
        "external_account",
        "tos_acceptance.date",
        "tos_acceptance.ip",
        "business_profile.mcc",
        "person_abc.email",
        "some.new_field",
    ]
    assert requirement_labels(keys) == [
        "Date of birth",
        "Bank account for payouts",
        "Accept Stripe’s terms of service",
        "Business category",
        "Details of a person on the account",
        "Some › new field",
    ]


# Stored once, read everywhere


def test_the_status_is_stored_when_stripes_account_is_applied_and_on_every_save(cast):
    billing_account = BillingAccount.objects.open_for(cast.parent)
    connect = ConnectAccount(billing_account=billing_account, stripe_id="acct_x", country="US")
    connect.apply_stripe_account({"details_submitted": True, "charges_enabled": True})
    assert connect.onboarding_status == OnboardingStatus.PENDING
    connect.apply_stripe_account(
        {"details_submitted": True, "charges_enabled": True, "payouts_enabled": True}
    )
    connect.save()
    assert ConnectAccount.objects.filter(onboarding_status="complete").get() == connect
    connect.past_due = ["external_account"]
    connect.save(update_fields=["past_due"])
    connect.refresh_from_db()
    assert connect.onboarding_status == OnboardingStatus.RESTRICTED


def test_the_migration_fills_in_the_status_of_existing_accounts(cast):
    from django.apps import apps

    backfill = import_module("billing.migrations.0013_stored_onboarding_status").backfill
    for customer, fields in (
        (
            cast.parent,
            {"details_submitted": True, "charges_enabled": True, "payouts_enabled": True},
        ),
        (cast.standalone, {"details_submitted": True, "disabled_reason": "rejected.fraud"}),
        (cast.child, {}),
    ):
        ConnectAccount.objects.create(
            billing_account=BillingAccount.objects.open_for(customer),
            stripe_id=f"acct_{customer.pk}",
            country="US",
            **fields,
        )
    ConnectAccount.objects.update(onboarding_status="none")  # as the new column starts out
    backfill(apps, None)
    stored = dict(
        ConnectAccount.objects.values_list("billing_account__customer__name", "onboarding_status")
    )
    assert stored == {
        "Northwind Media": "complete",
        "Globex Publishing": "restricted",
        "Northwind Sports": "pending",
    }


def test_the_admin_fee_schedule_page_names_the_status(admin_client, cast):
    billing_account = BillingAccount.objects.open_for(cast.parent)
    ConnectAccount.objects.create(
        billing_account=billing_account,
        stripe_id="acct_x",
        country="US",
        details_submitted=True,
        disabled_reason="rejected.fraud",
    )
    page = admin_client.get(f"/admin/billing/billingaccount/{billing_account.pk}/change/")
    assert "acct_x</a> · Restricted" in page.content.decode()
