"""Disputes on direct charges: the chargeback withdraws funds (and the dispute fee) from the
connected account, evidence is staged and submitted, the bank decides, an unanswered dispute
is lost at its deadline, and balances stay the sum of their balance transactions.
"""

from __future__ import annotations

from collections import defaultdict

import pytest
import requests
import stripe

from tests.stripe_emulator.helpers import CAPS, balance_in, onboarded_account, paid_invoice
from tests.stripe_emulator.test_object_fields import missing_fields

DAY = 86400


def _charge_id(client, account_id):
    [charge] = client.v1.charges.list(None, {"stripe_account": account_id}).data
    return charge.id


def _dispute(emulator, charge_id, **extra):
    return emulator.control("POST", f"charges/{charge_id}/dispute", **extra)


def _control_status(emulator, path, **payload):
    response = requests.post(f"{emulator.base_url}/_emulator/{path}", json=payload, timeout=10)
    return response.status_code, response.json()


def _events(client, account_id, prefix="charge.dispute."):
    opts = {"stripe_account": account_id}
    events = client.v1.events.list({"limit": 100}, opts).auto_paging_iter()
    return [e for e in reversed(list(events)) if e.type.startswith(prefix)]


def _assert_ledger_matchesbalance_in(client, account_id=None):
    """Per currency, the balance is the sum of balance transaction nets by status."""
    opts = {"stripe_account": account_id} if account_id else None
    sums: dict[tuple[str, str], int] = defaultdict(int)
    txns = client.v1.balance_transactions.list({"limit": 100}, opts).auto_paging_iter()
    for txn in txns:
        sums[(txn.currency, txn.status)] += txn.net
    balance = client.v1.balance.retrieve(options=opts)
    for status in ("available", "pending"):
        for entry in getattr(balance, status):
            assert entry.amount == sums[(entry.currency, status)], (status, entry.currency)
    currencies = {c for c, _ in sums}
    assert currencies <= {b.currency for b in balance.available}


def test_chargeback_withdraws_the_amount_and_bills_the_platform_the_fee(
    stripe_client, stripe_emulator
):
    account = onboarded_account(stripe_client, stripe_emulator)  # fees + losses: application
    opts = {"stripe_account": account.id}
    paid_invoice(stripe_client, account.id, amount=10_000, fee=1_250)
    charge_id = _charge_id(stripe_client, account.id)
    now = stripe_emulator.now()
    _, pending_before = balance_in(stripe_client, account.id)

    created = _dispute(stripe_emulator, charge_id, reason="fraudulent")

    dispute = stripe_client.v1.disputes.retrieve(created["id"], None, opts)
    assert isinstance(dispute, stripe.Dispute) and dispute.id.startswith("du_")
    # Stripe's own example leaves the enhanced-evidence hashes empty (filled when eligible).
    missing = missing_fields(stripe.Dispute, dispute.to_dict())
    assert [m for m in missing if ".enhanced_e" not in m] == []
    assert (dispute.status, dispute.reason, dispute.amount) == (
        "needs_response",
        "fraudulent",
        10_000,
    )
    assert dispute.charge == charge_id and dispute.is_charge_refundable is False
    assert dispute.payment_method_details.card.case_type == "chargeback"
    due_by = dispute.evidence_details.due_by
    assert now + 7 * DAY <= due_by < now + 8 * DAY and due_by % DAY == DAY - 1
    assert dispute.evidence_details.submission_count == 0
    [withdrawal] = dispute.balance_transactions
    assert (withdrawal.type, withdrawal.reporting_category) == ("adjustment", "dispute")
    assert withdrawal.amount == -10_000 and withdrawal.source == dispute.id
    # The platform carries losses and fees: the seller loses the amount, not the fee.
    assert withdrawal.fee == 0 and withdrawal.fee_details == [] and withdrawal.net == -10_000
    assert withdrawal.description == f"Chargeback withdrawal for {charge_id}"
    assert stripe_client.v1.balance_transactions.retrieve(withdrawal.id, None, opts).net == -10_000
    assert balance_in(stripe_client, account.id) == (-10_000, pending_before)
    # The platform's own Stripe fees: the payment's processing fee, then the dispute fee.
    platform_fees = stripe_client.v1.balance_transactions.list({"type": "stripe_fee"}).data
    [billed] = [t for t in platform_fees if dispute.id in (t.description or "")]
    assert (billed.amount, billed.net, billed.reporting_category) == (-1_500, -1_500, "fee")
    assert dispute.id in billed.description and account.id in billed.description

    charge = stripe_client.v1.charges.retrieve(charge_id, None, opts)
    assert charge.disputed is True and charge.refunded is False

    events = _events(stripe_client, account.id)
    assert [e.type for e in events] == ["charge.dispute.created", "charge.dispute.funds_withdrawn"]
    for event in events:
        assert event.account == account.id
        assert event.data.object.id == dispute.id and event.data.object.object == "dispute"
    assert events[1].data.object.balance_transactions[0].id == withdrawal.id


