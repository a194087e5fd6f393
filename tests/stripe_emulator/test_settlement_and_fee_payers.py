"""Where money settles and who pays Stripe's fees.

* A dispute on a charge that settled converted is booked in the currency the charge settled in,
  at the charge's rate, and a won dispute reinstates exactly what was withdrawn; the dispute
  itself keeps the charge's presentment currency and amount.
* Every Stripe fee billed to the platform (processing, dispute, Instant Payouts) lands in the
  platform's settlement currency, converted when the platform cannot hold the fee's currency.
* Who pays which fee follows ``controller.fees.payer`` (Stripe's "Fee behavior on connected
  accounts" table).
* An account settles only in currencies its country allows: a US account cannot add a EUR
  bank account; a Canadian one can add a USD one and then settles USD charges unconverted.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
import stripe

from tests.stripe_emulator.helpers import CAPS, SELLER_PAYS, balance_totals, onboarded_account

EUR_TO_USD = 1.08695652  # 1 / 0.92, the emulator's fixed table
GBP_TO_USD = 1.26582278  # 1 / 0.79


def _opts(account_id: str) -> dict[str, Any]:
    return {"stripe_account": account_id}


def _charge(emulator, account_id: str, amount: int, currency: str = "usd", fee=None) -> dict:
    payload: dict[str, Any] = {"account": account_id, "amount": amount, "currency": currency}
    if fee is not None:
        payload["application_fee_amount"] = fee
    return emulator.control("POST", "charges", **payload)


def _platform_fees(client: stripe.StripeClient, about: str) -> list[stripe.BalanceTransaction]:
    """The platform's ``stripe_fee`` transactions whose description names ``about``."""
    fees = client.v1.balance_transactions.list({"type": "stripe_fee", "limit": 100}).data
    return [t for t in fees if about in (t.description or "")]


# --- disputes settle where the charge settled ----------------------------------------------


def test_a_dispute_on_a_converted_charge_is_booked_in_the_settlement_currency(
    stripe_client, stripe_emulator
):
    account = onboarded_account(stripe_client, stripe_emulator)  # US: settles in USD only
    opts = _opts(account.id)
    charge = _charge(stripe_emulator, account.id, 10_000, "eur", fee=1_000)
    settled = stripe_client.v1.balance_transactions.retrieve(
        charge["balance_transaction"], None, opts
    )
    assert (settled.currency, settled.amount, settled.exchange_rate) == ("usd", 10_870, EUR_TO_USD)

    created = stripe_emulator.control("POST", f"charges/{charge['id']}/dispute")

    dispute = stripe_client.v1.disputes.retrieve(created["id"], None, opts)
    assert (dispute.amount, dispute.currency) == (10_000, "eur")  # as the charge was presented
    [withdrawal] = dispute.balance_transactions
    assert (withdrawal.currency, withdrawal.amount, withdrawal.exchange_rate) == (
        "usd",
        -10_870,
        EUR_TO_USD,
    )
    assert (withdrawal.fee, withdrawal.net) == (0, -10_870)  # the platform pays the fee
    # No euros anywhere on a US account: the chargeback comes out of the dollars it settled in.
    assert balance_totals(stripe_client, account.id) == {"usd": (-10_870, 10_870 - 1_087)}
    [billed] = _platform_fees(stripe_client, dispute.id)
    assert (billed.currency, billed.amount, billed.exchange_rate) == ("usd", -1_500, None)

    won = stripe_emulator.control("POST", f"disputes/{dispute.id}/close", outcome="won")

    _, reinstated = won["balance_transactions"]
    assert (reinstated["currency"], reinstated["amount"], reinstated["exchange_rate"]) == (
        "usd",
        10_870,
        EUR_TO_USD,
    )
    assert balance_totals(stripe_client, account.id) == {"usd": (0, 10_870 - 1_087)}
    assert "eur" not in {
        b.currency for b in stripe_client.v1.balance.retrieve(options=opts).available
    }


