"""Balances, balance transactions, charges and application fees, payouts, the clock."""

from __future__ import annotations

from collections import defaultdict

import pytest
import stripe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.stripe_emulator.helpers import SELLER_PAYS, balance_in, onboarded_account, paid_invoice

DAY = 86400


def test_paying_an_invoice_books_charge_fees_and_application_fee(stripe_client, stripe_emulator):
    """``fees.payer=application``: the seller's transaction carries only the application fee;
    Stripe's processing fee (2.9 % + 30) is debited from the platform's balance."""
    account = onboarded_account(stripe_client, stripe_emulator)
    assert account.controller.fees.payer == "application"
    opts = {"stripe_account": account.id}
    invoice = paid_invoice(stripe_client, account.id, amount=10_000, fee=1_250)
    assert invoice.status == "paid"
    [txn] = stripe_client.v1.balance_transactions.list(None, opts).data
    assert txn.type == "charge" and txn.amount == 10_000
    assert [(f.type, f.amount) for f in txn.fee_details] == [("application_fee", 1_250)]
    assert txn.fee == 1_250 and txn.net == 8_750
    assert txn.status == "pending"
    assert txn.available_on == txn.created + 2 * DAY
    assert balance_in(stripe_client, account.id) == (0, 8_750)
    [fee] = stripe_client.v1.application_fees.list().data
    assert fee.account == account.id and fee.amount == 1_250
    platform_txn = stripe_client.v1.balance_transactions.retrieve(fee.balance_transaction)
    assert platform_txn.type == "application_fee" and platform_txn.net == 1_250
    assert platform_txn.reporting_category == "platform_earning"
    [stripe_fee] = stripe_client.v1.balance_transactions.list({"type": "stripe_fee"}).data
    assert stripe_fee.amount == -320 and stripe_fee.fee == 0 and stripe_fee.net == -320
    assert stripe_fee.reporting_category == "fee" and stripe_fee.source is None
    assert stripe_fee.status == "available"
    assert balance_in(stripe_client) == (-320, 1_250)
    charge = stripe_client.v1.charges.retrieve(txn.source, options=opts)
    assert charge.application_fee == fee.id and charge.paid is True


def test_a_seller_who_pays_stripe_fees_sees_both_fees(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator, controller=SELLER_PAYS)
    assert account.controller.fees.payer == "account"
    opts = {"stripe_account": account.id}
    paid_invoice(stripe_client, account.id, amount=10_000, fee=1_250)
    [txn] = stripe_client.v1.balance_transactions.list(None, opts).data
    fees = {f.type: f.amount for f in txn.fee_details}
    assert fees == {"stripe_fee": 320, "application_fee": 1_250}  # 2.9 % + 30¢
    assert txn.fee == 1_570 and txn.net == 8_430
    assert balance_in(stripe_client, account.id) == (0, 8_430)
    assert stripe_client.v1.balance_transactions.list({"type": "stripe_fee"}).data == []
    assert balance_in(stripe_client) == (0, 1_250)


def test_processing_fee_rounds_half_up_in_integers(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator, controller=SELLER_PAYS)
    paid_invoice(stripe_client, account.id, amount=1_050, fee=0)  # 2.9 % of 1050 = 30.45
    [txn] = stripe_client.v1.balance_transactions.list(None, {"stripe_account": account.id}).data
    assert txn.fee == 60 and [f.type for f in txn.fee_details] == ["stripe_fee"]


