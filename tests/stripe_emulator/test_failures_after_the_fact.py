"""Money that goes wrong after the fact: a refund the card network returns, and a buyer's card
declined on an invoice. Through the real SDK, as the product would see them."""

from __future__ import annotations

import pytest

from tests.stripe_emulator.helpers import (
    balance_totals,
    onboarded_account,
    open_invoice,
    paid_invoice,
)


def _event_types(client, account_id) -> list[str]:
    events = client.v1.events.list({"limit": 100}, {"stripe_account": account_id})
    return [event.type for event in events.auto_paging_iter()]


def test_a_failed_refund_gives_the_money_back_and_reopens_the_charge(
    stripe_client, stripe_emulator
):
    account = onboarded_account(stripe_client, stripe_emulator)
    opts = {"stripe_account": account.id}
    paid_invoice(stripe_client, account.id, amount=10_000, fee=1_250)
    [charge] = stripe_client.v1.charges.list(None, opts).data
    refund = stripe_client.v1.refunds.create({"charge": charge.id, "amount": 4_000}, opts)
    assert balance_totals(stripe_client, account.id) == {"usd": (-4_000, 8_750)}

    failed = stripe_emulator.control(
        "POST", f"refunds/{refund.id}/fail", failure_reason="lost_or_stolen_card"
    )

    assert (failed["status"], failed["failure_reason"]) == ("failed", "lost_or_stolen_card")
    refund = stripe_client.v1.refunds.retrieve(refund.id, options=opts)
    txn = stripe_client.v1.balance_transactions.retrieve(
        refund.failure_balance_transaction, options=opts
    )
    assert (txn.type, txn.amount, txn.net, txn.reporting_category) == (
        "refund_failure",
        4_000,
        4_000,
        "refund_failure",
    )
    assert txn.source == refund.id
    charge = stripe_client.v1.charges.retrieve(charge.id, options=opts)
    assert (charge.amount_refunded, charge.refunded) == (0, False)
    assert charge.refunds.data[0].status == "failed"
    assert balance_totals(stripe_client, account.id) == {"usd": (0, 8_750)}
    types = _event_types(stripe_client, account.id)
    assert {"refund.failed", "refund.updated", "charge.refund.updated"} <= set(types)


def test_only_a_succeeded_refund_can_fail(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    opts = {"stripe_account": account.id}
    paid_invoice(stripe_client, account.id)
    [charge] = stripe_client.v1.charges.list(None, opts).data
    refund = stripe_client.v1.refunds.create({"charge": charge.id}, opts)
    stripe_emulator.control("POST", f"refunds/{refund.id}/fail")
    with pytest.raises(AssertionError, match="only a succeeded one can fail"):
        stripe_emulator.control("POST", f"refunds/{refund.id}/fail")


def test_a_declined_card_leaves_the_invoice_open_with_a_failed_attempt(
    stripe_client, stripe_emulator
):
    account = onboarded_account(stripe_client, stripe_emulator)
    opts = {"stripe_account": account.id}
    invoice = open_invoice(stripe_client, account.id, fee=1_000)

    stripe_emulator.control("POST", f"invoices/{invoice.id}/pay", decline_code="insufficient_funds")

    invoice = stripe_client.v1.invoices.retrieve(invoice.id, {"expand": ["payments"]}, opts)
    assert (invoice.status, invoice.attempted, invoice.attempt_count) == ("open", True, 1)
    assert invoice.amount_remaining == 10_000
    [attempt] = invoice.payments.data
    assert attempt.status == "open" and attempt.payment.type == "charge"
    charge = stripe_client.v1.charges.retrieve(attempt.payment.charge, options=opts)
    assert (charge.status, charge.paid, charge.balance_transaction) == ("failed", False, None)
    assert charge.failure_code == "card_declined"
    assert charge.failure_message == "Your card has insufficient funds."
    assert charge.outcome.reason == "insufficient_funds"
    assert balance_totals(stripe_client, account.id) == {}
    types = _event_types(stripe_client, account.id)
    assert {"charge.failed", "invoice.payment_failed", "invoice.updated"} <= set(types)

    # The buyer pays with another card: the declined attempt is canceled, the invoice paid.
    stripe_emulator.control("POST", f"invoices/{invoice.id}/pay")
    invoice = stripe_client.v1.invoices.retrieve(invoice.id, {"expand": ["payments"]}, opts)
    assert invoice.status == "paid"
    assert [p.status for p in invoice.payments.data] == ["canceled", "paid"]


def test_an_unknown_decline_code_is_refused(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    invoice = open_invoice(stripe_client, account.id, fee=1_000)
    with pytest.raises(AssertionError, match="decline_code"):
        stripe_emulator.control("POST", f"invoices/{invoice.id}/pay", decline_code="bogus")