def test_a_seller_who_pays_stripe_fees_pays_the_dispute_fee(stripe_client, stripe_emulator):
    account = stripe_client.v1.accounts.create(
        {
            "country": "US",
            "email": "standard@example.com",
            "controller": {"stripe_dashboard": {"type": "full"}},
            "capabilities": CAPS,
        }
    )
    assert account.controller.fees.payer == "account"
    stripe_emulator.complete_onboarding(account.id)
    charge = stripe_emulator.control("POST", "charges", account=account.id, amount=5_000)

    dispute = _dispute(stripe_emulator, charge["id"], reason="product_not_received", amount=2_000)

    [withdrawal] = dispute["balance_transactions"]
    assert withdrawal["amount"] == -2_000 and withdrawal["fee"] == 1_500
    assert withdrawal["net"] == -3_500
    assert withdrawal["fee_details"] == [
        {
            "amount": 1_500,
            "application": None,
            "currency": "usd",
            "description": "Dispute fee",
            "type": "stripe_fee",
        }
    ]
    assert stripe_client.v1.balance_transactions.list({"type": "stripe_fee"}).data == []
    assert dispute["network_reason_code"] == "13.1"
    _assert_ledger_matchesbalance_in(stripe_client, account.id)


def test_submitted_evidence_then_won_reinstates_the_amount_but_not_the_fee(
    stripe_client, stripe_emulator
):
    account = onboarded_account(stripe_client, stripe_emulator)
    opts = {"stripe_account": account.id}
    paid_invoice(stripe_client, account.id, amount=4_000, fee=400)
    dispute_id = _dispute(stripe_emulator, _charge_id(stripe_client, account.id))["id"]
    available_after_withdrawal, _ = balance_in(stripe_client, account.id)

    submitted = stripe_client.v1.disputes.update(
        dispute_id,
        {
            "evidence": {"product_description": "Hand-thrown mug", "customer_name": "Ada"},
            "metadata": {"case": "42"},
        },
        opts,
    )
    assert submitted.status == "under_review"
    assert submitted.evidence.product_description == "Hand-thrown mug"
    details = submitted.evidence_details
    assert (details.has_evidence, details.submission_count) == (True, 1)
    assert details.submission_method == "manual" and details.past_due is False
    [updated] = _events(stripe_client, account.id, "charge.dispute.updated")
    assert updated.data.previous_attributes["status"] == "needs_response"
    with pytest.raises(stripe.InvalidRequestError, match="already been submitted"):
        stripe_client.v1.disputes.update(dispute_id, {"evidence": {"customer_name": "B"}}, opts)
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.disputes.close(dispute_id, None, opts)

    won = stripe_emulator.control("POST", f"disputes/{dispute_id}/close", outcome="won")

    assert won["status"] == "won"
    withdrawal, reinstated = won["balance_transactions"]
    assert (reinstated["type"], reinstated["reporting_category"]) == (
        "adjustment",
        "dispute_reversal",
    )
    assert reinstated["amount"] == 4_000 and reinstated["fee"] == 0
    assert reinstated["net"] == -withdrawal["net"] and reinstated["source"] == dispute_id
    assert balance_in(stripe_client, account.id)[0] == available_after_withdrawal + 4_000
    types = [e.type for e in _events(stripe_client, account.id)]
    assert types[-2:] == ["charge.dispute.closed", "charge.dispute.funds_reinstated"]
    with pytest.raises(stripe.InvalidRequestError, match="already closed"):
        stripe_client.v1.disputes.update(dispute_id, {"evidence": {"customer_name": "B"}}, opts)
    # Metadata stays editable on a closed dispute; evidence does not.
    relabelled = stripe_client.v1.disputes.update(dispute_id, {"metadata": {"case": "43"}}, opts)
    assert relabelled.metadata["case"] == "43" and relabelled.status == "won"
    status, body = _control_status(stripe_emulator, f"disputes/{dispute_id}/close", outcome="lost")
    assert status == 400 and "already closed" in body["error"]["message"]
    _assert_ledger_matchesbalance_in(stripe_client, account.id)


