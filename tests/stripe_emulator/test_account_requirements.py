"""Account state the way Stripe reports it: charges and payouts enabled separately,
requirements (currently / eventually / past due, pending verification, errors, deadlines,
disabled reasons), future requirements, and the events each change emits."""

from __future__ import annotations

import pytest
import stripe

from tests.stripe_emulator.helpers import onboarded_account

DAY = 86400


def _events(client, account_id, event_type):
    return client.v1.events.list(
        {"type": event_type, "limit": 100}, {"stripe_account": account_id}
    ).data


def _onboarding(emulator, account_id, action, **extra):
    return emulator.control("POST", f"accounts/{account_id}/onboarding", action=action, **extra)


def test_payouts_can_be_disabled_while_charges_stay_enabled(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    _onboarding(stripe_emulator, account.id, "disable_payouts", fields=["individual.id_number"])
    account = stripe_client.v1.accounts.retrieve(account.id)
    assert account.charges_enabled is True and account.payouts_enabled is False
    assert account.requirements.currently_due == ["individual.id_number"]
    assert account.requirements.eventually_due == ["individual.id_number"]
    assert account.requirements.disabled_reason is None
    assert account.capabilities.to_dict() == {"card_payments": "active", "transfers": "active"}
    [updated] = _events(stripe_client, account.id, "account.updated")[:1]
    assert updated.data.previous_attributes.to_dict() == {
        "payouts_enabled": True,
        "requirements": {"currently_due": [], "eventually_due": []},
    }
    # Charges still work; nothing is paid out.
    stripe_emulator.control("POST", "charges", account=account.id, amount=5_000)
    stripe_emulator.advance(days=4)
    assert stripe_client.v1.payouts.list(None, {"stripe_account": account.id}).data == []
    _onboarding(stripe_emulator, account.id, "complete")
    account = stripe_client.v1.accounts.retrieve(account.id)
    assert account.payouts_enabled is True and account.requirements.currently_due == []


def test_eventually_due_can_differ_from_currently_due(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    _onboarding(stripe_emulator, account.id, "eventually_due", fields=["company.tax_id"])
    account = stripe_client.v1.accounts.retrieve(account.id)
    assert account.requirements.currently_due == []
    assert account.requirements.eventually_due == ["company.tax_id"]
    assert account.charges_enabled is True and account.payouts_enabled is True
    previous = _events(stripe_client, account.id, "account.updated")[0].data.previous_attributes
    assert previous.to_dict() == {"requirements": {"eventually_due": []}}
    # Whatever becomes due now is due eventually too (a superset).
    _onboarding(
        stripe_emulator,
        account.id,
        "restrict",
        fields=["individual.id_number"],
        deadline_seconds=7 * DAY,
    )
    reqs = stripe_client.v1.accounts.retrieve(account.id).requirements
    assert set(reqs.currently_due) <= set(reqs.eventually_due)


def test_future_requirements_announce_then_replace_requirements_at_their_deadline(
    stripe_client, stripe_emulator
):
    account = onboarded_account(stripe_client, stripe_emulator)
    _onboarding(
        stripe_emulator,
        account.id,
        "future_requirements",
        fields=["individual.verification.additional_document"],
        deadline_seconds=10 * DAY,
    )
    account = stripe_client.v1.accounts.retrieve(account.id)
    future = account.future_requirements
    assert future.currently_due == ["individual.verification.additional_document"]
    assert future.current_deadline == pytest.approx(stripe_emulator.now() + 10 * DAY, abs=5)
    assert account.requirements.currently_due == [] and account.charges_enabled is True
    capability = stripe_client.v1.accounts.capabilities.retrieve(account.id, "card_payments")
    assert capability.future_requirements.currently_due == future.currently_due

    stripe_emulator.advance(days=11)
    account = stripe_client.v1.accounts.retrieve(account.id)
    assert account.requirements.past_due == ["individual.verification.additional_document"]
    assert account.requirements.disabled_reason == "requirements.past_due"
    assert account.charges_enabled is False and account.payouts_enabled is False
    assert account.future_requirements.currently_due == []
    assert account.future_requirements.current_deadline is None
    previous = _events(stripe_client, account.id, "account.updated")[0].data.previous_attributes
    assert previous["charges_enabled"] is True
    assert previous["requirements"]["disabled_reason"] is None
    assert previous["future_requirements"]["current_deadline"] == future.current_deadline
    statuses = {
        e.data.object.id: e.data.object.status
        for e in _events(stripe_client, account.id, "capability.updated")[:2]
    }
    assert statuses == {"card_payments": "inactive", "transfers": "inactive"}


@pytest.mark.parametrize("code", ["verification_document_expired", "verification_failed_other"])
def test_a_failed_verification_shows_in_errors_and_disables_at_the_deadline(
    stripe_client, stripe_emulator, code
):
    account = onboarded_account(stripe_client, stripe_emulator)
    _onboarding(
        stripe_emulator, account.id, "verification_error", code=code, deadline_seconds=3 * DAY
    )
    account = stripe_client.v1.accounts.retrieve(account.id)
    [error] = account.requirements.errors
    assert (error.code, error.requirement) == (code, "individual.verification.document")
    assert error.reason
    assert account.requirements.currently_due == ["individual.verification.document"]
    assert account.requirements.current_deadline is not None
    assert account.charges_enabled is True  # restricted soon, not yet
    stripe_emulator.advance(days=3, seconds=1)
    account = stripe_client.v1.accounts.retrieve(account.id)
    assert account.requirements.past_due == ["individual.verification.document"]
    assert account.requirements.disabled_reason == "requirements.past_due"
    assert account.requirements.current_deadline is None
    assert [e.code for e in account.requirements.errors] == [code]  # still to fix
    assert account.charges_enabled is False and account.payouts_enabled is False
    previous = _events(stripe_client, account.id, "account.updated")[0].data.previous_attributes
    assert previous["requirements"]["past_due"] == []
    assert "errors" not in previous["requirements"]


def test_a_failed_verification_without_deadline_disables_now(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    _onboarding(
        stripe_emulator,
        account.id,
        "verification_error",
        code="verification_document_expired",
        fields=["individual.verification.document"],
    )
    account = stripe_client.v1.accounts.retrieve(account.id)
    assert account.requirements.past_due == ["individual.verification.document"]
    assert account.charges_enabled is False
    assert "capability.updated" in [
        e.type for e in stripe_client.v1.events.list(None, {"stripe_account": account.id}).data
    ]


def test_unknown_error_codes_and_reject_reasons_are_refused(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    with pytest.raises(AssertionError):
        _onboarding(stripe_emulator, account.id, "verification_error", code="made_up")
    with pytest.raises(AssertionError):
        _onboarding(stripe_emulator, account.id, "reject", reason="made_up")
    _onboarding(stripe_emulator, account.id, "reject", reason="terms_of_service")
    reqs = stripe_client.v1.accounts.retrieve(account.id).requirements
    assert reqs.disabled_reason == "rejected.terms_of_service"


def test_pending_verification_then_complete(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    _onboarding(stripe_emulator, account.id, "pending_verification")
    account = stripe_client.v1.accounts.retrieve(account.id)
    assert account.requirements.pending_verification == ["individual.verification.document"]
    assert account.requirements.disabled_reason == "requirements.pending_verification"
    assert account.capabilities.card_payments == "pending"
    _onboarding(stripe_emulator, account.id, "complete")
    account = stripe_client.v1.accounts.retrieve(account.id)
    assert account.requirements.pending_verification == []
    assert account.charges_enabled and account.payouts_enabled
    [cap] = [
        e
        for e in _events(stripe_client, account.id, "capability.updated")
        if e.data.object.id == "card_payments"
    ][:1]
    assert cap.data.previous_attributes["status"] == "pending"
    assert isinstance(cap.data.object, stripe.Capability)


def test_an_account_under_review_is_disabled_until_cleared(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    _onboarding(stripe_emulator, account.id, "disable", reason="under_review")
    account = stripe_client.v1.accounts.retrieve(account.id)
    assert account.requirements.disabled_reason == "under_review"
    assert account.requirements.currently_due == []
    assert account.charges_enabled is False and account.payouts_enabled is False
    assert account.capabilities.card_payments == "inactive"
    _onboarding(stripe_emulator, account.id, "complete")
    assert stripe_client.v1.accounts.retrieve(account.id).charges_enabled is True
