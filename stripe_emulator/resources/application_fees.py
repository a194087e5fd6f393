"""Application fees: what the platform collects from a connected account's charges."""

from __future__ import annotations

from typing import Any

from ..errors import invalid, no_such
from ..params import merge_metadata
from ..server import Request, api, embedded_list, list_matching, paginate
from ..state import State, diff, public
from .balance import add_transaction
from .currencies import convert, format_amount, wire_rate

JSON = dict[str, Any]


@api.route("GET", "/v1/application_fees")
def list_application_fees(req: Request) -> JSON:
    return list_matching(
        req, "application_fee", "/v1/application_fees", equal=("charge",), ranges=("created",)
    )


@api.route("GET", "/v1/application_fees/{fee_id}")
def retrieve_application_fee(req: Request, fee_id: str) -> JSON:
    return public(req.state.get(fee_id, req.owner, "application_fee"))


# --- application fee refunds ---------------------------------------------------------------


def _fee_refunds(state: State, fee: JSON) -> list[JSON]:
    """The fee's refunds, newest first."""
    owner = state.owner_of(fee["id"]) or state.platform
    return [r for r in state.all(owner, "fee_refund") if r["fee"] == fee["id"]]


def refund_fee(
    state: State,
    fee: JSON,
    amount: int,
    *,
    metadata: dict[str, str] | None = None,
    request_id: str | None = None,
) -> JSON:
    """Give ``amount`` of ``fee`` back to the account it was taken from.

    The platform loses it (an ``application_fee_refund`` transaction with a negative amount,
    in the currency the fee was booked in) and the connected account gets it back (a positive
    ``application_fee_refund``, in the charge's settlement currency, reporting category
    ``fee``). Both move at once: a refund is never pending.
    """
    platform = state.owner_of(fee["id"]) or state.platform
    refund_id = state.new_id("fr")
    booked = state.find(fee["balance_transaction"]) or {}
    booked_in: str = booked.get("currency") or fee["currency"]
    platform_txn = add_transaction(
        state,
        platform,
        amount=-convert(amount, fee["currency"], booked_in),
        currency=booked_in,
        type_="application_fee_refund",
        source=refund_id,
        description=f"Application fee refund to {fee['account']}",
        exchange_rate=wire_rate(fee["currency"], booked_in),
    )
    charge = state.find(fee["charge"]) or {}
    settle = charge.get("_settlement_currency") or fee["currency"]
    add_transaction(
        state,
        fee["account"],
        amount=convert(amount, fee["currency"], settle),
        currency=settle,
        type_="application_fee_refund",
        source=refund_id,
        description="Application fee refund",
        exchange_rate=wire_rate(fee["currency"], settle),
        reporting_category="fee",
    )
    refund = {
        "id": refund_id,
        "object": "fee_refund",
        "amount": amount,
        "balance_transaction": platform_txn["id"],
        "created": state.now(),
        "currency": fee["currency"],
        "fee": fee["id"],
        "metadata": metadata or {},
    }
    state.put(refund, platform)
    before = public(fee)
    fee["amount_refunded"] += amount
    fee["refunded"] = fee["amount_refunded"] >= fee["amount"]
    fee["refunds"] = embedded_list(
        _fee_refunds(state, fee), f"/v1/application_fees/{fee['id']}/refunds"
    )
    state.emit("application_fee.refunded", fee, platform, diff(before, fee), request_id)
    return refund


def _fee(req: Request, fee_id: str) -> JSON:
    return req.state.get(fee_id, req.owner, "application_fee")


@api.route("POST", "/v1/application_fees/{fee_id}/refunds")
def create_fee_refund(req: Request, fee_id: str) -> JSON:
    fee = _fee(req, fee_id)
    remaining = fee["amount"] - fee["amount_refunded"]
    if remaining <= 0:
        raise invalid(f"Application fee {fee_id} has already been refunded.")
    amount = req.params.int("amount", remaining, minimum=1)
    assert amount is not None
    if amount > remaining:
        raise invalid(
            f"Refund amount ({format_amount(amount, fee['currency'])}) is greater than "
            f"unrefunded amount on fee ({format_amount(remaining, fee['currency'])})",
            "amount",
            "amount_too_large",
        )
    refund = refund_fee(
        req.state, fee, amount, metadata=req.params.metadata(), request_id=req.request_id
    )
    return public(refund)


@api.route("GET", "/v1/application_fees/{fee_id}/refunds")
def list_fee_refunds(req: Request, fee_id: str) -> JSON:
    fee = _fee(req, fee_id)
    return paginate(req, _fee_refunds(req.state, fee), f"/v1/application_fees/{fee_id}/refunds")


def _fee_refund(req: Request, fee_id: str, refund_id: str) -> JSON:
    fee = _fee(req, fee_id)
    refund = req.state.get(refund_id, req.owner, "fee_refund")
    if refund["fee"] != fee["id"]:
        raise no_such("fee refund", refund_id)
    return refund


@api.route("GET", "/v1/application_fees/{fee_id}/refunds/{refund_id}")
def retrieve_fee_refund(req: Request, fee_id: str, refund_id: str) -> JSON:
    return public(_fee_refund(req, fee_id, refund_id))


@api.route("POST", "/v1/application_fees/{fee_id}/refunds/{refund_id}")
def update_fee_refund(req: Request, fee_id: str, refund_id: str) -> JSON:
    refund = _fee_refund(req, fee_id, refund_id)
    before = public(refund)
    refund["metadata"] = merge_metadata(refund["metadata"], req.params.metadata())
    req.emit_changes("application_fee.refund.updated", refund, before)
    return public(refund)