def test_staged_evidence_is_not_submitted_and_metadata_alone_submits_nothing(
    stripe_client, stripe_emulator
):
    account = onboarded_account(stripe_client, stripe_emulator)
    opts = {"stripe_account": account.id}
    paid_invoice(stripe_client, account.id)
    dispute_id = _dispute(stripe_emulator, _charge_id(stripe_client, account.id))["id"]

    staged = stripe_client.v1.disputes.update(
        dispute_id, {"evidence": {"uncategorized_text": "draft"}, "submit": False}, opts
    )
    assert staged.status == "needs_response"
    assert staged.evidence_details.has_evidence is True
    assert staged.evidence_details.submission_count == 0
    labelled = stripe_client.v1.disputes.update(dispute_id, {"metadata": {"k": "v"}}, opts)
    assert labelled.status == "needs_response" and labelled.metadata["k"] == "v"
    # Evidence fields cannot be unset (the SDK's types allow no empty string there).
    with pytest.raises(stripe.InvalidRequestError) as unset:
        stripe_client.v1.disputes.update(
            dispute_id, {"evidence": {"uncategorized_text": ""}, "submit": False}, opts
        )
    assert unset.value.code == "parameter_invalid_empty"
    with pytest.raises(stripe.InvalidRequestError, match=r"unknown parameter: evidence\[mood\]"):
        stripe_client.v1.disputes.update(dispute_id, {"evidence": {"mood": "x"}}, opts)  # type: ignore[typeddict-unknown-key]
    assert len(_events(stripe_client, account.id, "charge.dispute.updated")) == 2