def test_a_partial_dispute_reinstates_exactly_what_it_withdrew(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator, controller=SELLER_PAYS)
    opts = _opts(account.id)
    charge = _charge(stripe_emulator, account.id, 5_000, "eur")
    # 20.00 EUR at 1.08695652 = 21.7391304 USD: the withdrawal rounds half-up to 2,174 cents.
    created = stripe_emulator.control(
        "POST", f"charges/{charge['id']}/dispute", amount=2_000, reason="product_not_received"
    )
    [withdrawal] = created["balance_transactions"]
    assert (withdrawal["currency"], withdrawal["amount"], withdrawal["fee"]) == (
        "usd",
        -2_174,
        1_500,
    )
    assert withdrawal["exchange_rate"] == EUR_TO_USD
    # The seller pays the dispute fee, in its settlement currency.
    assert [(f["currency"], f["amount"]) for f in withdrawal["fee_details"]] == [("usd", 1_500)]
    before = balance_totals(stripe_client, account.id)

    won = stripe_emulator.control("POST", f"disputes/{created['id']}/close", outcome="won")

    _, reinstated = won["balance_transactions"]
    assert (reinstated["currency"], reinstated["amount"]) == ("usd", -withdrawal["amount"])
    after = balance_totals(stripe_client, account.id)
    assert after["usd"][0] == before["usd"][0] + 2_174 and set(after) == {"usd"}
    dispute = stripe_client.v1.disputes.retrieve(created["id"], None, opts)
    assert (dispute.amount, dispute.currency, dispute.status) == (2_000, "eur", "won")


# --- fees billed to the platform are in its own currency -------------------------------------


def test_stripe_fees_billed_to_the_platform_are_converted_into_its_currency(
    stripe_client, stripe_emulator
):
    # A UK seller whose fees the platform (US, dollars only) pays.
    seller = onboarded_account(stripe_client, stripe_emulator, country="GB")
    assert seller.default_currency == "gbp"
    charge = _charge(stripe_emulator, seller.id, 10_000, "gbp")
    [processing] = _platform_fees(stripe_client, charge["id"])
    # 2.9 % × 10,000 + 30 = 320 pence at 1.26582278 = 405.06 cents → 405.
    assert (processing.currency, processing.amount) == ("usd", -405)

    dispute = stripe_emulator.control("POST", f"charges/{charge['id']}/dispute")

    [withdrawal] = dispute["balance_transactions"]
    assert (withdrawal["currency"], withdrawal["amount"], withdrawal["fee"]) == ("gbp", -10_000, 0)
    [dispute_fee] = _platform_fees(stripe_client, dispute["id"])
    # The 20.00 GBP dispute fee, billed in dollars: 2,531.6 cents → 2,532.
    assert (dispute_fee.currency, dispute_fee.amount, dispute_fee.exchange_rate) == (
        "usd",
        -2_532,
        GBP_TO_USD,
    )
    assert dispute_fee.reporting_category == "fee" and dispute_fee.source is None

    # Instant Payouts: the platform pays for its connected accounts (1 % of the payout).
    other = onboarded_account(stripe_client, stripe_emulator, country="GB")
    _charge(stripe_emulator, other.id, 10_000, "gbp")
    payout = stripe_client.v1.payouts.create(
        {"amount": 5_000, "currency": "gbp", "method": "instant"}, _opts(other.id)
    )
    txn = stripe_client.v1.balance_transactions.retrieve(
        payout.balance_transaction, None, _opts(other.id)
    )
    assert (txn.currency, txn.amount, txn.fee) == ("gbp", -5_000, 0)
    [instant_fee] = _platform_fees(stripe_client, "Instant Payouts")
    assert (instant_fee.currency, instant_fee.amount, instant_fee.exchange_rate) == (
        "usd",
        -63,  # 50 pence → 63.29 cents
        GBP_TO_USD,
    )
    # The platform holds dollars only.
    assert set(balance_totals(stripe_client)) == {"usd"}