def test_funds_become_available_then_pay_out_daily(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    opts = {"stripe_account": account.id}
    paid_invoice(stripe_client, account.id)
    stripe_emulator.advance(days=2, seconds=1)
    available, pending = balance_in(stripe_client, account.id)
    assert pending == 0
    stripe_emulator.advance(days=1)
    [payout] = stripe_client.v1.payouts.list(None, opts).data
    assert payout.automatic is True and payout.amount == 8_750
    assert payout.destination.startswith("ba_")
    assert payout.status in ("pending", "in_transit")
    assert balance_in(stripe_client, account.id) == (0, 0)
    stripe_emulator.advance(days=2)
    payout = stripe_client.v1.payouts.retrieve(payout.id, options=opts)
    assert payout.status == "paid"
    assert payout.reconciliation_status == "completed"
    txns = stripe_client.v1.balance_transactions.list({"payout": payout.id}, opts).data
    assert sorted(t.type for t in txns) == ["charge", "payout"]
    assert sum(t.net for t in txns if t.type != "payout") == payout.amount
    types = [e.type for e in stripe_client.v1.events.list({"limit": 100}, opts).auto_paging_iter()]
    for expected in (
        "payout.created",
        "payout.updated",
        "payout.paid",
        "payout.reconciliation_completed",
        "balance.available",
    ):
        assert expected in types


def test_payout_failure_returns_funds(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    opts = {"stripe_account": account.id}
    stripe_emulator.control("POST", f"accounts/{account.id}/payouts", fail_next="account_closed")
    paid_invoice(stripe_client, account.id)
    stripe_emulator.advance(days=5)
    payouts = stripe_client.v1.payouts.list(None, opts).data
    failed = [p for p in payouts if p.status == "failed"]
    assert failed and failed[-1].failure_code == "account_closed"
    assert failed[-1].failure_balance_transaction is not None
    failure_txns = stripe_client.v1.balance_transactions.list({"type": "payout_failure"}, opts)
    assert failure_txns.data[0].amount == failed[-1].amount


def test_fail_a_paid_payout_via_control(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    opts = {"stripe_account": account.id}
    paid_invoice(stripe_client, account.id)
    stripe_emulator.advance(days=5)
    [payout] = stripe_client.v1.payouts.list({"status": "paid"}, opts).data
    stripe_emulator.control("POST", f"payouts/{payout.id}/fail", failure_code="no_account")
    payout = stripe_client.v1.payouts.retrieve(payout.id, options=opts)
    assert payout.status == "failed" and payout.failure_code == "no_account"
    assert balance_in(stripe_client, account.id)[0] == payout.amount


def test_balance_transaction_filters(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    opts = {"stripe_account": account.id}
    first = paid_invoice(stripe_client, account.id, amount=1_000, fee=100)
    stripe_emulator.advance(days=1)
    paid_invoice(stripe_client, account.id, amount=2_000, fee=200)
    txns = stripe_client.v1.balance_transactions.list(None, opts).data
    assert len(txns) == 2
    newest, oldest = txns
    by_created = stripe_client.v1.balance_transactions.list(
        {"created": {"gt": oldest.created}}, opts
    ).data
    assert [t.id for t in by_created] == [newest.id]
    assert stripe_client.v1.balance_transactions.list({"type": "payout"}, opts).data == []
    assert len(stripe_client.v1.balance_transactions.list({"currency": "usd"}, opts).data) == 2
    assert stripe_client.v1.balance_transactions.list({"currency": "eur"}, opts).data == []
    by_source = stripe_client.v1.balance_transactions.list({"source": oldest.source}, opts).data
    assert [t.id for t in by_source] == [oldest.id]
    del first


def test_manual_payouts_need_a_manual_schedule_and_funds(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    opts = {"stripe_account": account.id}
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.payouts.create({"amount": 100, "currency": "usd"}, opts)
    stripe_client.v1.accounts.update(
        account.id, {"settings": {"payouts": {"schedule": {"interval": "manual"}}}}
    )
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.payouts.create({"amount": 100, "currency": "usd"}, opts)
    assert info.value.code == "balance_insufficient"
    paid_invoice(stripe_client, account.id)
    stripe_emulator.advance(days=3)
    assert stripe_client.v1.payouts.list(None, opts).data == []  # no automatic payouts
    payout = stripe_client.v1.payouts.create({"amount": 5_000, "currency": "usd"}, opts)
    assert payout.automatic is False and payout.reconciliation_status == "not_applicable"
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.balance_transactions.list({"payout": payout.id}, opts)
    cancelled = stripe_client.v1.payouts.cancel(payout.id, None, opts)
    assert cancelled.status == "canceled"


def test_buyer_payment_control_creates_a_direct_charge(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    charge = stripe_emulator.control(
        "POST", "charges", account=account.id, amount=5_000, application_fee_amount=500
    )
    assert charge["id"].startswith("ch_")
    # The platform pays Stripe's 175 (2.9 % + 30) for this Express account.
    assert balance_in(stripe_client, account.id) == (0, 5_000 - 500)
    assert balance_in(stripe_client) == (-175, 500)


def _assert_invariant(client, accounts):
    """available + pending == Σ net of the account's balance transactions, per currency."""
    for account_id in accounts:
        opts = {"stripe_account": account_id} if account_id else None
        sums: dict[str, int] = defaultdict(int)
        for txn in client.v1.balance_transactions.list({"limit": 100}, opts).auto_paging_iter():
            sums[txn.currency] += txn.net
            assert txn.net == txn.amount - txn.fee
        balance = client.v1.balance.retrieve(options=opts)
        totals: dict[str, int] = defaultdict(int)
        for entry in [*balance.available, *balance.pending]:
            totals[entry.currency] += entry.amount
        for currency in set(sums) | set(totals):
            assert totals[currency] == sums[currency], (account_id, currency)


OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("pay"), st.integers(0, 1), st.integers(50, 100_000), st.integers(0, 30)),
        st.tuples(st.just("advance"), st.just(0), st.integers(1, 72)),
        st.tuples(st.just("fail_next"), st.integers(0, 1)),
        st.tuples(st.just("restrict"), st.integers(0, 1)),
        st.tuples(st.just("complete"), st.integers(0, 1)),
    ),
    min_size=5,
    max_size=25,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(operations=OPERATIONS)
def test_balance_invariant_holds_after_random_operations(
    stripe_client, stripe_emulator, operations
):
    stripe_emulator.reset()
    accounts = [onboarded_account(stripe_client, stripe_emulator).id for _ in range(2)]
    for op in operations:
        kind, which = op[0], accounts[op[1]]
        if kind == "pay":
            account = stripe_client.v1.accounts.retrieve(which)
            if account.charges_enabled:
                amount, fee_percent = op[2], op[3]
                fee = amount * fee_percent // 100
                stripe_emulator.control(
                    "POST", "charges", account=which, amount=amount, application_fee_amount=fee
                )
        elif kind == "advance":
            stripe_emulator.advance(hours=op[2])
        elif kind == "fail_next":
            stripe_emulator.control("POST", f"accounts/{which}/payouts", fail_next="no_account")
        else:
            stripe_emulator.complete_onboarding(which, kind)
        _assert_invariant(stripe_client, [*accounts, None])
