"""Refunds of charges (Charges API), on direct charges with the ``Stripe-Account`` header.

What Stripe does, and so what happens here:

* The account that owns the charge pays the refund: a ``refund`` balance transaction with a
  negative amount, in the charge's settlement currency at the charge's rate. It hits the
  available balance at once; when that does not cover it the balance goes negative and later
  charges recover it (automatic payouts only pay out a positive balance).
* Stripe keeps its processing fee: the refund transaction has no fee and returns none.
* ``refund_application_fee=true`` also returns the application fee in proportion to the amount
  refunded (half-up; a refund that completes the charge returns all that is left of the fee),
  as an application fee refund (see ``application_fees.refund_fee``).
* The charge gets ``amount_refunded``, ``refunded`` (true once fully refunded) and its
  ``refunds`` list; events ``refund.created`` and ``charge.refunded`` (plus
  ``application_fee.refunded`` on the platform), and ``refund.updated`` /
  ``charge.refund.updated`` when a refund's metadata changes.
* Card refunds succeed at once, but may fail later (Stripe's test card 4000 0000 0000 5126; the
  control ``POST /_emulator/refunds/{id}/fail``): the refund turns ``failed`` with a
  ``failure_reason``, a ``refund_failure`` balance transaction gives the account the money back
  (``failure_balance_transaction``), the charge's ``amount_refunded`` drops by the refund and
  ``refunded`` is false again; events ``refund.failed``, ``refund.updated`` and
  ``charge.refund.updated``. A refunded application fee stays refunded.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..errors import invalid, no_such
from ..params import merge_metadata
from ..server import Request, api, embedded_list, list_matching
from ..state import State, diff, public
from .application_fees import refund_fee
from .balance import add_transaction, round_half_up
from .currencies import convert, format_amount, wire_rate
from .disputes import refund_refusal

JSON = dict[str, Any]
REASONS = ("duplicate", "fraudulent", "requested_by_customer")
FAILURE_REASONS = ("expired_or_canceled_card", "lost_or_stolen_card", "unknown")


def refunds_of(state: State, charge: JSON) -> list[JSON]:
    """The charge's refunds, newest first."""
    owner = state.owner_of(charge["id"]) or state.platform
    return [r for r in state.all(owner, "refund") if r["charge"] == charge["id"]]


def _refund_object(state: State, refund_id: str, charge: JSON, amount: int) -> JSON:
    return {
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "balance_transaction": None,
        "charge": charge["id"],
        "created": state.now(),
        "currency": charge["currency"],
        "customer": None,
        "customer_account": None,
        "description": None,
        "destination_details": {
            "card": {
                "reference": None,
                "reference_status": "pending",
                "reference_type": "acquirer_reference_number",
                "type": "refund",
            },
            "type": "card",
        },
        "failure_balance_transaction": None,
        "failure_reason": None,
        "instructions_email": None,
        "metadata": {},
        "next_action": None,
        "payment_intent": charge.get("payment_intent"),
        "payment_method": charge.get("payment_method"),
        "pending_reason": None,
        "presentment_details": None,
        "reason": None,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }


def proportional_fee(fee: JSON, charge: JSON, amount: int) -> int:
    """The part of the application fee that goes back with ``amount`` of the charge."""
    remaining = fee["amount"] - fee["amount_refunded"]
    if charge["amount_refunded"] >= charge["amount"]:
        return remaining  # the charge is now fully refunded: so is the fee
    share = round_half_up(Decimal(fee["amount"]) * amount / Decimal(charge["amount"]))
    return min(remaining, share)


def refund_charge(
    state: State,
    charge: JSON,
    amount: int,
    *,
    reason: str | None = None,
    metadata: dict[str, str] | None = None,
    refund_application_fee: bool = False,
    request_id: str | None = None,
) -> JSON:
    """Refund ``amount`` (in the charge's currency) of ``charge``; the caller validated it."""
    owner = state.owner_of(charge["id"])
    assert owner is not None
    refund_id = state.new_id("re")
    settle = charge.get("_settlement_currency") or charge["currency"]
    txn = add_transaction(
        state,
        owner,
        amount=-convert(amount, charge["currency"], settle),
        currency=settle,
        type_="refund",
        source=refund_id,
        description=f"REFUND FOR CHARGE ({charge['description'] or charge['id']})",
        exchange_rate=wire_rate(charge["currency"], settle),
    )
    refund = _refund_object(state, refund_id, charge, amount)
    refund.update({"balance_transaction": txn["id"], "reason": reason, "metadata": metadata or {}})
    state.put(refund, owner)
    before = public(charge)
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
    charge["refunds"] = embedded_list(
        refunds_of(state, charge), f"/v1/charges/{charge['id']}/refunds"
    )
    state.touch()
    state.emit("charge.refunded", charge, owner, diff(before, charge), request_id)
    state.emit("refund.created", refund, owner, request_id=request_id)
    if refund_application_fee and charge.get("application_fee"):
        fee = state.find(charge["application_fee"])
        if fee is not None:
            part = proportional_fee(fee, charge, amount)
            if part > 0:
                refund_fee(state, fee, part, request_id=request_id)
    return refund


