"""Payouts the way real money moves them: manual and instant payouts (not itemisable), payout
schedules, failed payouts that error the bank account and stop payouts until a new one is
added, late payouts, negative balances debited from the bank, and the ledger invariant."""

from __future__ import annotations

import calendar
from collections import defaultdict
from datetime import UTC, datetime

import pytest
import requests
import stripe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.stripe_emulator.helpers import (
    CAPS,
    SELLER_PAYS,
    balance_in,
    express_account,
    onboarded_account,
    paid_invoice,
)
from tests.stripe_emulator.test_object_fields import missing_fields

DAY = 86400
NOT_ITEMISABLE = (
    "Balance transaction history can only be filtered on automatic transfers, not manual."
)


def _opts(account_id: str) -> dict:
    return {"stripe_account": account_id}


def _events(client, account_id, event_type):
    return client.v1.events.list({"type": event_type, "limit": 100}, _opts(account_id)).data


def _manual_schedule(client, account_id):
    client.v1.accounts.update(
        account_id, {"settings": {"payouts": {"schedule": {"interval": "manual"}}}}
    )


def _available_funds(client, emulator, amount=10_000, fee=1_250):
    """An onboarded account with a paid invoice whose funds are available now."""
    account = onboarded_account(client, emulator)
    _manual_schedule(client, account.id)
    paid_invoice(client, account.id, amount=amount, fee=fee)
    emulator.advance(days=2, seconds=1)
    return account


# --- manual payouts and payout schedules ---------------------------------------------------


def test_manual_payout_lands_but_cannot_be_itemised(stripe_client, stripe_emulator):
    account = _available_funds(stripe_client, stripe_emulator)
    opts = _opts(account.id)
    assert stripe_client.v1.accounts.retrieve(account.id).settings.payouts.schedule.interval == (
        "manual"
    )
    [updated] = [
        e
        for e in _events(stripe_client, account.id, "account.updated")
        if "settings" in e.data.previous_attributes
    ]
    # previous_attributes names only what changed, however deep.
    assert updated.data.previous_attributes.to_dict() == {
        "settings": {"payouts": {"schedule": {"interval": "daily"}}}
    }
    assert balance_in(stripe_client, account.id) == (8_750, 0)
    payout = stripe_client.v1.payouts.create({"amount": 8_000, "currency": "usd"}, opts)
    assert payout.automatic is False and payout.method == "standard"
    assert payout.reconciliation_status == "not_applicable"
    assert balance_in(stripe_client, account.id) == (750, 0)
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.balance_transactions.list({"payout": payout.id}, opts)
    assert info.value.user_message == NOT_ITEMISABLE and info.value.param == "payout"
    stripe_emulator.advance(days=1, seconds=1)
    payout = stripe_client.v1.payouts.retrieve(payout.id, options=opts)
    assert payout.status == "paid" and payout.reconciliation_status == "not_applicable"
    assert stripe_client.v1.payouts.list(None, opts).data == [payout]  # no automatic ones


def test_manual_payout_needs_an_external_account_in_its_currency(stripe_client, stripe_emulator):
    account = _available_funds(stripe_client, stripe_emulator)
    # A US account holds no euros (it cannot add a EUR bank account), so there is nothing to
    # pay them out to.
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.payouts.create({"amount": 1_000, "currency": "eur"}, _opts(account.id))
    assert info.value.user_message == (
        "Sorry, you don't have any external accounts in that currency (eur)."
    )
    # Nor can the emulator's balance adjustment put euros on it.
    response = requests.post(
        f"{stripe_emulator.base_url}/_emulator/accounts/{account.id}/balance_adjustments",
        json={"amount": 5_000, "currency": "eur"},
        timeout=10,
    )
    assert response.status_code == 400 and response.json()["error"]["param"] == "currency"
    assert {
        b.currency for b in stripe_client.v1.balance.retrieve(options=_opts(account.id)).available
    } == {"usd"}


