"""Payouts: the automatic daily schedule, manual payouts, the pending → in_transit → paid
lifecycle and failures.
"""

from __future__ import annotations

from typing import Any

from ..errors import invalid, state_error
from ..params import in_range
from ..server import Request, api, paginate
from ..state import State, diff, public
from .accounts import platform_account
from .balance import DAY, IN_TRANSIT_AFTER, add_transaction, balances_of

JSON = dict[str, Any]

# --- payouts -------------------------------------------------------------------------------


def _payout_object(
    state: State, account: JSON, amount: int, currency: str, automatic: bool
) -> JSON:
    now = state.now()
    banks = account["external_accounts"]["data"]
    return {
        "id": state.new_id("po"),
        "object": "payout",
        "amount": amount,
        "application_fee": None,
        "application_fee_amount": None,
        "arrival_date": now + DAY,
        "automatic": automatic,
        "balance_transaction": None,
        "created": now,
        "currency": currency,
        "description": "STRIPE PAYOUT",
        "destination": banks[0]["id"] if banks else None,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "livemode": False,
        "metadata": {},
        "method": "standard",
        "original_payout": None,
        "payout_method": None,
        "reconciliation_status": "in_progress" if automatic else "not_applicable",
        "reversed_by": None,
        "source_type": "card",
        "statement_descriptor": None,
        "status": "pending",
        "trace_id": {"status": "pending", "value": None},
        "type": "bank_account",
    }


def create_payout(
    state: State, account: JSON, amount: int, currency: str, *, automatic: bool
) -> JSON:
    owner = account["id"]
    payout = _payout_object(state, account, amount, currency, automatic)
    state.put(payout, owner)
    txn = add_transaction(
        state,
        owner,
        amount=-amount,
        currency=currency,
        type_="payout",
        source=payout["id"],
        description="STRIPE PAYOUT",
    )
    payout["balance_transaction"] = txn["id"]
    if automatic:
        # Reconciliation: an automatic payout sweeps every available, not yet paid out
        # transaction of its currency; ``payout=`` lists exactly those (plus itself).
        for t in state.all(owner, "balance_transaction"):
            if t["currency"] == currency and t["status"] == "available" and not t["_payout"]:
                t["_payout"] = payout["id"]
    state.data.setdefault("active_payouts", []).append(payout["id"])
    state.emit("payout.created", payout, owner)
    return payout


def run_automatic_payouts(state: State, now: int) -> None:
    """Once per emulated day, pay out each enabled account's available balance."""
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
            continue
        if account["settings"]["payouts"]["schedule"]["interval"] != "daily":
            continue
        for currency, bucket in sorted(balances_of(state, account["id"]).items()):
            if bucket["available"] > 0:
                create_payout(state, account, bucket["available"], currency, automatic=True)
    state.touch()


def advance_payouts(state: State, now: int) -> None:
    """``pending → in_transit → paid`` (or ``failed`` when a failure was queued)."""
    active = state.data.setdefault("active_payouts", [])
    keep = []
    for payout_id in active:
        payout = state.find(payout_id)
        if payout is None or payout["status"] not in ("pending", "in_transit"):
            continue
        owner = state.owner_of(payout_id)
        assert owner is not None
        if payout["status"] == "pending" and now >= payout["created"] + IN_TRANSIT_AFTER:
            before = public(payout)
            payout["status"] = "in_transit"
            payout["trace_id"] = {"status": "supported", "value": f"TRACE{payout_id[-10:]}"}
            state.emit("payout.updated", payout, owner, diff(before, payout))
        if payout["status"] == "in_transit" and now >= payout["arrival_date"]:
            account = state.find(owner) or {}
            failure = account.get("_fail_next_payout")
            if failure:
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
    state.data["active_payouts"] = keep
    state.touch()


FAILURE_MESSAGES = {
    "account_closed": "The bank account has been closed.",
    "account_frozen": "The bank account has been frozen.",
    "insufficient_funds": "Your Stripe account has insufficient funds to cover the payout.",
    "no_account": "The bank account details on file are probably incorrect.",
    "could_not_process": "The bank could not process this payout.",
}


def fail_payout(state: State, payout: JSON, code: str = "account_closed") -> JSON:
    """A failed payout returns its money to the available balance."""
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
            moments.append(payout["created"] + IN_TRANSIT_AFTER)
        elif payout["status"] == "in_transit":
            moments.append(payout["arrival_date"])
    last = state.data.get("last_payout_day")
    if last is not None:
        moments.append((last + 1) * DAY)
    return min(moments) if moments else None


@api.route("POST", "/v1/payouts")
def create_manual_payout(req: Request) -> JSON:
    p = req.params
    amount = p.int("amount", required=True, minimum=1)
    currency = (p.str("currency", required=True) or "").lower()
    assert amount is not None
    if req.is_platform:
        account = platform_account(req.state)
    else:
        account = req.state.get(req.owner, None, "account")
    if account["settings"]["payouts"]["schedule"]["interval"] != "manual" and not account.get(
        "_platform"
    ):
        raise invalid(
            "You cannot create manual payouts on an account with an automatic payout schedule.",
            "amount",
        )
    if not account.get("_platform") and not account["payouts_enabled"]:
        raise invalid("Payouts are not enabled for this account.", code="payouts_not_allowed")
    available = balances_of(req.state, account["id"]).get(currency, {}).get("available", 0)
    if amount > available:
        raise invalid(
            "You have insufficient funds in your Stripe account for this transfer.",
            "amount",
            "balance_insufficient",
        )
    payout = create_payout(req.state, account, amount, currency, automatic=False)
    payout["description"] = p.str("description") or payout["description"]
    payout["metadata"] = p.metadata() or {}
    return public(payout)


@api.route("GET", "/v1/payouts")
def list_payouts(req: Request) -> JSON:
    p = req.params
    status = p.str("status")
    created = p.range("created")
    arrival = p.range("arrival_date")
    destination = p.str("destination")
    items = [
        po
        for po in req.state.all(req.owner, "payout")
        if (status is None or po["status"] == status)
        and (destination is None or po["destination"] == destination)
        and in_range(po["created"], created)
        and in_range(po["arrival_date"], arrival)
    ]
    return paginate(req, items, "/v1/payouts")


@api.route("GET", "/v1/payouts/{payout_id}")
def retrieve_payout(req: Request, payout_id: str) -> JSON:
    return public(req.state.get(payout_id, req.owner, "payout"))


@api.route("POST", "/v1/payouts/{payout_id}")
def update_payout(req: Request, payout_id: str) -> JSON:
    from ..params import merge_metadata

    payout = req.state.get(payout_id, req.owner, "payout")
    before = public(payout)
    payout["metadata"] = merge_metadata(payout["metadata"], req.params.metadata())
    changed = diff(before, payout)
    if changed:
        req.state.touch()
        req.emit("payout.updated", payout, req.owner, changed)
    return public(payout)


@api.route("POST", "/v1/payouts/{payout_id}/cancel")
def cancel_payout(req: Request, payout_id: str) -> JSON:
    payout = req.state.get(payout_id, req.owner, "payout")
    if payout["status"] != "pending" or payout["automatic"]:
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
