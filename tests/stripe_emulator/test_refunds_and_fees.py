"""Refunds, application fee refunds, application fee limits, settlement-currency conversion and
negative balances: through the real SDK, as the product would see them.
"""

from __future__ import annotations

from collections import defaultdict

import pytest
import requests
import stripe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.stripe_emulator.helpers import (
    SELLER_PAYS,
    balance_totals,
    onboarded_account,
    paid_invoice,
)
from tests.stripe_emulator.test_object_fields import missing_fields

DAY = 86400


def _charge(stripe_emulator, account_id, amount, fee=None, currency="usd") -> dict:
    payload = {"account": account_id, "amount": amount, "currency": currency}
    if fee is not None:
        payload["application_fee_amount"] = fee
    return stripe_emulator.control("POST", "charges", **payload)


def _event_types(client, account_id=None) -> list[str]:
    opts = {"stripe_account": account_id} if account_id else None
    return [e.type for e in client.v1.events.list({"limit": 100}, opts).auto_paging_iter()]


# --- refunds -------------------------------------------------------------------------------


def test_a_full_refund_debits_the_seller_and_stripe_keeps_its_fee(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    opts = {"stripe_account": account.id}
    paid_invoice(stripe_client, account.id, amount=10_000, fee=1_250)
    [charge] = stripe_client.v1.charges.list(None, opts).data
    refund = stripe_client.v1.refunds.create(
        {"charge": charge.id, "reason": "requested_by_customer", "metadata": {"order": "42"}}, opts
    )
    assert isinstance(refund, stripe.Refund)
    assert (refund.amount, refund.currency, refund.status) == (10_000, "usd", "succeeded")
    assert refund.reason == "requested_by_customer" and refund.metadata.to_dict() == {"order": "42"}
    txn = stripe_client.v1.balance_transactions.retrieve(refund.balance_transaction, options=opts)
    assert (txn.type, txn.amount, txn.fee, txn.net) == ("refund", -10_000, 0, -10_000)
    assert txn.reporting_category == "refund" and txn.source == refund.id
    assert txn.status == "available"
    charge = stripe_client.v1.charges.retrieve(charge.id, options=opts)
    assert charge.amount_refunded == 10_000 and charge.refunded is True
    assert [r.id for r in charge.refunds.data] == [refund.id]
    # The 8,750 of the charge is still pending; the refund came out of available at once.
    assert balance_totals(stripe_client, account.id) == {"usd": (-10_000, 8_750)}
    # Stripe keeps its processing fee (the platform paid it) and the application fee stays.
    assert balance_totals(stripe_client) == {"usd": (-320, 1_250)}
    types = _event_types(stripe_client, account.id)
    assert "refund.created" in types and "charge.refunded" in types
    assert "application_fee.refunded" not in _event_types(stripe_client)


def test_partial_refunds_return_the_application_fee_in_proportion(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    opts = {"stripe_account": account.id}
    paid_invoice(stripe_client, account.id, amount=10_000, fee=1_250)
    [charge] = stripe_client.v1.charges.list(None, opts).data
    first = stripe_client.v1.refunds.create(
        {"charge": charge.id, "amount": 3_333, "refund_application_fee": True}, opts
    )
    # 1,250 × 3,333 / 10,000 = 416.625 → 417 (half-up)
    fee = stripe_client.v1.application_fees.retrieve(charge.application_fee)
    assert fee.amount_refunded == 417 and fee.refunded is False
    [fee_refund] = fee.refunds.data
    assert isinstance(fee_refund, stripe.ApplicationFeeRefund)
    assert (fee_refund.amount, fee_refund.fee, fee_refund.currency) == (417, fee.id, "usd")
    platform_txn = stripe_client.v1.balance_transactions.retrieve(fee_refund.balance_transaction)
    assert (platform_txn.type, platform_txn.amount) == ("application_fee_refund", -417)
    assert platform_txn.reporting_category == "platform_earning_refund"
    [seller_txn] = stripe_client.v1.balance_transactions.list(
        {"type": "application_fee_refund"}, opts
    ).data
    assert (seller_txn.amount, seller_txn.net, seller_txn.source) == (417, 417, fee_refund.id)
    assert seller_txn.reporting_category == "fee"
    charge = stripe_client.v1.charges.retrieve(charge.id, options=opts)
    assert charge.amount_refunded == 3_333 and charge.refunded is False
    # The rest: the fee goes back whole, whatever the rounding of the first part.
    second = stripe_client.v1.refunds.create(
        {"charge": charge.id, "refund_application_fee": True}, opts
    )
    assert second.amount == 6_667
    fee = stripe_client.v1.application_fees.retrieve(fee.id)
    assert fee.amount_refunded == 1_250 and fee.refunded is True
    assert [r.amount for r in fee.refunds.data] == [833, 417]  # newest first
    charge = stripe_client.v1.charges.retrieve(charge.id, options=opts)
    assert charge.refunded is True and [r.id for r in charge.refunds.data] == [second.id, first.id]
    # Seller: +8,750 pending, −10,000 refunded, +1,250 fee back. Platform: fee gone, fee paid.
    assert balance_totals(stripe_client, account.id) == {"usd": (-8_750, 8_750)}
    assert balance_totals(stripe_client) == {"usd": (-320 - 1_250, 1_250)}
    assert _event_types(stripe_client).count("application_fee.refunded") == 2
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.refunds.create({"charge": charge.id, "amount": 1}, opts)
    assert info.value.code == "charge_already_refunded"
    assert f"Charge {charge.id} has already been refunded" in info.value.user_message


def test_refunding_more_than_remains_is_refused_and_changes_nothing(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    opts = {"stripe_account": account.id}
    charge = _charge(stripe_emulator, account.id, 2_000)
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.refunds.create({"charge": charge["id"], "amount": 2_001}, opts)
    assert info.value.code == "amount_too_large" and info.value.param == "amount"
    assert "Refund amount ($20.01) is greater than charge amount ($20.00)" in str(info.value)
    stripe_client.v1.refunds.create({"charge": charge["id"], "amount": 1_500}, opts)
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.refunds.create({"charge": charge["id"], "amount": 600}, opts)
    assert info.value.code == "amount_too_large"
    assert "greater than unrefunded amount on charge ($5.00)" in str(info.value)
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.refunds.create({"charge": charge["id"], "amount": 0}, opts)
    assert info.value.param == "amount"
    assert len(stripe_client.v1.refunds.list(None, opts).data) == 1
    assert balance_totals(stripe_client, account.id) == {"usd": (-1_500, 2_000)}


def test_refund_application_fee_needs_a_fee_and_the_charge_its_account(
    stripe_client, stripe_emulator
):
    account = onboarded_account(stripe_client, stripe_emulator)
    other = onboarded_account(stripe_client, stripe_emulator)
    charge = _charge(stripe_emulator, account.id, 2_000)
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.refunds.create(
            {"charge": charge["id"], "refund_application_fee": True},
            {"stripe_account": account.id},
        )
    assert info.value.param == "refund_application_fee"
    assert "has no application fee" in str(info.value)
    # Direct charges live on the connected account: without its header, no such charge.
    for opts in (None, {"stripe_account": other.id}):
        with pytest.raises(stripe.InvalidRequestError) as info:
            stripe_client.v1.refunds.create({"charge": charge["id"]}, opts)
        assert info.value.code == "resource_missing" and info.value.param == "charge"
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.refunds.create({}, {"stripe_account": account.id})


def test_refunds_are_listed_retrieved_and_updated(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    other = onboarded_account(stripe_client, stripe_emulator)
    opts = {"stripe_account": account.id}
    first = _charge(stripe_emulator, account.id, 3_000)
    stripe_emulator.advance(hours=1)
    second = _charge(stripe_emulator, account.id, 4_000)
    old = stripe_client.v1.refunds.create({"charge": first["id"], "amount": 1_000}, opts)
    stripe_emulator.advance(hours=1)
    new = stripe_client.v1.refunds.create({"charge": second["id"], "amount": 500}, opts)
    assert [r.id for r in stripe_client.v1.refunds.list(None, opts).data] == [new.id, old.id]
    by_charge = stripe_client.v1.refunds.list({"charge": first["id"]}, opts).data
    assert [r.id for r in by_charge] == [old.id]
    recent = stripe_client.v1.refunds.list({"created": {"gt": old.created}}, opts).data
    assert [r.id for r in recent] == [new.id]
    assert stripe_client.v1.refunds.retrieve(old.id, options=opts).amount == 1_000
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.refunds.retrieve(old.id, options={"stripe_account": other.id})
    assert info.value.code == "resource_missing"
    updated = stripe_client.v1.refunds.update(old.id, {"metadata": {"ticket": "T-1"}}, opts)
    assert updated.metadata.to_dict() == {"ticket": "T-1"}
    events = stripe_client.v1.events.list({"limit": 100}, opts).data
    refund_updated = next(e for e in events if e.type == "refund.updated")
    assert refund_updated.data.previous_attributes.to_dict() == {"metadata": {}}
    assert "charge.refund.updated" in [e.type for e in events]
    charge = stripe_client.v1.charges.retrieve(first["id"], options=opts)
    assert charge.refunds.data[0].metadata.to_dict() == {"ticket": "T-1"}
    only_metadata: dict = {"amount": 5}
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.refunds.update(old.id, only_metadata, opts)
    assert info.value.param == "amount"


def test_refund_and_fee_refund_objects_carry_stripes_fields(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    opts = {"stripe_account": account.id}
    charge = _charge(stripe_emulator, account.id, 5_000, fee=500)
    refund = stripe_client.v1.refunds.create(
        {"charge": charge["id"], "amount": 1_000, "refund_application_fee": True}, opts
    )
    headers = {"Authorization": "Bearer sk_test_fields", "Stripe-Account": account.id}
    raw = requests.get(
        f"{stripe_emulator.base_url}/v1/refunds/{refund.id}", headers=headers, timeout=5
    ).json()
    # ``destination_details`` carries only the key of its type (``card``), as Stripe's does.
    missing = missing_fields(stripe.Refund, raw)
    assert [m for m in missing if not m.startswith("destination_details.")] == []
    assert "destination_details.card" not in missing
    assert raw["destination_details"]["type"] == "card"
    fee_id = charge["application_fee"]
    [fee_refund] = stripe_client.v1.application_fees.refunds.list(fee_id).data
    raw = requests.get(
        f"{stripe_emulator.base_url}/v1/application_fees/{fee_id}/refunds/{fee_refund.id}",
        headers={"Authorization": "Bearer sk_test_fields"},
        timeout=5,
    ).json()
    assert missing_fields(stripe.ApplicationFeeRefund, raw) == []
    assert raw["object"] == "fee_refund" and raw["amount"] == 100


# --- application fee refunds -----------------------------------------------------------------


def test_application_fee_refunds_through_their_own_api(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    opts = {"stripe_account": account.id}
    charge = _charge(stripe_emulator, account.id, 10_000, fee=1_000)
    fee_id = charge["application_fee"]
    refunds = stripe_client.v1.application_fees.refunds
    part = refunds.create(fee_id, {"amount": 400, "metadata": {"why": "goodwill"}})
    assert (part.amount, part.fee, part.metadata.to_dict()) == (400, fee_id, {"why": "goodwill"})
    with pytest.raises(stripe.InvalidRequestError) as info:
        refunds.create(fee_id, {"amount": 601})
    assert info.value.code == "amount_too_large" and info.value.param == "amount"
    rest = refunds.create(fee_id)
    assert rest.amount == 600
    assert [r.id for r in refunds.list(fee_id).data] == [rest.id, part.id]
    assert refunds.retrieve(fee_id, part.id).amount == 400
    updated = refunds.update(fee_id, part.id, {"metadata": {"ticket": "9"}})
    assert updated.metadata.to_dict() == {"why": "goodwill", "ticket": "9"}
    fee = stripe_client.v1.application_fees.retrieve(fee_id)
    assert fee.amount_refunded == 1_000 and fee.refunded is True
    with pytest.raises(stripe.InvalidRequestError):
        refunds.create(fee_id)
    # The fee is the platform's: a connected account cannot see it, nor its refunds.
    with pytest.raises(stripe.InvalidRequestError) as info:
        refunds.list(fee_id, options=opts)
    assert info.value.code == "resource_missing"
    seller = stripe_client.v1.balance_transactions.list({"type": "application_fee_refund"}, opts)
    assert sorted(t.amount for t in seller.data) == [400, 600]
    # Seller: 10,000 pending (the fee came back); platform: fee earned and given back.
    assert balance_totals(stripe_client, account.id) == {"usd": (1_000, 9_000)}
    assert balance_totals(stripe_client) == {"usd": (-320 - 1_000, 1_000)}
    platform_types = _event_types(stripe_client)
    assert platform_types.count("application_fee.refunded") == 2
    assert "application_fee.refund.updated" in platform_types


# --- application fee limits ------------------------------------------------------------------


def test_an_application_fee_must_be_less_than_the_invoice(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    opts = {"stripe_account": account.id}
    customer = stripe_client.v1.customers.create(
        {
            "email": "b@example.com",
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        },
        opts,
    )
    stripe_client.v1.invoice_items.create({"customer": customer.id, "amount": 1_000}, opts)
    params = {
        "customer": customer.id,
        "collection_method": "send_invoice",
        "days_until_due": 7,
        "pending_invoice_items_behavior": "include",
    }
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.invoices.create({**params, "application_fee_amount": 1_000}, opts)
    assert info.value.param == "application_fee_amount"
    # Refused before anything was made: no invoice, the item still pending.
    assert stripe_client.v1.invoices.list(None, opts).data == []
    assert len(stripe_client.v1.invoice_items.list({"pending": True}, opts).data) == 1
    invoice = stripe_client.v1.invoices.create({**params, "application_fee_amount": 900}, opts)
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.invoices.update(invoice.id, {"application_fee_amount": 1_500}, opts)
    assert info.value.param == "application_fee_amount"
    # A total edited below the fee after it was set: finalizing (and paying, which
    # finalizes) is refused, and the draft is left exactly as it was.
    [line] = invoice.lines.data
    stripe_client.v1.invoices.update_lines(
        invoice.id, {"lines": [{"id": line.id, "amount": 600}]}, opts
    )
    for action in ("finalize_invoice", "pay"):
        with pytest.raises(stripe.InvalidRequestError) as info:
            getattr(stripe_client.v1.invoices, action)(invoice.id, None, opts)
        assert info.value.param == "application_fee_amount"
    draft = stripe_client.v1.invoices.retrieve(invoice.id, None, opts)
    assert draft.status == "draft" and draft.number is None
    assert stripe_client.v1.charges.list(None, opts).data == []
    # Lowering the fee below the new total lets it through.
    stripe_client.v1.invoices.update(invoice.id, {"application_fee_amount": 60}, opts)
    paid = stripe_client.v1.invoices.pay(invoice.id, None, opts)
    assert paid.status == "paid" and paid.amount_paid == 600
    [txn] = stripe_client.v1.balance_transactions.list({"type": "charge"}, opts).data
    assert (txn.fee, txn.net) == (60, 540)


def test_an_auto_advancing_draft_whose_fee_is_too_high_stops_and_says_why(
    stripe_client, stripe_emulator
):
    account = onboarded_account(stripe_client, stripe_emulator)
    opts = {"stripe_account": account.id}
    customer = stripe_client.v1.customers.create({"email": "b@example.com"}, opts)
    stripe_client.v1.invoice_items.create({"customer": customer.id, "amount": 1_000}, opts)
    invoice = stripe_client.v1.invoices.create(
        {
            "customer": customer.id,
            "collection_method": "send_invoice",
            "days_until_due": 7,
            "pending_invoice_items_behavior": "include",
            "application_fee_amount": 900,
            "auto_advance": True,
        },
        opts,
    )
    [line] = invoice.lines.data
    stripe_client.v1.invoices.update_lines(
        invoice.id, {"lines": [{"id": line.id, "amount": 500}]}, opts
    )
    stripe_emulator.advance(hours=2)
    stuck = stripe_client.v1.invoices.retrieve(invoice.id, None, opts)
    assert stuck.status == "draft" and stuck.auto_advance is False
    assert stuck.last_finalization_error.param == "application_fee_amount"
    failed = stripe_client.v1.events.list({"type": "invoice.finalization_failed"}, opts).data
    assert [e.data.object.id for e in failed] == [invoice.id]


def test_a_direct_charge_refuses_a_fee_not_below_its_amount(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    with pytest.raises(AssertionError, match="must be less than the charge amount"):
        _charge(stripe_emulator, account.id, 1_000, fee=1_000)
    assert stripe_client.v1.charges.list(None, {"stripe_account": account.id}).data == []


# --- settlement currencies -------------------------------------------------------------------


def test_a_charge_in_another_currency_settles_converted(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    opts = {"stripe_account": account.id}
    charge = _charge(stripe_emulator, account.id, 10_000, fee=1_000, currency="eur")
    assert (charge["amount"], charge["currency"]) == (10_000, "eur")
    txn = stripe_client.v1.balance_transactions.retrieve(
        charge["balance_transaction"], options=opts
    )
    # 100.00 EUR at 1/0.92 = 1.08695652 → 108.695652 USD → 10,870 cents (half-up).
    assert (txn.currency, txn.amount, txn.exchange_rate) == ("usd", 10_870, 1.08695652)
    assert [(f.type, f.amount, f.currency) for f in txn.fee_details] == [
        ("application_fee", 1_087, "usd")
    ]
    fee = stripe_client.v1.application_fees.retrieve(charge["application_fee"])
    assert (fee.amount, fee.currency) == (1_000, "eur")
    fee_txn = stripe_client.v1.balance_transactions.retrieve(fee.balance_transaction)
    assert (fee_txn.currency, fee_txn.amount, fee_txn.exchange_rate) == ("usd", 1_087, 1.08695652)
    # The platform pays Stripe's fee on the settled amount: 2.9 % of 10,870 + 30 = 345.
    [stripe_fee] = stripe_client.v1.balance_transactions.list({"type": "stripe_fee"}).data
    assert (stripe_fee.currency, stripe_fee.amount) == ("usd", -345)
    assert balance_totals(stripe_client, account.id) == {"usd": (0, 10_870 - 1_087)}
    # A refund converts at the charge's rate and is presented in the charge's currency.
    refund = stripe_client.v1.refunds.create(
        {"charge": charge["id"], "amount": 5_000, "refund_application_fee": True}, opts
    )
    assert (refund.amount, refund.currency) == (5_000, "eur")
    refund_txn = stripe_client.v1.balance_transactions.retrieve(
        refund.balance_transaction, options=opts
    )
    assert (refund_txn.currency, refund_txn.amount) == ("usd", -5_435)
    [back] = stripe_client.v1.balance_transactions.list({"type": "application_fee_refund"}, opts)
    assert (back.currency, back.amount) == ("usd", 543)  # 500 EUR cents → 543.478… → 543


def test_a_bank_account_in_a_currency_lets_the_account_settle_in_it(stripe_client, stripe_emulator):
    # A UK account may settle in euros too (a US one may not: see test_settlement_and_fee_payers).
    account = onboarded_account(stripe_client, stripe_emulator, country="GB")
    opts = {"stripe_account": account.id}
    bank = stripe_client.v1.accounts.external_accounts.create(
        account.id,
        {
            "external_account": {
                "object": "bank_account",
                "country": "DE",
                "currency": "eur",
                "account_number": "DE89370400440532013000",
            }
        },
    )
    assert isinstance(bank, stripe.BankAccount)
    assert (bank.currency, bank.last4, bank.default_for_currency) == ("eur", "3000", True)
    listed = stripe_client.v1.accounts.external_accounts.list(account.id).data
    assert sorted(b.currency for b in listed) == ["eur", "gbp"]
    refreshed = stripe_client.v1.accounts.retrieve(account.id)
    assert len(refreshed.external_accounts.data) == 2
    charge = _charge(stripe_emulator, account.id, 10_000, fee=1_000, currency="eur")
    txn = stripe_client.v1.balance_transactions.retrieve(
        charge["balance_transaction"], options=opts
    )
    assert (txn.currency, txn.amount, txn.exchange_rate) == ("eur", 10_000, None)
    assert [(f.currency, f.amount) for f in txn.fee_details] == [("eur", 1_000)]
    assert balance_totals(stripe_client, account.id) == {"eur": (0, 9_000)}
    # The platform holds no euros: its application fee and Stripe's fee are booked in dollars.
    # Stripe's fee, 2.9 % × 10,000 + 30 = 320 EUR cents, is 3.478… USD → 348 cents.
    assert balance_totals(stripe_client) == {"usd": (-348, 1_087)}
    # A currency the account does not hold (it has no USD bank account) still converts to its
    # default currency.
    usd = _charge(stripe_emulator, account.id, 1_000, currency="usd")
    usd_txn = stripe_client.v1.balance_transactions.retrieve(
        usd["balance_transaction"], options=opts
    )
    assert usd_txn.currency == "gbp" and usd_txn.amount == 790  # 10 × 0.79
    with pytest.raises(AssertionError, match="Invalid currency: xyz"):
        _charge(stripe_emulator, account.id, 1_000, currency="xyz")


def test_zero_decimal_currencies_convert_in_whole_units(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator, controller=SELLER_PAYS)
    opts = {"stripe_account": account.id}
    charge = _charge(stripe_emulator, account.id, 1_500, currency="jpy")
    txn = stripe_client.v1.balance_transactions.retrieve(
        charge["balance_transaction"], options=opts
    )
    # ¥1,500 at 0.00666667 USD per yen = 10.000005 USD → 1,000 cents; fee 2.9 % + 30 = 59.
    assert (txn.currency, txn.amount, txn.fee) == ("usd", 1_000, 59)
    japanese = onboarded_account(stripe_client, stripe_emulator, country="JP")
    assert japanese.default_currency == "jpy"
    usd = _charge(stripe_emulator, japanese.id, 1_000, currency="usd")
    jp_txn = stripe_client.v1.balance_transactions.retrieve(
        usd["balance_transaction"], options={"stripe_account": japanese.id}
    )
    assert (jp_txn.currency, jp_txn.amount, jp_txn.exchange_rate) == ("jpy", 1_500, 150.0)


# --- negative balances -----------------------------------------------------------------------


def test_a_refund_can_take_the_balance_negative_and_later_charges_recover_it(
    stripe_client, stripe_emulator
):
    account = onboarded_account(stripe_client, stripe_emulator)
    opts = {"stripe_account": account.id}
    first = _charge(stripe_emulator, account.id, 10_000, fee=1_000)
    stripe_emulator.advance(days=3)
    [paid_out] = stripe_client.v1.payouts.list(None, opts).data
    assert paid_out.amount == 9_000
    assert balance_totals(stripe_client, account.id) == {}
    stripe_client.v1.refunds.create({"charge": first["id"]}, opts)
    assert balance_totals(stripe_client, account.id) == {"usd": (-10_000, 0)}
    # A buyer pays before the next daily run: pending funds that will cover the debt, so
    # Stripe waits for them instead of debiting the seller's bank account.
    _charge(stripe_emulator, account.id, 25_000)
    assert balance_totals(stripe_client, account.id) == {"usd": (-10_000, 25_000)}
    stripe_emulator.advance(days=3)
    payouts = stripe_client.v1.payouts.list(None, opts).data
    assert [p.amount for p in payouts] == [15_000, 9_000]
    assert balance_totals(stripe_client, account.id) == {}


# --- the ledger invariant --------------------------------------------------------------------


def _assert_ledger(client, accounts):
    """available + pending == Σ net of the account's balance transactions, per currency."""
    for account_id in accounts:
        opts = {"stripe_account": account_id} if account_id else None
        sums: dict[str, int] = defaultdict(int)
        for txn in client.v1.balance_transactions.list({"limit": 100}, opts).auto_paging_iter():
            assert txn.net == txn.amount - txn.fee
            sums[txn.currency] += txn.net
        totals = {c: a + p for c, (a, p) in balance_totals(client, account_id).items() if a + p}
        assert {c: s for c, s in sums.items() if s} == totals, account_id


OPERATIONS = st.lists(
    st.one_of(
        st.tuples(
            st.just("charge"),
            st.integers(0, 1),
            st.integers(100, 50_000),
            st.integers(0, 40),
            st.sampled_from(["usd", "usd", "eur", "jpy"]),
        ),
        st.tuples(st.just("refund"), st.integers(0, 9), st.integers(1, 100), st.booleans()),
        st.tuples(st.just("fee_refund"), st.integers(0, 9), st.integers(1, 100)),
        st.tuples(st.just("advance"), st.integers(1, 72)),
    ),
    min_size=3,
    max_size=12,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(operations=OPERATIONS)
def test_balances_equal_the_sum_of_nets_after_random_money_movements(
    stripe_client, stripe_emulator, operations
):
    stripe_emulator.reset()
    accounts = [
        onboarded_account(stripe_client, stripe_emulator).id,
        onboarded_account(stripe_client, stripe_emulator, controller=SELLER_PAYS).id,
    ]
    charges: list[tuple[str, dict]] = []
    for op in operations:
        if op[0] == "charge":
            account_id, amount, percent, currency = accounts[op[1]], op[2], op[3], op[4]
            fee = amount * percent // 100 or None
            charges.append(
                (account_id, _charge(stripe_emulator, account_id, amount, fee, currency))
            )
        elif op[0] == "refund" and charges:
            account_id, charge = charges[op[1] % len(charges)]
            opts = {"stripe_account": account_id}
            current = stripe_client.v1.charges.retrieve(charge["id"], options=opts)
            remaining = current.amount - current.amount_refunded
            if remaining:
                amount = max(1, remaining * op[2] // 100)
                with_fee = op[3] and current.application_fee is not None
                stripe_client.v1.refunds.create(
                    {"charge": charge["id"], "amount": amount, "refund_application_fee": with_fee},
                    opts,
                )
        elif op[0] == "fee_refund" and charges:
            _, charge = charges[op[1] % len(charges)]
            if charge["application_fee"]:
                fee = stripe_client.v1.application_fees.retrieve(charge["application_fee"])
                remaining = fee.amount - fee.amount_refunded
                if remaining:
                    amount = max(1, remaining * op[2] // 100)
                    stripe_client.v1.application_fees.refunds.create(fee.id, {"amount": amount})
        elif op[0] == "advance":
            stripe_emulator.advance(hours=op[1])
        _assert_ledger(stripe_client, [*accounts, None])
