"""``/_emulator/`` controls: never part of Stripe's surface. Clock, onboarding outcomes,
payout failures, buyer payments, fault injection, webhook endpoints and delivery, reset.

Bodies may be JSON or form-encoded; answers are JSON.
"""

from __future__ import annotations

from typing import Any

from . import clock
from .errors import invalid, no_such
from .resources import accounts, balance, charges, currencies, external_accounts, invoices, payouts
from .server import Request, controls
from .state import public

JSON = dict[str, Any]
FAULT_KINDS = ("500", "500_after_write", "402", "429", "429_retry", "slow", "drop", "lost")


def unlocked(handler: Any) -> Any:
    """Mark a control that must not hold the state lock (it makes outbound HTTP calls)."""
    handler.unlocked = True
    return handler


@controls.route("POST", "/_emulator/reset")
def reset(req: Request) -> JSON:
    req.state.reset()
    return {"ok": True, "platform": req.state.platform}


@controls.route("GET", "/_emulator/state")
def summary(req: Request) -> JSON:
    counts: dict[str, int] = {}
    for key, ids in req.state.data["index"].items():
        kind = key.partition(":")[2]
        counts[kind] = counts.get(kind, 0) + len(ids)
    return {
        "now": req.state.now(),
        "clock_offset": req.state.data["clock_offset"],
        "platform": req.state.platform,
        "objects": counts,
        "pending_deliveries": len(req.state.data["deliveries"]),
    }


@controls.route("GET", "/_emulator/requests")
@unlocked
def request_counts(req: Request) -> JSON:
    """The Stripe API requests served since start (or the last reset of counts or state)."""
    return req.state.request_counts()


@controls.route("DELETE", "/_emulator/requests")
@unlocked
def reset_request_counts(req: Request) -> JSON:
    req.state.reset_requests()
    return {"ok": True}


@controls.route("GET", "/_emulator/clock")
def get_clock(req: Request) -> JSON:
    return {"now": req.state.now(), "offset": req.state.data["clock_offset"]}


@controls.route("POST", "/_emulator/clock/advance")
def advance_clock(req: Request) -> JSON:
    p = req.params
    seconds = (
        (p.int("seconds", 0) or 0)
        + (p.int("minutes", 0) or 0) * 60
        + (p.int("hours", 0) or 0) * 3600
        + (p.int("days", 0) or 0) * 86400
    )
    if seconds < 0:
        raise invalid("The emulated clock only moves forward.", "seconds")
    now = clock.advance(req.state, seconds)
    return {"now": now, "offset": req.state.data["clock_offset"]}


@controls.route("POST", "/_emulator/clock/set")
def set_clock(req: Request) -> JSON:
    """Jump to a moment. Backwards only on an empty state (to seed history from the past)."""
    target = req.params.int("to", required=True)
    assert target is not None
    now = req.state.now()
    if target < now:
        if req.state.data["objects"]:
            raise invalid("The clock can only move backwards while the state is empty.", "to")
        clock.set_now(req.state, target)
        req.state.data["last_payout_day"] = None
        return {"now": req.state.now(), "offset": req.state.data["clock_offset"]}
    clock.advance(req.state, target - now)
    return {"now": req.state.now(), "offset": req.state.data["clock_offset"]}


def _account(req: Request, account_id: str) -> JSON:
    obj = req.state.find(account_id)
    if obj is None or obj["object"] != "account" or obj.get("_platform"):
        raise no_such("account", account_id)
    return obj


@controls.route("POST", "/_emulator/accounts/{account_id}/onboarding")
def onboarding(req: Request, account_id: str) -> JSON:
    """``action``: complete | partial | pending_verification | restrict | reject | disable |
    disable_payouts | verification_error | eventually_due | future_requirements; with
    ``fields``, ``reason`` (reject, disable), ``code`` (verification_error), ``deadline_seconds``,
    ``account_number`` (the bank account submitted with complete / pending_verification)."""
    p = req.params
    action = p.choice("action", accounts.ONBOARDING_ACTIONS, "complete")
    assert action is not None
    account = accounts.apply_onboarding(
        req.state,
        _account(req, account_id),
        action,
        fields=[str(f) for f in p.list("fields")] or None,
        reason=p.str("reason"),
        deadline=p.int("deadline_seconds", minimum=1),
        code=p.str("code"),
        bank_account_number=p.str("account_number"),
    )
    return public(account)