# --- who pays which fee ----------------------------------------------------------------------

# What Stripe's "Fee behavior on connected accounts" table says, per controller.fees.payer:
# (processing fee, dispute fee, Instant Payouts fee), P = the platform, A = the account.
EXPECTED_PAYERS = {
    "account": ("A", "A", "A"),
    "application": ("P", "P", "P"),
    "application_express": ("A", "A", "P"),
    "application_custom": ("A", "A", "P"),
}


def _account_with_payer(client: stripe.StripeClient, kind: str) -> stripe.Account:
    if kind == "account":
        return client.v1.accounts.create({"controller": SELLER_PAYS, "capabilities": CAPS})
    if kind == "application, Stripe liable":
        # The platform pays Stripe's fees but Stripe carries the losses.
        controller = {
            "stripe_dashboard": {"type": "full"},
            "fees": {"payer": "application"},
            "losses": {"payments": "stripe"},
        }
        return client.v1.accounts.create({"controller": controller, "capabilities": CAPS})
    if kind == "application":
        controller = {
            "stripe_dashboard": {"type": "express"},
            "fees": {"payer": "application"},
            "losses": {"payments": "application"},
        }
        return client.v1.accounts.create({"controller": controller, "capabilities": CAPS})
    legacy = {"application_express": "express", "application_custom": "custom"}[kind]
    return client.v1.accounts.create({"type": legacy, "capabilities": CAPS})


def _who(account_paid: bool, billed: list[stripe.BalanceTransaction], about: str) -> str:
    """ "A" when the account paid the fee, "P" when the platform was billed it; never both."""
    platform_paid = any(about in (t.description or "") for t in billed)
    assert account_paid != platform_paid, (about, account_paid, platform_paid)
    return "A" if account_paid else "P"


def test_who_pays_each_stripe_fee_follows_the_fee_payer(stripe_client, stripe_emulator):
    found = {}
    for kind in (
        "account",
        "application",
        "application, Stripe liable",
        "application_express",
        "application_custom",
    ):
        account = _account_with_payer(stripe_client, kind)
        payer = account.controller.fees.payer
        assert payer == kind.split(",")[0]
        stripe_emulator.complete_onboarding(account.id)
        opts = _opts(account.id)
        charge = _charge(stripe_emulator, account.id, 10_000)
        charge_txn = stripe_client.v1.balance_transactions.retrieve(
            charge["balance_transaction"], None, opts
        )
        payout = stripe_client.v1.payouts.create(
            {"amount": 1_000, "currency": "usd", "method": "instant"}, opts
        )
        payout_txn = stripe_client.v1.balance_transactions.retrieve(
            payout.balance_transaction, None, opts
        )
        dispute = stripe_emulator.control("POST", f"charges/{charge['id']}/dispute")
        [withdrawal] = dispute["balance_transactions"]
        billed = _platform_fees(stripe_client, account.id)

        found[kind] = (
            _who(charge_txn.fee == 320, billed, charge["id"]),
            _who(withdrawal["fee"] == 1_500, billed, dispute["id"]),
            _who(payout_txn.fee == 10, billed, "Instant Payouts"),
        )
    assert found == {
        **EXPECTED_PAYERS,
        # The dispute fee goes with liability for losses: Stripe carries them here, so the
        # account is charged it, while the platform still pays the processing fee.
        "application, Stripe liable": ("P", "A", "P"),
    }


# --- which currencies an account can settle in ----------------------------------------------

DE_BANK = {
    "object": "bank_account",
    "country": "DE",
    "currency": "eur",
    "account_number": "DE89370400440532013000",
}
US_BANK = {
    "object": "bank_account",
    "country": "US",
    "currency": "usd",
    "account_number": "000123456789",
    "routing_number": "110000000",
}


