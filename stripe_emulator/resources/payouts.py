"""Payouts: the automatic schedule (daily, weekly, monthly), manual and instant payouts, the
pending → in_transit → paid lifecycle, late and failed payouts, and the debit Stripe makes
from the bank when a balance stays negative.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ..errors import StripeError, invalid, no_such, state_error
from ..server import Request, api, list_matching
from ..state import State, diff, public
from .accounts import EUROZONE, WEEKDAYS, platform_account
from .balance import (
    DAY,
    IN_TRANSIT_AFTER,
    add_transaction,
    balances_of,
    platform_pays,
    round_half_up,
)
from .currencies import bill_platform
from .external_accounts import (
    INSTANT_COUNTRIES,
    default_for,
    external_accounts_of,
    instant_destinations,
    mark_errored,
    usable,
)

JSON = dict[str, Any]

INSTANT_ARRIVAL = 30 * 60  # Instant Payouts typically land within 30 minutes
INSTANT_IN_TRANSIT_AFTER = 60
# Stripe's Instant Payouts fee: 1 % of the payout amount (1.5 % in Australia).
INSTANT_FEE_RATES = {"AU": Decimal("0.015")}
INSTANT_FEE_RATE = Decimal("0.01")
# Countries where Stripe debits the bank account to cover a negative balance.
DEBIT_COUNTRIES = {"US", "CA", "AU", "GB", *EUROZONE}

FAILURE_MESSAGES = {
    "account_closed": "The bank account has been closed.",
    "account_frozen": "The bank account has been frozen.",
    "bank_account_restricted": (
        "The bank account has restrictions on either the type, or the number, of payouts "
        "allowed. This normally indicates that the bank account is a savings or other "
        "non-checking account."
    ),
    "bank_ownership_changed": (
        "The destination bank account is no longer valid because its branch has changed ownership."
    ),
    "could_not_process": "The bank could not process this payout.",
    "debit_not_authorized": (
        "Debit transactions are not approved on the bank account. (Stripe requires bank "
        "accounts to be set up for both credit and debit payouts.)"
    ),
    "declined": "The bank has declined this transfer. Please contact the bank before retrying.",
    "incorrect_account_holder_name": (
        "Your bank notified us that the bank account holder name on file is incorrect."
    ),
    "insufficient_funds": "Your Stripe account has insufficient funds to cover the payout.",
    "invalid_account_number": "The routing number seems correct, but the account number is invalid.",
    "invalid_currency": (
        "The bank was unable to process this payout because of its currency. This is probably "
        "because the bank account cannot accept payments in that currency."
    ),
    "no_account": (
        "The bank account details on file are probably incorrect. No bank account could be "
        "located with those details."
    ),
    "unsupported_card": "The bank no longer supports payouts to this card.",
}

# --- payouts -------------------------------------------------------------------------------


def _payout_object(
    state: State,
    amount: int,
    currency: str,
    automatic: bool,
    method: str,
    destination: JSON | None,
) -> JSON:
    now = state.now()
    return {
        "id": state.new_id("po"),
        "object": "payout",
        "amount": amount,
        "application_fee": None,
        "application_fee_amount": None,
        "arrival_date": now + (INSTANT_ARRIVAL if method == "instant" else DAY),
        "automatic": automatic,
        "balance_transaction": None,
        "created": now,
        "currency": currency,
        "description": "STRIPE PAYOUT",
        "destination": destination["id"] if destination else None,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "livemode": False,
        "metadata": {},
        "method": method,
        "original_payout": None,
        "payout_method": None,
        # Only automatic payouts can be itemised, so only they reconcile.
        "reconciliation_status": "in_progress" if automatic else "not_applicable",
        "reversed_by": None,
        "source_type": "card",
        "statement_descriptor": None,
        "status": "pending",
        "trace_id": {"status": "pending", "value": None},
        "type": "card" if destination and destination["object"] == "card" else "bank_account",
        "_lands_at": None,
    }


def instant_fee(account: JSON, amount: int) -> int:
    rate = INSTANT_FEE_RATES.get(account.get("country", "US"), INSTANT_FEE_RATE)
    return round_half_up(Decimal(amount) * rate)


def create_payout(
    state: State,
    account: JSON,
    amount: int,
    currency: str,
    *,
    automatic: bool,
    method: str = "standard",
    destination: JSON | None = None,
    request_id: str | None = None,
) -> JSON:
    """Book a payout: its ``payout`` balance transaction takes the money out of the available
    balance now (a negative amount is a debit from the bank, which puts money back in)."""
    owner = account["id"]
    if destination is None and not account.get("_platform"):
        destination = default_for(state, account, currency) or default_for(
            state, account, account["default_currency"]
        )
    payout = _payout_object(state, amount, currency, automatic, method, destination)
    state.put(payout, owner)
    fee_details = []
    if method == "instant":
        fee = instant_fee(account, amount)
        if platform_pays(state, owner, "instant_payout"):
            # Stripe bills the platform for its connected accounts' Instant Payouts.
            bill_platform(state, fee, currency, f"Instant Payouts fee ({owner})")
        elif fee:
            fee_details.append(
                {
                    "amount": fee,
                    "application": None,
                    "currency": currency,
                    "description": "Instant Payouts fee",
                    "type": "stripe_fee",
                }
            )
    txn = add_transaction(
        state,
        owner,
        amount=-amount,
        currency=currency,
        type_="payout",
        source=payout["id"],
        description="STRIPE PAYOUT",
        fee_details=fee_details,
    )
    payout["balance_transaction"] = txn["id"]
    if automatic:
        # Reconciliation: an automatic payout sweeps every available, not yet paid out
        # transaction of its currency; ``payout=`` lists exactly those (plus itself).
        swept = []
        for t in state.all(owner, "balance_transaction"):
            if t["currency"] == currency and t["status"] == "available" and not t["_payout"]:
                t["_payout"] = payout["id"]
                swept.append(t["id"])
        # Newest first, as ``payout=`` lists them: that listing reads these, not the ledger.
        payout["_swept"] = swept
    state.data.setdefault("active_payouts", []).append(payout["id"])
    state.emit("payout.created", payout, owner, request_id=request_id)
    return payout


def _scheduled_today(schedule: JSON, now: int) -> bool:
    """Whether the automatic schedule pays out on the (UTC) day ``now`` falls in."""
    interval = schedule["interval"]
    if interval == "daily":
        return True
    today = datetime.fromtimestamp(now, UTC)
    if interval == "weekly":
        days = schedule.get("weekly_payout_days") or [schedule.get("weekly_anchor")]
        return WEEKDAYS[today.weekday()] in days
    if interval == "monthly":
        last = calendar.monthrange(today.year, today.month)[1]
        days = schedule.get("monthly_payout_days") or [schedule.get("monthly_anchor")]
        # Days past the end of a shorter month are paid on its last day.
        return any(d and min(int(d), last) == today.day for d in days)
    return False  # manual


def run_automatic_payouts(state: State, now: int) -> None:
    """Once per emulated day: pay out each account's positive available balance on its
    schedule's days, and debit the bank for a negative balance pending funds won't cover."""
    day = now // DAY
    last = state.data.get("last_payout_day")
    if last is None:
        state.data["last_payout_day"] = day
        return
    if day <= last:
        return
    state.data["last_payout_day"] = day
    for _owner, account in list(state.all_owners("account")):
        if account.get("_platform") or account.get("_deleted"):
            continue
        if not account["payouts_enabled"]:
            continue  # no payouts (nor debits) while payouts are disabled
        settings = account["settings"]["payouts"]
        scheduled = _scheduled_today(settings["schedule"], now)
        debits = settings["debit_negative_balances"] and account["country"] in DEBIT_COUNTRIES
        for currency, bucket in sorted(balances_of(state, account["id"]).items()):
            if bucket["available"] > 0 and scheduled:
                create_payout(state, account, bucket["available"], currency, automatic=True)
            elif bucket["available"] < 0 and debits:
                # When funds on their way can't cover it, Stripe withdraws the negative
                # available balance from the bank (a payout reflects the available balance),
                # whatever the schedule.
                uncovered = bucket["available"] + bucket["pending"] < 0
                destination = default_for(state, account, currency)
                if uncovered and destination and destination["object"] == "bank_account":
                    create_payout(
                        state,
                        account,
                        bucket["available"],
                        currency,
                        automatic=True,
                        destination=destination,
                    )
    state.touch()


def _lands_at(payout: JSON) -> int:
    return payout.get("_lands_at") or payout["arrival_date"]


def _in_transit_at(payout: JSON) -> int:
    delay = INSTANT_IN_TRANSIT_AFTER if payout["method"] == "instant" else IN_TRANSIT_AFTER
    return payout["created"] + delay


def advance_payouts(state: State, now: int) -> None:
    """``pending → in_transit → paid`` (or ``failed``; or still in transit when late)."""
    active = state.data.setdefault("active_payouts", [])
    keep = []
    for payout_id in active:
        payout = state.find(payout_id)
        if payout is None or payout["status"] not in ("pending", "in_transit"):
            continue
        owner = state.owner_of(payout_id)
        assert owner is not None
        if payout["status"] == "pending" and now >= _in_transit_at(payout):
            before = public(payout)
            payout["status"] = "in_transit"
            payout["trace_id"] = {"status": "supported", "value": f"TRACE{payout_id[-10:]}"}
            state.emit("payout.updated", payout, owner, diff(before, payout))
        if payout["status"] == "in_transit" and now >= _lands_at(payout):
            account = state.find(owner) or {}
            delay = account.get("_delay_next_payout")
            if delay and payout.get("_lands_at") is None:
                # A late payout: still in transit after its arrival date.
                account["_delay_next_payout"] = None
                payout["_lands_at"] = payout["arrival_date"] + delay
                state.touch()
                keep.append(payout_id)
                continue
            destination = state.find(payout["destination"] or "") or {}
            failure = account.get("_fail_next_payout") or destination.get("_failure")
            if failure:
                if account.get("_fail_next_payout"):
                    account["_fail_next_payout"] = None
                fail_payout(state, payout, failure)
                continue
            before = public(payout)
            payout["status"] = "paid"
            if payout["automatic"]:
                payout["reconciliation_status"] = "completed"
            state.emit("payout.paid", payout, owner)
            state.emit("payout.updated", payout, owner, diff(before, payout))
            if payout["automatic"]:
                state.emit("payout.reconciliation_completed", payout, owner)
            continue
        keep.append(payout_id)
    if keep != active:  # events emitted above mark the state changed themselves
        state.data["active_payouts"] = keep
        state.touch()


def fail_payout(state: State, payout: JSON, code: str = "account_closed") -> JSON:
    """A failed payout returns its money to the available balance, and Stripe errors the
    bank account or card it was sent to (payouts stop until a usable one is added)."""
    if payout["status"] in ("failed", "canceled"):
        raise state_error(f"Payout {payout['id']} has already {payout['status']}.")
    owner = state.owner_of(payout["id"])
    assert owner is not None
    before = public(payout)
    txn = add_transaction(
        state,
        owner,
        amount=payout["amount"],
        currency=payout["currency"],
        type_="payout_failure",
        source=payout["id"],
        description="Payout failure",
    )
    payout.update(
        {
            "status": "failed",
            "failure_balance_transaction": txn["id"],
            "failure_code": code,
            "failure_message": FAILURE_MESSAGES.get(code, "The payout failed."),
        }
    )
    if payout["id"] in state.data.get("active_payouts", []):
        state.data["active_payouts"].remove(payout["id"])
    state.emit("payout.failed", payout, owner)
    state.emit("payout.updated", payout, owner, diff(before, payout))
    account = state.find(owner)
    destination = state.find(payout["destination"] or "")
    if account is not None and destination is not None and not account.get("_platform"):
        mark_errored(state, account, destination)
    return payout


def next_due(state: State) -> int | None:
    """The earliest future moment at which something here changes on its own."""
    moments = []
    for txn_id in state.data.get("pending_txns", []):
        txn = state.find(txn_id)
        if txn is not None:
            moments.append(txn["available_on"])
    for payout_id in state.data.get("active_payouts", []):
        payout = state.find(payout_id)
        if payout is None:
            continue
        if payout["status"] == "pending":
            moments.append(_in_transit_at(payout))
        elif payout["status"] == "in_transit":
            moments.append(_lands_at(payout))
    last = state.data.get("last_payout_day")
    if last is not None:
        moments.append((last + 1) * DAY)
    return min(moments) if moments else None


# --- Instant Payouts: what the balance offers --------------------------------------------


def instant_available(state: State, account_id: str, currency: str, bucket: JSON) -> JSON:
    """``balance.instant_available`` for one currency: card funds can be paid out instantly as
    soon as the charge completes, so pending funds count too (never below zero)."""
    account = state.find(account_id) or {}
    amount = 0
    if account.get("country", "US") in INSTANT_COUNTRIES:
        amount = max(0, bucket["available"] + bucket["pending"])
    destinations = instant_destinations(state, account, currency) if account else []
    return {
        "amount": amount,
        "currency": currency,
        "net_available": [
            {"amount": amount, "destination": d["id"], "source_types": {"card": amount}}
            for d in destinations
        ],
        "source_types": {"card": amount},
    }


# --- API -----------------------------------------------------------------------------------


def _no_external_account(currency: str) -> StripeError:
    return invalid(
        f"Sorry, you don't have any external accounts in that currency ({currency}).",
        "currency",
    )


def _not_instant(destination: JSON) -> StripeError:
    what = "card" if destination["object"] == "card" else "bank account"
    return invalid(
        f"This {what} is not eligible for Instant Payouts. Try a debit card from a supported bank.",
        "destination",
        "instant_payouts_unsupported",
    )


def _insufficient() -> StripeError:
    return invalid(
        "You have insufficient funds in your Stripe account for this transfer.",
        "amount",
        "balance_insufficient",
    )


@api.route("POST", "/v1/payouts")
def create_manual_payout(req: Request) -> JSON:
    p = req.params
    amount = p.int("amount", required=True, minimum=1)
    currency = (p.str("currency", required=True) or "").lower()
    method = p.choice("method", ("standard", "instant")) or "standard"
    destination_id = p.str("destination")
    assert amount is not None
    if req.is_platform:
        account = platform_account(req.state)
    else:
        account = req.state.get(req.owner, None, "account")
    bucket = balances_of(req.state, account["id"]).get(currency, {"available": 0, "pending": 0})
    destination = None
    if account.get("_platform"):
        if method == "instant":
            raise _no_external_account(currency)
        if amount > bucket["available"]:
            raise _insufficient()
    else:
        if method == "standard" and account["settings"]["payouts"]["schedule"]["interval"] != (
            "manual"
        ):
            raise invalid(
                "You cannot create manual payouts on an account with an automatic payout schedule.",
                "amount",
            )
        if not account["payouts_enabled"]:
            raise invalid("Payouts are not enabled for this account.", code="payouts_not_allowed")
        if destination_id:
            found = [
                ea
                for ea in external_accounts_of(req.state, account["id"])
                if ea["id"] == destination_id
            ]
            if not found:
                raise no_such("external account", destination_id, "destination")
            destination = found[0]
        else:
            destination = default_for(req.state, account, currency)
        if destination is None or destination["currency"] != currency:
            raise _no_external_account(currency)
        if method == "instant":
            if "instant" not in destination["available_payout_methods"] or not usable(destination):
                raise _not_instant(destination)
            billed = platform_pays(req.state, account["id"], "instant_payout")
            fee = 0 if billed else instant_fee(account, amount)
            offered = instant_available(req.state, account["id"], currency, bucket)["amount"]
            if amount + fee > offered:
                raise _insufficient()
        elif amount > bucket["available"]:
            raise _insufficient()
    payout = create_payout(
        req.state,
        account,
        amount,
        currency,
        automatic=False,
        method=method,
        destination=destination,
        request_id=req.request_id,
    )
    payout["description"] = p.str("description") or payout["description"]
    payout["statement_descriptor"] = p.str("statement_descriptor")
    payout["metadata"] = p.metadata() or {}
    return public(payout)


@api.route("GET", "/v1/payouts")
def list_payouts(req: Request) -> JSON:
    return list_matching(
        req,
        "payout",
        "/v1/payouts",
        equal=("status", "destination"),
        ranges=("created", "arrival_date"),
    )


@api.route("GET", "/v1/payouts/{payout_id}")
def retrieve_payout(req: Request, payout_id: str) -> JSON:
    return public(req.state.get(payout_id, req.owner, "payout"))


@api.route("POST", "/v1/payouts/{payout_id}")
def update_payout(req: Request, payout_id: str) -> JSON:
    from ..params import merge_metadata

    payout = req.state.get(payout_id, req.owner, "payout")
    before = public(payout)
    payout["metadata"] = merge_metadata(payout["metadata"], req.params.metadata())
    req.emit_changes("payout.updated", payout, before)
    return public(payout)


@api.route("POST", "/v1/payouts/{payout_id}/cancel")
def cancel_payout(req: Request, payout_id: str) -> JSON:
    payout = req.state.get(payout_id, req.owner, "payout")
    if payout["status"] != "pending" or payout["automatic"] or payout["method"] == "instant":
        raise state_error("Only pending, manual payouts can be canceled.")
    before = public(payout)
    add_transaction(
        req.state,
        req.owner,
        amount=payout["amount"],
        currency=payout["currency"],
        type_="payout_cancel",
        source=payout_id,
        description="Payout cancellation",
    )
    payout["status"] = "canceled"
    req.state.data["active_payouts"].remove(payout_id)
    req.emit("payout.canceled", payout, req.owner)
    req.emit("payout.updated", payout, req.owner, diff(before, payout))
    return public(payout)