@controls.route("POST", "/_emulator/accounts/{account_id}/payouts")
def payout_behaviour(req: Request, account_id: str) -> JSON:
    """``fail_next``: a failure code the account's next landing payout fails with (``""``
    clears it); ``delay_next``: seconds the next landing payout stays in transit past its
    arrival date (a late payout)."""
    account = _account(req, account_id)
    p = req.params
    if "fail_next" in p or not p.data:
        code = p.str("fail_next")
        if code and code not in payouts.FAILURE_MESSAGES:
            raise invalid(
                f"fail_next must be one of {', '.join(payouts.FAILURE_MESSAGES)}", "fail_next"
            )
        account["_fail_next_payout"] = code
    if "delay_next" in p:
        account["_delay_next_payout"] = p.int("delay_next", minimum=0) or None
    req.state.touch()
    return {
        "account": account_id,
        "fail_next": account.get("_fail_next_payout"),
        "delay_next": account.get("_delay_next_payout"),
    }


@controls.route("POST", "/_emulator/payouts/{payout_id}/fail")
def fail_payout(req: Request, payout_id: str) -> JSON:
    payout = req.state.find(payout_id)
    if payout is None or payout["object"] != "payout":
        raise no_such("payout", payout_id)
    payouts.fail_payout(req.state, payout, req.params.str("failure_code") or "account_closed")
    return public(payout)


@controls.route("POST", "/_emulator/charges")
def buyer_payment(req: Request) -> JSON:
    """A buyer's card payment straight onto an account (direct charge), without an invoice.

    ``account`` (omit for the platform), ``amount``, ``currency`` (the presentment currency;
    settles converted when the account cannot hold it), ``application_fee_amount``,
    ``customer``, ``description``.
    """
    p = req.params
    account_id = p.str("account")
    owner = req.state.platform
    if account_id:
        account = _account(req, account_id)
        if not account["charges_enabled"]:
            raise invalid("This account cannot accept charges yet.", "account")
        owner = account_id
    else:
        accounts.platform_account(req.state)
    amount = p.int("amount", required=True, minimum=1)
    assert amount is not None
    currency = currencies.require_supported(p.str("currency") or "usd")
    fee = p.int("application_fee_amount", minimum=0)
    if fee and owner == req.state.platform:
        raise invalid(
            "Can only apply an application_fee_amount when the request is made on behalf of "
            "another account.",
            "application_fee_amount",
        )
    charges.check_application_fee(fee, amount, "application_fee_amount")
    charge = charges.create_charge(
        req.state,
        owner,
        amount=amount,
        currency=currency,
        customer=p.str("customer"),
        description=p.str("description"),
        application_fee_amount=fee,
    )
    return public(charge)


@controls.route("POST", "/_emulator/invoices/{invoice_id}/pay")
def pay_invoice(req: Request, invoice_id: str) -> JSON:
    """The buyer pays the invoice (as from the hosted invoice page, typing a card there: no
    payment method on file is needed); with ``decline_code`` (e.g. ``insufficient_funds``, see
    ``charges.DECLINES``) the card is declined instead. Answers the invoice with its payments."""
    invoice = req.state.find(invoice_id)
    owner = req.state.owner_of(invoice_id)
    if invoice is None or invoice["object"] != "invoice" or owner is None:
        raise no_such("invoice", invoice_id)
    decline_code = req.params.choice("decline_code", tuple(charges.DECLINES))
    if decline_code:
        invoices.decline(req.state, invoice, owner, decline_code)
    else:
        invoices.pay(req.state, invoice, owner, out_of_band=False)
    # With its payments, as `expand[]=payments` would show them.
    return {**public(invoice), "payments": invoices.payments_of(req.state, invoice)}


@controls.route("POST", "/_emulator/refunds/{refund_id}/fail")
def fail_refund(req: Request, refund_id: str) -> JSON:
    """The card network returns a refund (a closed or lost card): ``failure_reason``
    ``expired_or_canceled_card`` (default), ``lost_or_stolen_card`` or ``unknown``."""
    from .resources import refunds

    refund = req.state.find(refund_id)
    if refund is None or refund["object"] != "refund":
        raise no_such("refund", refund_id)
    reason = req.params.choice("failure_reason", refunds.FAILURE_REASONS)
    return public(refunds.fail_refund(req.state, refund, reason or "expired_or_canceled_card"))


# --- disputes ----------------------------------------------------------------------------