def fail_refund(state: State, refund: JSON, failure_reason: str = "unknown") -> JSON:
    """The card network returns a refund that had succeeded: the money comes back."""
    if refund["status"] != "succeeded":
        raise invalid(
            f"Refund {refund['id']} is {refund['status']}; only a succeeded one can fail."
        )
    owner = state.owner_of(refund["id"])
    charge = state.find(refund["charge"])
    assert owner is not None and charge is not None
    booked = state.find(refund["balance_transaction"]) or {}
    failure = add_transaction(
        state,
        owner,
        amount=-booked.get("amount", -refund["amount"]),
        currency=booked.get("currency") or refund["currency"],
        type_="refund_failure",
        source=refund["id"],
        description=f"REFUND FAILURE FOR CHARGE ({charge['description'] or charge['id']})",
        exchange_rate=booked.get("exchange_rate"),
    )
    before = public(refund)
    refund.update(
        {
            "status": "failed",
            "failure_reason": failure_reason,
            "failure_balance_transaction": failure["id"],
        }
    )
    changed = diff(before, refund)
    charge["amount_refunded"] -= refund["amount"]
    charge["refunded"] = False
    charge["refunds"] = embedded_list(
        refunds_of(state, charge), f"/v1/charges/{charge['id']}/refunds"
    )
    state.touch()
    state.emit("refund.failed", refund, owner)
    state.emit("refund.updated", refund, owner, changed)
    state.emit("charge.refund.updated", refund, owner, changed)
    return refund


def _charge_for(req: Request) -> JSON:
    p = req.params
    charge_id = p.str("charge")
    intent = p.str("payment_intent")
    if charge_id:
        return req.state.get(charge_id, req.owner, "charge", "charge")
    if intent:
        # The emulator's charges come from invoices and the buyer-payment control, neither of
        # which makes a PaymentIntent; a charge that names one is still found by it.
        for charge in req.state.all(req.owner, "charge"):
            if charge.get("payment_intent") == intent:
                return charge
        raise no_such("payment_intent", intent, "payment_intent")
    raise invalid(
        "One of the following params should be provided for this request: payment_intent or charge."
    )


@api.route("POST", "/v1/refunds")
def create_refund(req: Request) -> JSON:
    p = req.params
    charge = _charge_for(req)
    amount = p.int("amount", minimum=1)
    reason = p.choice("reason", REASONS)
    with_fee = bool(p.bool("refund_application_fee", False))
    if p.bool("reverse_transfer"):
        raise invalid(
            f"Attempting to reverse_transfer on {charge['id']}, but it has no transfer.",
            "reverse_transfer",
        )
    refused = refund_refusal(req.state, charge)
    if refused is not None:
        raise refused
    currency = charge["currency"]
    remaining = charge["amount"] - charge["amount_refunded"]
    if remaining <= 0:
        raise invalid(
            f"Charge {charge['id']} has already been refunded.",
            code="charge_already_refunded",
        )
    if amount is None:
        amount = remaining
    if amount > remaining:
        whole = charge["amount_refunded"] == 0
        raise invalid(
            f"Refund amount ({format_amount(amount, currency)}) is greater than "
            + ("charge amount" if whole else "unrefunded amount on charge")
            + f" ({format_amount(remaining, currency)})",
            "amount",
            "amount_too_large",
        )
    if with_fee and not charge.get("application_fee"):
        raise invalid(
            f"Attempting to refund_application_fee on {charge['id']}, but it has no "
            "application fee",
            "refund_application_fee",
        )
    refund = refund_charge(
        req.state,
        charge,
        amount,
        reason=reason,
        metadata=p.metadata(),
        refund_application_fee=with_fee,
        request_id=req.request_id,
    )
    return public(refund)


@api.route("GET", "/v1/refunds")
def list_refunds(req: Request) -> JSON:
    return list_matching(
        req, "refund", "/v1/refunds", equal=("charge", "payment_intent"), ranges=("created",)
    )


@api.route("GET", "/v1/refunds/{refund_id}")
def retrieve_refund(req: Request, refund_id: str) -> JSON:
    return public(req.state.get(refund_id, req.owner, "refund"))


@api.route("POST", "/v1/refunds/{refund_id}")
def update_refund(req: Request, refund_id: str) -> JSON:
    refund = req.state.get(refund_id, req.owner, "refund")
    unknown = sorted(set(req.params.data) - {"metadata", "expand"})
    if unknown:
        raise invalid(f"Received unknown parameter: {unknown[0]}", unknown[0])
    before = public(refund)
    refund["metadata"] = merge_metadata(refund["metadata"], req.params.metadata())
    changed = diff(before, refund)
    if changed:
        req.state.touch()
        charge = req.state.find(refund["charge"])
        if charge is not None:
            # The charge's embedded list shows the refund as it is now.
            charge["refunds"] = embedded_list(
                refunds_of(req.state, charge), f"/v1/charges/{charge['id']}/refunds"
            )
        req.emit("refund.updated", refund, previous=changed)
        req.emit("charge.refund.updated", refund, previous=changed)
    return public(refund)