def _control_status(emulator, path: str, **payload: Any) -> tuple[int, dict]:
    response = requests.post(f"{emulator.base_url}/_emulator/{path}", json=payload, timeout=10)
    return response.status_code, response.json()


def test_an_account_settles_only_in_currencies_its_country_allows(stripe_client, stripe_emulator):
    us = onboarded_account(stripe_client, stripe_emulator)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.accounts.external_accounts.create(us.id, {"external_account": DE_BANK})
    assert refused.value.user_message == (
        "Invalid currency: eur. You can use these currencies for transfers for an account in "
        "US: usd"
    )
    assert refused.value.param == "external_account[currency]"
    status, body = _control_status(
        stripe_emulator, f"accounts/{us.id}/external_accounts", country="DE", currency="eur"
    )
    assert status == 400 and body["error"]["param"] == "currency"
    assert body["error"]["message"].startswith("Invalid currency: eur.")
    assert [b.currency for b in stripe_client.v1.accounts.external_accounts.list(us.id).data] == [
        "usd"
    ]
    # So a euro payment on a US account settles in dollars, whatever was attempted.
    euros = _charge(stripe_emulator, us.id, 1_000, "eur")
    txn = stripe_client.v1.balance_transactions.retrieve(
        euros["balance_transaction"], None, _opts(us.id)
    )
    assert txn.currency == "usd"
    # The account's default currency must be one its country allows too.
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.accounts.create(
            {"country": "US", "default_currency": "eur", "capabilities": CAPS}
        )
    assert refused.value.param == "default_currency"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.accounts.update(us.id, {"default_currency": "gbp"})
    assert refused.value.param == "default_currency"
    assert stripe_client.v1.accounts.retrieve(us.id).default_currency == "usd"
    # A Japanese account cannot take a US bank account token either (it is in dollars).
    japanese = onboarded_account(stripe_client, stripe_emulator, country="JP")
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.accounts.external_accounts.create(
            japanese.id, {"external_account": "btok_us_verified"}
        )
    assert refused.value.user_message.endswith("for an account in JP: jpy")
    assert refused.value.param == "external_account"


def test_a_canadian_account_can_settle_in_us_dollars_once_it_has_a_usd_bank_account(
    stripe_client, stripe_emulator
):
    canadian = onboarded_account(stripe_client, stripe_emulator, country="CA")
    opts = _opts(canadian.id)
    assert canadian.default_currency == "cad"
    before = _charge(stripe_emulator, canadian.id, 1_000, "usd")
    converted = stripe_client.v1.balance_transactions.retrieve(
        before["balance_transaction"], None, opts
    )
    assert (converted.currency, converted.amount) == ("cad", 1_360)

    bank = stripe_client.v1.accounts.external_accounts.create(
        canadian.id, {"external_account": US_BANK}
    )

    assert (bank.currency, bank.default_for_currency) == ("usd", True)
    after = _charge(stripe_emulator, canadian.id, 1_000, "usd")
    txn = stripe_client.v1.balance_transactions.retrieve(after["balance_transaction"], None, opts)
    assert (txn.currency, txn.amount, txn.exchange_rate) == ("usd", 1_000, None)
    # Euros are not among a Canadian account's settlement currencies: they convert to CAD.
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.accounts.external_accounts.create(
            canadian.id, {"external_account": DE_BANK}
        )
    euros = _charge(stripe_emulator, canadian.id, 1_000, "eur")
    eur_txn = stripe_client.v1.balance_transactions.retrieve(
        euros["balance_transaction"], None, opts
    )
    assert eur_txn.currency == "cad"
    # A UK account can hold euros next to pounds.
    british = onboarded_account(stripe_client, stripe_emulator, country="GB")
    added = stripe_client.v1.accounts.external_accounts.create(
        british.id, {"external_account": DE_BANK}
    )
    assert added.currency == "eur"