@controls.route("POST", "/_emulator/charges/{charge_id}/dispute")
def dispute_charge(req: Request, charge_id: str) -> JSON:
    """The buyer's bank charges back: ``reason``, optional ``amount`` (default: the whole
    unrefunded amount) and ``response_days`` (7 to 21, default 7) until ``due_by``."""
    from .resources import disputes

    charge = req.state.find(charge_id)
    if charge is None or charge["object"] != "charge":
        raise no_such("charge", charge_id)
    p = req.params
    dispute = disputes.open_dispute(
        req.state,
        charge,
        reason=p.choice("reason", disputes.REASONS, "general") or "general",
        amount=p.int("amount"),
        response_days=p.int("response_days", disputes.DEFAULT_RESPONSE_DAYS, minimum=7, maximum=21)
        or disputes.DEFAULT_RESPONSE_DAYS,
    )
    return public(dispute)


@controls.route("POST", "/_emulator/disputes/{dispute_id}/close")
def decide_dispute(req: Request, dispute_id: str) -> JSON:
    """The card issuer decides: ``outcome`` ``won`` (funds reinstated) or ``lost``."""
    from .resources import disputes

    dispute = req.state.find(dispute_id)
    if dispute is None or dispute["object"] != "dispute":
        raise no_such("dispute", dispute_id)
    outcome = req.params.choice("outcome", disputes.CLOSED, required=True)
    assert outcome is not None
    return public(disputes.close_dispute(req.state, dispute, outcome))


# --- payouts and account state in real life -----------------------------------------------


@controls.route("POST", "/_emulator/accounts/{account_id}/external_accounts")
def add_bank_account(req: Request, account_id: str) -> JSON:
    """The seller adds a bank account (as in the Express Dashboard): ``account_number``
    (Stripe's test numbers decide how payouts to it end; default succeeds), ``country``,
    ``currency`` (one the account's country can settle in, else Stripe's 400),
    ``default_for_currency`` (default true)."""
    account = _account(req, account_id)
    p = req.params
    country = (p.str("country") or account["country"]).upper()
    number = p.str("account_number") or external_accounts.SUCCESS_ACCOUNT_NUMBER
    currency = (p.str("currency") or accounts.default_currency(country)).lower()
    refused = currencies.unsettleable(account, currency, "currency")
    if refused is not None:
        raise refused  # as Stripe refuses it through the API
    bank = external_accounts.bank_account_object(
        req.state,
        account,
        account_number=number,
        country=country,
        currency=currency,
        routing_number=p.str("routing_number")
        or (external_accounts.TEST_ROUTING_NUMBER if country == "US" else None),
    )
    external_accounts.add_external_account(
        req.state, account, bank, make_default=p.bool("default_for_currency", True)
    )
    return public(bank)


@controls.route("POST", "/_emulator/accounts/{account_id}/balance_adjustments")
def balance_adjustment(req: Request, account_id: str) -> JSON:
    """A correction Stripe books on the account: an ``adjustment`` balance transaction of
    ``amount`` (may be negative) in ``currency`` (one it settles in), available at once. Handy
    for putting a balance exactly where a test wants it; refunds and disputes have their own
    paths."""
    account = _account(req, account_id)
    p = req.params
    amount = p.int("amount", required=True)
    assert amount is not None
    currency = (p.str("currency") or account["default_currency"]).lower()
    held = currencies.settlement_currencies(req.state, account["id"])
    if currency not in held:
        # Stripe books adjustments only where the account can hold a balance.
        raise invalid(
            f"{account['id']} cannot hold a {currency} balance (it settles in {', '.join(held)}).",
            "currency",
        )
    txn = balance.add_transaction(
        req.state,
        account["id"],
        amount=amount,
        currency=currency,
        type_="adjustment",
        source=None,
        description=p.str("description") or "Adjustment (emulator)",
    )
    req.state.touch()
    return public(txn)


# --- faults --------------------------------------------------------------------------------