def test_weekly_schedule_needs_an_anchor_and_pays_on_that_day(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.accounts.update(
            account.id, {"settings": {"payouts": {"schedule": {"interval": "weekly"}}}}
        )
    assert info.value.param == "settings[payouts][schedule][weekly_anchor]"
    anchor_day = datetime.fromtimestamp(stripe_emulator.now() + 4 * DAY, UTC)
    anchor = calendar.day_name[anchor_day.weekday()].lower()
    schedule = stripe_client.v1.accounts.update(
        account.id,
        {"settings": {"payouts": {"schedule": {"interval": "weekly", "weekly_anchor": anchor}}}},
    ).settings.payouts.schedule
    assert (schedule.interval, schedule.weekly_anchor) == ("weekly", anchor)
    paid_invoice(stripe_client, account.id)
    stripe_emulator.advance(days=8)
    [payout] = stripe_client.v1.payouts.list(None, _opts(account.id)).data
    assert payout.automatic is True and payout.amount == 8_750
    created = datetime.fromtimestamp(payout.created, UTC)
    assert calendar.day_name[created.weekday()].lower() == anchor


def test_monthly_anchor_past_month_end_pays_on_the_last_day(stripe_client, stripe_emulator):
    # Late April 2031 (in the emulated future): April has 30 days.
    stripe_emulator.control(
        "POST", "clock/set", to=int(datetime(2031, 4, 26, 12, tzinfo=UTC).timestamp())
    )
    account = onboarded_account(stripe_client, stripe_emulator)
    stripe_client.v1.accounts.update(
        account.id,
        {"settings": {"payouts": {"schedule": {"interval": "monthly", "monthly_anchor": 31}}}},
    )
    paid_invoice(stripe_client, account.id)
    stripe_emulator.advance(days=6)
    [payout] = stripe_client.v1.payouts.list(None, _opts(account.id)).data
    assert datetime.fromtimestamp(payout.created, UTC).date() == datetime(2031, 4, 30).date()


# --- instant payouts -----------------------------------------------------------------------


def test_instant_payout_to_a_debit_card_draws_on_pending_card_funds(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    opts = _opts(account.id)
    card = stripe_client.v1.accounts.external_accounts.create(
        account.id,
        {"external_account": "tok_visa_debit_us_transferSuccess", "default_for_currency": True},
    )
    assert isinstance(card, stripe.Card)
    assert card.funding == "debit" and card.last4 == "5556" and card.default_for_currency
    assert card.available_payout_methods == ["standard", "instant"]
    paid_invoice(stripe_client, account.id)  # 8,750 net, pending for two days
    balance = stripe_client.v1.balance.retrieve(options=opts)
    [instant] = balance.instant_available
    assert (instant.amount, instant.currency) == (8_750, "usd")
    assert [n.destination for n in instant.net_available] == [
        card.id,
        *[
            ea.id
            for ea in stripe_client.v1.accounts.external_accounts.list(account.id).data
            if ea.id != card.id and "instant" in ea.available_payout_methods
        ],
    ]
    payout = stripe_client.v1.payouts.create(
        {"amount": 5_000, "currency": "usd", "method": "instant"}, opts
    )
    assert payout.method == "instant" and payout.type == "card"
    assert payout.destination == card.id and payout.automatic is False
    assert payout.arrival_date - payout.created <= 30 * 60
    assert payout.reconciliation_status == "not_applicable"
    # The platform pays Stripe's Instant Payouts fee (controller.fees.payer=application).
    txn = stripe_client.v1.balance_transactions.retrieve(payout.balance_transaction, options=opts)
    assert (txn.amount, txn.fee, txn.net) == (-5_000, 0, -5_000)
    # (The platform's other Stripe fee is the processing fee of the payment itself.)
    platform_fees = stripe_client.v1.balance_transactions.list({"type": "stripe_fee"}).data
    [platform_fee] = [t for t in platform_fees if "Instant Payouts" in (t.description or "")]
    assert (platform_fee.amount, platform_fee.net, platform_fee.reporting_category) == (
        -50,
        -50,
        "fee",
    )
    assert balance_in(stripe_client, account.id) == (-5_000, 8_750)
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.balance_transactions.list({"payout": payout.id}, opts)
    assert info.value.user_message == NOT_ITEMISABLE
    stripe_emulator.advance(seconds=31 * 60)
    assert stripe_client.v1.payouts.retrieve(payout.id, options=opts).status == "paid"
    # No bank debit: the pending funds cover the instant payout when they settle, and the
    # next automatic payout pays out (and itemises) the rest.
    stripe_emulator.advance(days=3)
    [automatic] = [p for p in stripe_client.v1.payouts.list(None, opts).data if p.automatic]
    assert automatic.amount == 3_750
    listed = stripe_client.v1.balance_transactions.list({"payout": automatic.id}, opts).data
    assert sorted(t.type for t in listed) == ["charge", "payout", "payout"]
    assert sum(t.net for t in listed if t.source != automatic.id) == automatic.amount


def _seller_paying_its_fees(client, emulator):
    account = client.v1.accounts.create(
        {
            "country": "US",
            "controller": SELLER_PAYS,
            "capabilities": CAPS,
        }
    )
    emulator.complete_onboarding(account.id)
    return account


def test_instant_payout_fee_is_the_sellers_when_it_pays_its_own_fees(
    stripe_client, stripe_emulator
):
    account = _seller_paying_its_fees(stripe_client, stripe_emulator)
    opts = _opts(account.id)
    paid_invoice(stripe_client, account.id)
    with pytest.raises(stripe.InvalidRequestError) as info:  # 8,750 can't cover 8,750 + fee
        stripe_client.v1.payouts.create(
            {"amount": 8_750, "currency": "usd", "method": "instant"}, opts
        )
    assert info.value.code == "balance_insufficient"
    payout = stripe_client.v1.payouts.create(
        {"amount": 5_000, "currency": "usd", "method": "instant"}, opts
    )
    txn = stripe_client.v1.balance_transactions.retrieve(payout.balance_transaction, options=opts)
    assert (txn.amount, txn.fee, txn.net) == (-5_000, 50, -5_050)
    assert [(f.type, f.amount) for f in txn.fee_details] == [("stripe_fee", 50)]
    assert stripe_client.v1.balance_transactions.list({"type": "stripe_fee"}).data == []


def test_instant_payout_refused_to_an_ineligible_bank_account(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    bank = stripe_emulator.control(
        "POST", f"accounts/{account.id}/external_accounts", account_number="000888888883"
    )
    assert bank["available_payout_methods"] == ["standard"] and bank["default_for_currency"]
    paid_invoice(stripe_client, account.id)
    [instant] = stripe_client.v1.balance.retrieve(options=_opts(account.id)).instant_available
    assert instant.amount == 8_750
    assert bank["id"] not in [n.destination for n in instant.net_available]
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.payouts.create(
            {"amount": 1_000, "currency": "usd", "method": "instant"}, _opts(account.id)
        )
    assert info.value.code == "instant_payouts_unsupported"
    assert info.value.user_message.startswith("This bank account is not eligible for Instant")


def test_instant_payout_refused_to_an_ineligible_card(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    card = stripe_client.v1.accounts.external_accounts.create(
        account.id,
        {"external_account": "tok_visa_debit_us_instantPayoutUnsupported"},
    )
    assert card.available_payout_methods == ["standard"] and card.last4 == "5555"
    paid_invoice(stripe_client, account.id)
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.payouts.create(
            {"amount": 1_000, "currency": "usd", "method": "instant", "destination": card.id},
            _opts(account.id),
        )
    assert info.value.code == "instant_payouts_unsupported"
    assert info.value.user_message == (
        "This card is not eligible for Instant Payouts. Try a debit card from a supported bank."
    )


# --- failures, late payouts ----------------------------------------------------------------


def _fail_first_payout(client, emulator, account_id, code="account_closed"):
    emulator.control("POST", f"accounts/{account_id}/payouts", fail_next=code)
    paid_invoice(client, account_id)
    emulator.advance(days=5)
    [payout] = client.v1.payouts.list(None, _opts(account_id)).data
    return payout


def test_failed_payout_errors_the_bank_and_stops_payouts_until_a_new_one(
    stripe_client, stripe_emulator
):
    account = onboarded_account(stripe_client, stripe_emulator)
    opts = _opts(account.id)
    [bank] = account.external_accounts.data
    payout = _fail_first_payout(stripe_client, stripe_emulator, account.id)
    assert payout.status == "failed" and payout.failure_code == "account_closed"
    assert payout.failure_message == "The bank account has been closed."
    failure = stripe_client.v1.balance_transactions.retrieve(
        payout.failure_balance_transaction, options=opts
    )
    assert (failure.type, failure.amount, failure.reporting_category) == (
        "payout_failure",
        payout.amount,
        "payout_reversal",
    )
    bank = stripe_client.v1.accounts.external_accounts.retrieve(account.id, bank.id)
    assert bank.status == "errored"
    account = stripe_client.v1.accounts.retrieve(account.id)
    assert account.charges_enabled is True and account.payouts_enabled is False
    assert "external_account" in account.requirements.currently_due
    assert "external_account" in account.requirements.eventually_due
    assert account.capabilities.card_payments == "active"
    [bank_event] = _events(stripe_client, account.id, "account.external_account.updated")
    assert bank_event.data.object.id == bank.id
    assert bank_event.data.previous_attributes.to_dict() == {"status": "new"}
    updated = _events(stripe_client, account.id, "account.updated")[0]
    previous = updated.data.previous_attributes
    assert previous["payouts_enabled"] is True
    assert previous["requirements"].to_dict() == {"currently_due": [], "eventually_due": []}
    assert "charges_enabled" not in previous

    # No payouts while payouts are disabled: the returned money stays available.
    stripe_emulator.advance(days=3)
    assert [p.id for p in stripe_client.v1.payouts.list(None, opts).data] == [payout.id]
    assert balance_in(stripe_client, account.id) == (payout.amount, 0)
    with pytest.raises(stripe.InvalidRequestError) as info:
        _manual_schedule(stripe_client, account.id)
        stripe_client.v1.payouts.create({"amount": 100, "currency": "usd"}, opts)
    assert info.value.code == "payouts_not_allowed"
    stripe_client.v1.accounts.update(
        account.id, {"settings": {"payouts": {"schedule": {"interval": "daily"}}}}
    )

    # A new bank account re-enables payouts; the next payout pays the returned money out.
    new_bank = stripe_client.v1.accounts.external_accounts.create(
        account.id,
        {
            "external_account": {
                "object": "bank_account",
                "country": "US",
                "currency": "usd",
                "routing_number": "110000000",
                "account_number": "000123456789",
            },
            "default_for_currency": True,
        },
    )
    assert isinstance(new_bank, stripe.BankAccount) and new_bank.status == "new"
    account = stripe_client.v1.accounts.retrieve(account.id)
    assert account.payouts_enabled is True
    assert "external_account" not in account.requirements.currently_due
    assert [e.id for e in account.external_accounts.data if e.default_for_currency] == [new_bank.id]
    assert _events(stripe_client, account.id, "account.external_account.created")[
        0
    ].data.object.id == (new_bank.id)
    assert (
        _events(stripe_client, account.id, "account.updated")[0].data.previous_attributes[
            "payouts_enabled"
        ]
        is False
    )
    stripe_emulator.advance(days=3)
    paid = stripe_client.v1.payouts.list({"status": "paid"}, opts).data
    assert [(p.amount, p.destination) for p in paid] == [(payout.amount, new_bank.id)]
    listed = stripe_client.v1.balance_transactions.list({"payout": paid[0].id}, opts).data
    assert sorted(t.type for t in listed) == ["payout", "payout_failure"]


def test_test_bank_numbers_decide_how_payouts_end(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    stripe_emulator.control(
        "POST", f"accounts/{account.id}/external_accounts", account_number="000111111116"
    )
    paid_invoice(stripe_client, account.id)
    stripe_emulator.advance(days=5)
    [payout] = stripe_client.v1.payouts.list(None, _opts(account.id)).data
    assert payout.status == "failed" and payout.failure_code == "no_account"
    assert stripe_client.v1.accounts.retrieve(account.id).payouts_enabled is False


def test_hosted_onboarding_replaces_a_failed_bank_account(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    _fail_first_payout(stripe_client, stripe_emulator, account.id, "no_account")
    link = stripe_client.v1.account_links.create(
        {
            "account": account.id,
            "type": "account_onboarding",
            "refresh_url": "http://app.test/refresh",
            "return_url": "http://app.test/return",
        }
    )
    page = requests.get(link.url, timeout=5)
    assert "external_account" in page.text
    action = page.text.split('action="')[1].split('"')[0]
    requests.post(
        stripe_emulator.base_url + action,
        data={"outcome": "complete", "account_number": "000123456789"},
        timeout=5,
        allow_redirects=False,
    )
    account = stripe_client.v1.accounts.retrieve(account.id)
    assert account.payouts_enabled is True
    assert [e.status for e in account.external_accounts.data] == ["new", "errored"]


def test_failing_a_paid_payout_errors_its_bank_account(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    paid_invoice(stripe_client, account.id)
    stripe_emulator.advance(days=5)
    [payout] = stripe_client.v1.payouts.list({"status": "paid"}, _opts(account.id)).data
    stripe_emulator.control(
        "POST", f"payouts/{payout.id}/fail", failure_code="invalid_account_number"
    )
    payout = stripe_client.v1.payouts.retrieve(payout.id, options=_opts(account.id))
    assert payout.failure_message == (
        "The routing number seems correct, but the account number is invalid."
    )
    bank = stripe_client.v1.accounts.external_accounts.retrieve(account.id, payout.destination)
    assert bank.status == "errored"


def test_a_late_payout_stays_in_transit_past_its_arrival_date(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    opts = _opts(account.id)
    stripe_emulator.control("POST", f"accounts/{account.id}/payouts", delay_next=2 * DAY)
    paid_invoice(stripe_client, account.id)
    stripe_emulator.advance(days=3, seconds=1)
    [payout] = stripe_client.v1.payouts.list(None, opts).data
    stripe_emulator.advance(days=2)
    payout = stripe_client.v1.payouts.retrieve(payout.id, options=opts)
    assert payout.status == "in_transit"
    assert stripe_emulator.now() > payout.arrival_date + DAY  # late, as real payouts can be
    stripe_emulator.advance(days=1)
    assert stripe_client.v1.payouts.retrieve(payout.id, options=opts).status == "paid"


# --- negative balances ---------------------------------------------------------------------


def test_negative_balance_is_debited_from_the_bank_by_a_negative_payout(
    stripe_client, stripe_emulator
):
    account = onboarded_account(stripe_client, stripe_emulator)
    opts = _opts(account.id)
    assert account.settings.payouts.debit_negative_balances is True
    stripe_emulator.control(
        "POST", f"accounts/{account.id}/balance_adjustments", amount=-5_000, currency="usd"
    )
    assert balance_in(stripe_client, account.id) == (-5_000, 0)
    stripe_emulator.advance(days=1)
    [debit] = stripe_client.v1.payouts.list(None, opts).data
    assert debit.amount == -5_000 and debit.automatic is True
    txn = stripe_client.v1.balance_transactions.retrieve(debit.balance_transaction, options=opts)
    assert (txn.type, txn.amount) == ("payout", 5_000)
    assert balance_in(stripe_client, account.id) == (0, 0)
    stripe_emulator.advance(days=2)
    debit = stripe_client.v1.payouts.retrieve(debit.id, options=opts)
    assert debit.status == "paid" and debit.reconciliation_status == "completed"
    listed = stripe_client.v1.balance_transactions.list({"payout": debit.id}, opts).data
    assert sorted(t.type for t in listed) == ["adjustment", "payout"]


def test_negative_balance_waits_for_pending_funds_or_later_charges(stripe_client, stripe_emulator):
    covered = onboarded_account(stripe_client, stripe_emulator)
    paid_invoice(stripe_client, covered.id)  # 8,750 pending
    stripe_emulator.control(
        "POST", f"accounts/{covered.id}/balance_adjustments", amount=-3_000, currency="usd"
    )
    kept = onboarded_account(stripe_client, stripe_emulator)
    stripe_client.v1.accounts.update(
        kept.id, {"settings": {"payouts": {"debit_negative_balances": False}}}
    )
    stripe_emulator.control(
        "POST", f"accounts/{kept.id}/balance_adjustments", amount=-3_000, currency="usd"
    )
    stripe_emulator.advance(days=1)
    assert stripe_client.v1.payouts.list(None, _opts(covered.id)).data == []
    assert stripe_client.v1.payouts.list(None, _opts(kept.id)).data == []
    assert balance_in(stripe_client, kept.id) == (-3_000, 0)
    paid_invoice(stripe_client, kept.id)
    stripe_emulator.advance(days=3)
    [payout] = stripe_client.v1.payouts.list(None, _opts(covered.id)).data
    assert payout.amount == 8_750 - 3_000
    [payout] = stripe_client.v1.payouts.list(None, _opts(kept.id)).data
    assert payout.amount == 8_750 - 3_000  # recovered from the later charge


def test_pending_funds_too_small_to_cover_leave_the_whole_balance_debited(
    stripe_client, stripe_emulator
):
    account = onboarded_account(stripe_client, stripe_emulator)
    opts = _opts(account.id)
    stripe_emulator.control(
        "POST", "charges", account=account.id, amount=1_000
    )  # 1,000 pending: the platform pays the processing fee
    stripe_emulator.control(
        "POST", f"accounts/{account.id}/balance_adjustments", amount=-3_000, currency="usd"
    )
    stripe_emulator.advance(days=1)
    # A payout reflects the available balance: all of it is withdrawn, not just the shortfall.
    [debit] = stripe_client.v1.payouts.list(None, opts).data
    assert debit.amount == -3_000
    stripe_emulator.advance(days=2)
    amounts = sorted(p.amount for p in stripe_client.v1.payouts.list(None, opts).data)
    assert amounts == [-3_000, 1_000]


# --- external accounts API -----------------------------------------------------------------


def test_external_accounts_api(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    [bank] = stripe_client.v1.accounts.external_accounts.list(account.id).data
    assert isinstance(bank, stripe.BankAccount) and bank.last4 == "6789"
    headers = {"Authorization": "Bearer sk_test_fields"}
    base = f"{stripe_emulator.base_url}/v1/accounts/{account.id}/external_accounts"
    raw = requests.get(f"{base}/{bank.id}", headers=headers, timeout=5).json()
    assert missing_fields(stripe.BankAccount, raw) == []
    card = stripe_client.v1.accounts.external_accounts.create(
        account.id, {"external_account": "tok_mastercard_debit_us_transferSuccess"}
    )
    assert card.default_for_currency is False  # not the first in usd
    raw = requests.get(f"{base}/{card.id}", headers=headers, timeout=5).json()
    assert missing_fields(stripe.Card, raw) == []
    cards = stripe_client.v1.accounts.external_accounts.list(account.id, {"object": "card"})
    assert [c.id for c in cards.data] == [card.id]
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.accounts.external_accounts.create(
            account.id,
            {
                "external_account": {
                    "object": "card",
                    "number": "4000056655665556",
                    "exp_month": 12,
                    "exp_year": 2034,
                }
            },
        )
    assert "must use card tokens" in info.value.user_message
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.accounts.external_accounts.create(
            account.id, {"external_account": "btok_nonsense"}
        )
    assert info.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.accounts.external_accounts.delete(account.id, bank.id)  # the default
    with pytest.raises(stripe.InvalidRequestError):  # Stripe collects Express payout details
        stripe_client.v1.accounts.external_accounts.update(
            account.id, bank.id, {"metadata": {"k": "v"}}
        )
    deleted = stripe_client.v1.accounts.external_accounts.delete(account.id, card.id)
    assert deleted.deleted is True
    assert [
        e.id for e in stripe_client.v1.accounts.retrieve(account.id).external_accounts.data
    ] == [bank.id]
    other = express_account(stripe_client)
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.accounts.external_accounts.retrieve(
            account.id, bank.id, options=_opts(other.id)
        )


def test_custom_accounts_can_re_enable_an_errored_bank_by_updating_it(
    stripe_client, stripe_emulator
):
    account = stripe_client.v1.accounts.create({"type": "custom", "capabilities": CAPS})
    assert account.settings.payouts.debit_negative_balances is False  # Stripe's default
    stripe_emulator.complete_onboarding(account.id)
    payout = _fail_first_payout(stripe_client, stripe_emulator, account.id)
    assert stripe_client.v1.accounts.retrieve(account.id).payouts_enabled is False
    bank = stripe_client.v1.accounts.external_accounts.update(account.id, payout.destination)
    assert bank.status == "new"
    assert stripe_client.v1.accounts.retrieve(account.id).payouts_enabled is True


# --- the invariant -------------------------------------------------------------------------


def assert_ledger_consistent(client, account_ids):
    """Per account and currency, the balance is the sum of the transactions' nets by status;
    every paid automatic payout is exactly what ``payout=`` lists for it."""
    for account_id in account_ids:
        opts = _opts(account_id) if account_id else None
        sums: dict[tuple[str, str], int] = defaultdict(int)
        for txn in client.v1.balance_transactions.list({"limit": 100}, opts).auto_paging_iter():
            assert txn.net == txn.amount - txn.fee
            sums[(txn.currency, txn.status)] += txn.net
        balance = client.v1.balance.retrieve(options=opts)
        totals: dict[tuple[str, str], int] = defaultdict(int)
        for entry in balance.available:
            totals[(entry.currency, "available")] += entry.amount
        for entry in balance.pending:
            totals[(entry.currency, "pending")] += entry.amount
        for key in set(sums) | set(totals):
            assert totals[key] == sums[key], (account_id, key)
        if account_id is None:
            continue
        for payout in client.v1.payouts.list({"status": "paid", "limit": 100}, opts).data:
            if not payout.automatic:
                continue
            listed = list(
                client.v1.balance_transactions.list(
                    {"payout": payout.id, "limit": 100}, opts
                ).auto_paging_iter()
            )
            own = [t for t in listed if t.id == payout.balance_transaction]
            others = [t for t in listed if t.id != payout.balance_transaction]
            assert len(own) == 1 and own[0].net == -payout.amount
            assert sum(t.net for t in others) == payout.amount, payout.id


OPERATIONS = st.lists(
    st.one_of(
        # Payments and time passing weigh double: payouts need both.
        st.tuples(st.just("pay"), st.integers(0, 1), st.integers(100, 50_000)),
        st.tuples(st.just("pay"), st.integers(0, 1), st.integers(100, 50_000)),
        st.tuples(st.just("advance"), st.integers(0, 1), st.integers(1, 80)),
        st.tuples(st.just("advance"), st.integers(0, 1), st.integers(24, 96)),
        st.tuples(st.just("fail_next"), st.integers(0, 1)),
        st.tuples(st.just("delay_next"), st.integers(0, 1), st.integers(1, 3)),
        st.tuples(st.just("adjust"), st.integers(0, 1), st.integers(-20_000, 5_000)),
        st.tuples(st.just("instant"), st.integers(0, 1), st.integers(1, 20_000)),
        st.tuples(st.just("manual"), st.integers(0, 1), st.integers(1, 20_000)),
        st.tuples(st.just("new_bank"), st.integers(0, 1)),
        st.tuples(st.just("restrict"), st.integers(0, 1)),
        st.tuples(st.just("complete"), st.integers(0, 1)),
    ),
    min_size=8,
    max_size=25,
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(operations=OPERATIONS)
def test_ledger_invariant_holds_through_real_life_payouts(
    stripe_client, stripe_emulator, operations
):
    stripe_emulator.reset()
    # The second account pays its own fees and pays out by hand (instant payouts too).
    accounts = [
        onboarded_account(stripe_client, stripe_emulator).id,
        _seller_paying_its_fees(stripe_client, stripe_emulator).id,
    ]
    _manual_schedule(stripe_client, accounts[1])
    for op in operations:
        kind, which = op[0], accounts[op[1]]
        opts = _opts(which)
        if kind == "pay":
            if stripe_client.v1.accounts.retrieve(which).charges_enabled:
                stripe_emulator.control(
                    "POST",
                    "charges",
                    account=which,
                    amount=op[2],
                    application_fee_amount=op[2] // 10,
                )
        elif kind == "advance":
            stripe_emulator.advance(hours=op[2])
        elif kind == "fail_next":
            stripe_emulator.control("POST", f"accounts/{which}/payouts", fail_next="no_account")
        elif kind == "delay_next":
            stripe_emulator.control("POST", f"accounts/{which}/payouts", delay_next=op[2] * DAY)
        elif kind == "adjust":
            stripe_emulator.control(
                "POST", f"accounts/{which}/balance_adjustments", amount=op[2], currency="usd"
            )
        elif kind in ("instant", "manual"):
            params = {"amount": op[2], "currency": "usd"}
            if kind == "instant":
                params["method"] = "instant"
            try:
                stripe_client.v1.payouts.create(params, opts)
            except stripe.InvalidRequestError as err:
                expected = err.code in ("balance_insufficient", "payouts_not_allowed")
                assert expected or "automatic payout schedule" in str(err), err
        elif kind == "new_bank":
            stripe_emulator.control("POST", f"accounts/{which}/external_accounts")
        else:
            stripe_emulator.complete_onboarding(which, kind)
        assert_ledger_consistent(stripe_client, [*accounts, None])