def test_a_charged_back_charge_cannot_also_be_refunded(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    opts = {"stripe_account": account.id}
    paid_invoice(stripe_client, account.id, amount=10_000, fee=1_000)
    charge_id = _charge_id(stripe_client, account.id)
    _dispute(stripe_emulator, charge_id)
    before = balance_in(stripe_client, account.id)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.refunds.create({"charge": charge_id}, opts)
    assert refused.value.code == "charge_disputed" and refused.value.param == "charge"
    # The disputed money left once, with the chargeback; nothing else moved.
    assert balance_in(stripe_client, account.id) == before
    assert stripe_client.v1.refunds.list({"charge": charge_id}, opts).data == []


def test_accepting_a_dispute_loses_it_for_good(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    opts = {"stripe_account": account.id}
    paid_invoice(stripe_client, account.id, amount=3_000, fee=0)
    dispute_id = _dispute(stripe_emulator, _charge_id(stripe_client, account.id))["id"]

    lost = stripe_client.v1.disputes.close(dispute_id, None, opts)

    assert lost.status == "lost" and len(lost.balance_transactions) == 1
    assert balance_in(stripe_client, account.id)[0] == -3_000
    types = [e.type for e in _events(stripe_client, account.id)]
    assert types[-1] == "charge.dispute.closed" and "charge.dispute.funds_reinstated" not in types
    with pytest.raises(stripe.InvalidRequestError, match="already closed"):
        stripe_client.v1.disputes.close(dispute_id, None, opts)
    with pytest.raises(stripe.InvalidRequestError, match="already closed"):
        stripe_client.v1.disputes.update(dispute_id, {"submit": True}, opts)


def test_a_dispute_left_unanswered_is_lost_when_due_by_passes(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    opts = {"stripe_account": account.id}
    paid_invoice(stripe_client, account.id)
    created = _dispute(stripe_emulator, _charge_id(stripe_client, account.id), response_days=10)
    dispute_id, due_by = created["id"], created["evidence_details"]["due_by"]
    assert due_by >= stripe_emulator.now() + 10 * DAY
    stripe_client.v1.disputes.update(
        dispute_id, {"evidence": {"customer_name": "Ada"}, "submit": False}, opts
    )

    stripe_emulator.control("POST", "clock/set", to=due_by)
    assert stripe_client.v1.disputes.retrieve(dispute_id, None, opts).status == "needs_response"
    stripe_emulator.advance(seconds=1)

    expired = stripe_client.v1.disputes.retrieve(dispute_id, None, opts)
    assert expired.status == "lost"  # staged evidence that was never submitted does not count
    assert len(expired.balance_transactions) == 1
    assert _events(stripe_client, account.id)[-1].type == "charge.dispute.closed"
    with pytest.raises(stripe.InvalidRequestError, match="already closed"):
        stripe_client.v1.disputes.update(dispute_id, {"evidence": {"customer_name": "B"}}, opts)


def test_an_answered_dispute_waits_for_the_bank_past_due_by(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    opts = {"stripe_account": account.id}
    paid_invoice(stripe_client, account.id)
    dispute_id = _dispute(stripe_emulator, _charge_id(stripe_client, account.id))["id"]
    stripe_client.v1.disputes.update(dispute_id, {"evidence": {"customer_name": "Ada"}}, opts)

    stripe_emulator.advance(days=30)

    assert stripe_client.v1.disputes.retrieve(dispute_id, None, opts).status == "under_review"


def test_disputes_can_take_the_balance_negative_and_the_ledger_still_adds_up(
    stripe_client, stripe_emulator
):
    account = onboarded_account(stripe_client, stripe_emulator)
    opts = {"stripe_account": account.id}
    paid_invoice(stripe_client, account.id, amount=10_000, fee=1_250)
    stripe_emulator.advance(days=3)  # available, then swept by the daily payout
    assert balance_in(stripe_client, account.id) == (0, 0)
    first = _dispute(stripe_emulator, _charge_id(stripe_client, account.id))
    paid_invoice(stripe_client, account.id, amount=2_000, fee=200)

    available, pending = balance_in(stripe_client, account.id)
    assert available == -10_000 and pending > 0
    _assert_ledger_matchesbalance_in(stripe_client, account.id)
    _assert_ledger_matchesbalance_in(stripe_client)

    stripe_emulator.advance(days=3)
    _assert_ledger_matchesbalance_in(stripe_client, account.id)
    # The new payment's pending funds cannot cover the chargeback, so the next daily run
    # debits the seller's bank account for the negative balance (a negative payout).
    payouts = stripe_client.v1.payouts.list(None, opts).data
    assert [p.amount for p in payouts if p.amount < 0] == [-10_000]
    stripe_emulator.control("POST", f"disputes/{first['id']}/close", outcome="won")
    _assert_ledger_matchesbalance_in(stripe_client, account.id)
    _assert_ledger_matchesbalance_in(stripe_client)
    assert balance_in(stripe_client, account.id)[0] > 0


def test_listing_filters_expanding_and_account_scoping(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    other = onboarded_account(stripe_client, stripe_emulator)
    opts = {"stripe_account": account.id}
    first = stripe_emulator.control("POST", "charges", account=account.id, amount=1_000)
    first_dispute = _dispute(stripe_emulator, first["id"])
    stripe_emulator.advance(seconds=10)
    second = stripe_emulator.control("POST", "charges", account=account.id, amount=2_000)
    second_dispute = _dispute(stripe_emulator, second["id"], reason="duplicate")

    listed = stripe_client.v1.disputes.list(None, opts).data
    assert [d.id for d in listed] == [second_dispute["id"], first_dispute["id"]]
    by_charge = stripe_client.v1.disputes.list({"charge": first["id"]}, opts).data
    assert [d.id for d in by_charge] == [first_dispute["id"]]
    recent = stripe_client.v1.disputes.list({"created": {"gt": first_dispute["created"]}}, opts)
    assert [d.id for d in recent.data] == [second_dispute["id"]]
    assert stripe_client.v1.disputes.list({"payment_intent": "pi_unknown"}, opts).data == []

    expanded = stripe_client.v1.disputes.retrieve(first_dispute["id"], {"expand": ["charge"]}, opts)
    assert isinstance(expanded.charge, stripe.Charge) and expanded.charge.disputed is True

    assert stripe_client.v1.disputes.list(None, {"stripe_account": other.id}).data == []
    assert stripe_client.v1.disputes.list().data == []
    with pytest.raises(stripe.InvalidRequestError, match="No such dispute"):
        stripe_client.v1.disputes.retrieve(first_dispute["id"], None, {"stripe_account": other.id})


def test_the_dispute_control_refuses_what_no_bank_could_do(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    charge = stripe_emulator.control("POST", "charges", account=account.id, amount=1_000)

    status, body = _control_status(stripe_emulator, f"charges/{charge['id']}/dispute", amount=1_001)
    assert status == 400 and body["error"]["param"] == "amount"
    status, _ = _control_status(stripe_emulator, f"charges/{charge['id']}/dispute", reason="moody")
    assert status == 400
    status, _ = _control_status(stripe_emulator, "charges/ch_missing/dispute")
    assert status == 404
    _dispute(stripe_emulator, charge["id"])
    status, body = _control_status(stripe_emulator, f"charges/{charge['id']}/dispute")
    assert status == 400 and "already been disputed" in body["error"]["message"]
    status, _ = _control_status(stripe_emulator, "disputes/du_missing/close", outcome="won")
    assert status == 404