def _seconds(value: str, param: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise invalid(f"Invalid number of seconds: {value}", param) from None
    if not 0 <= seconds <= 60:
        raise invalid("Delays are between 0 and 60 seconds.", param)
    return seconds


@controls.route("POST", "/_emulator/faults")
def add_fault(req: Request) -> JSON:
    """Fail the next ``count`` API requests, optionally only those under ``path`` (a prefix)
    and of one ``method``. Kinds:

    * ``500``: Stripe fails before doing anything; saved under the idempotency key, replayed;
    * ``500_after_write``: the work is done, then a 500 (saved and replayed the same way);
    * ``402``: a declined card; ``429``: rate limited; ``429_retry``: a lock timeout that
      Stripe says to retry;
    * ``slow``: ``delay`` seconds ``when`` ``before`` (default) or ``after`` the work;
    * ``drop``: the connection fails before the request arrives (nothing happens);
    * ``lost``: the work is done and saved, then the connection drops without an answer.
    """
    p = req.params
    kind = p.choice("kind", FAULT_KINDS, required=True)
    fault = {
        "kind": kind,
        "remaining": p.int("count", 1, minimum=1),
        "path": p.str("path"),
        "method": (p.str("method") or "").upper() or None,
        "delay": _seconds(p.str("delay") or "2", "delay"),
        "when": p.choice("when", ("before", "after"), "before"),
    }
    req.state.data["faults"].append(fault)
    req.state.touch()
    return {"faults": req.state.data["faults"]}


@controls.route("GET", "/_emulator/faults")
def list_faults(req: Request) -> JSON:
    return {"faults": req.state.data["faults"]}


@controls.route("DELETE", "/_emulator/faults")
def clear_faults(req: Request) -> JSON:
    req.state.data["faults"] = []
    req.state.touch()
    return {"faults": []}


# --- webhooks ------------------------------------------------------------------------------


def add_endpoint(state: Any, url: str, secret: str, connect: str = "all") -> JSON:
    endpoint = {
        "id": state.new_id("we"),
        "url": url,
        "secret": secret,
        "connect": connect,
        "enabled": True,
        "enabled_events": ["*"],
    }
    state.data["webhook_endpoints"].append(endpoint)
    state.touch()
    return endpoint


@controls.route("POST", "/_emulator/webhook_endpoints")
def create_endpoint(req: Request) -> JSON:
    """``connect``: ``true`` (Connect events only), ``false`` (platform only) or ``all``."""
    p = req.params
    url = p.str("url", required=True)
    secret = p.str("secret", required=True)
    connect = p.str("connect") or "all"
    if connect in ("True", "False"):
        connect = connect.lower()
    if connect not in ("true", "false", "all"):
        raise invalid("connect must be true, false or all", "connect")
    assert url is not None and secret is not None
    endpoint = add_endpoint(req.state, url, secret, connect)
    events = [str(e) for e in p.list("enabled_events")]
    if events:
        endpoint["enabled_events"] = events
    return endpoint


@controls.route("GET", "/_emulator/webhook_endpoints")
def list_endpoints(req: Request) -> JSON:
    return {"data": req.state.data["webhook_endpoints"]}


@controls.route("DELETE", "/_emulator/webhook_endpoints/{endpoint_id}")
def delete_endpoint(req: Request, endpoint_id: str) -> JSON:
    endpoints = req.state.data["webhook_endpoints"]
    req.state.data["webhook_endpoints"] = [e for e in endpoints if e["id"] != endpoint_id]
    req.state.data["deliveries"] = [
        d for d in req.state.data["deliveries"] if d["endpoint"] != endpoint_id
    ]
    req.state.touch()
    return {"id": endpoint_id, "deleted": True}


@controls.route("POST", "/_emulator/webhooks/settings")
def webhook_settings(req: Request) -> JSON:
    """``duplicate``, ``reorder``, ``paused`` (booleans); ``max_attempts``; backoff seconds."""
    from .webhooks import settings

    flags = settings(req.state)
    p = req.params
    for key in ("duplicate", "reorder", "paused"):
        value = p.bool(key)
        if value is not None:
            flags[key] = value
    max_attempts = p.int("max_attempts", minimum=1)
    if max_attempts is not None:
        flags["max_attempts"] = max_attempts
    for key in ("backoff_seconds", "max_backoff_seconds", "hold_seconds", "timeout_seconds"):
        if key in p:
            flags[key] = float(p.str(key) or 0)
    req.state.touch()
    return dict(flags)


@controls.route("POST", "/_emulator/webhooks/flush")
@unlocked
def flush(req: Request) -> JSON:
    deliverer = req.state.deliverer
    assert deliverer is not None, "a running emulator always has a webhook deliverer"
    return deliverer.flush()


@controls.route("GET", "/_emulator/webhooks/deliveries")
def deliveries(req: Request) -> JSON:
    return {"pending": req.state.data["deliveries"], "log": req.state.data["delivery_log"]}
