"""Disputes (chargebacks) on direct charges, as Stripe plays them on a connected account.

How the money moves, after Stripe's "Disputes on Connect", "Fee behavior on connected accounts"
and its dispute pricing (June 2025 update):

* A chargeback withdraws the disputed amount from the balance of the account the charge lives
  on (the connected account, for a direct charge), at once and into ``available``, which may go
  below zero. It is one balance transaction: type ``adjustment``, reporting category
  ``dispute``, source the dispute, description "Chargeback withdrawal for ch_...". It is booked
  in the currency the charge settled in, converted at the charge's rate (``exchange_rate``)
  when the charge was presented in another one; the dispute itself keeps the charge's
  presentment ``amount``/``currency``.
* The dispute ("received") fee, priced in that settlement currency, goes in the withdrawal's
  ``fee_details`` (``stripe_fee``, "Dispute fee") when the connected account pays it. Who pays
  is ``balance.PLATFORM_PAYS["dispute"]``: the platform for ``controller.fees.payer`` =
  ``application``; the withdrawal then carries no fee and the platform is billed the fee in its
  own currency (``currencies.bill_platform``). ``application_express`` /
  ``application_custom`` payers leave the fee with the connected account.
* A won dispute reinstates exactly what was withdrawn (same currency, amount and rate) with a
  second ``adjustment`` (``dispute_reversal``). The received fee is not returned (since June
  2025 only the separate "dispute countered" fee is, which the emulator does not charge).
  Lost disputes reinstate nothing; neither does accepting one (``POST /v1/disputes/{id}/close``)
  or letting ``evidence_details.due_by`` pass without submitting evidence.
* Only chargebacks are emulated (``needs_response`` → ``under_review`` → ``won``/``lost``), not
  inquiries (``warning_*``). A chargeback's charge is no longer refundable
  (``is_charge_refundable: false``); the charge itself only gets ``disputed: true`` (API
  versions since 2019 have no ``charge.dispute`` field: expand ``charge`` on the dispute instead).
"""

from __future__ import annotations

from typing import Any

from ..errors import StripeError, invalid, state_error
from ..params import Params, merge_metadata
from ..server import Request, api, list_matching
from ..state import State, public
from .balance import DAY, add_transaction, platform_pays
from .currencies import bill_platform, convert, wire_rate

JSON = dict[str, Any]

# The dispute (received) fee per settlement currency, in minor units. Stripe's pricing pages
# list 15.00 USD; other currencies follow its local price lists (realistic, not authoritative).
DISPUTE_FEES = {"usd": 1500, "cad": 1500, "eur": 2000, "gbp": 2000, "jpy": 1500}
DEFAULT_DISPUTE_FEE = 1500
# Networks give 7 to 21 days to respond; Stripe's deadline is the end of that (UTC) day.
DEFAULT_RESPONSE_DAYS = 7
REASONS = (
    "bank_cannot_process",
    "check_returned",
    "credit_not_processed",
    "customer_initiated",
    "debit_not_authorized",
    "duplicate",
    "fraudulent",
    "general",
    "incorrect_account_details",
    "insufficient_funds",
    "noncompliant",
    "product_not_received",
    "product_unacceptable",
    "subscription_canceled",
    "unrecognized",
)
# Visa reason codes for the common reasons (the charges here are Visa test cards).
VISA_REASON_CODES = {
    "fraudulent": "10.4",
    "unrecognized": "10.4",
    "duplicate": "12.6.1",
    "product_not_received": "13.1",
    "subscription_canceled": "13.2",
    "product_unacceptable": "13.3",
    "credit_not_processed": "13.6",
}
TEXT_EVIDENCE = (
    "access_activity_log",
    "billing_address",
    "cancellation_policy_disclosure",
    "cancellation_rebuttal",
    "customer_email_address",
    "customer_name",
    "customer_purchase_ip",
    "duplicate_charge_explanation",
    "duplicate_charge_id",
    "product_description",
    "refund_policy_disclosure",
    "refund_refusal_explanation",
    "service_date",
    "shipping_address",
    "shipping_carrier",
    "shipping_date",
    "shipping_tracking_number",
    "uncategorized_text",
)
# File-upload ids; the emulator has no Files API, so any string is taken as one.
FILE_EVIDENCE = (
    "cancellation_policy",
    "customer_communication",
    "customer_signature",
    "duplicate_charge_documentation",
    "receipt",
    "refund_policy",
    "service_documentation",
    "shipping_documentation",
    "uncategorized_file",
)
EVIDENCE_FIELDS = tuple(sorted(TEXT_EVIDENCE + FILE_EVIDENCE))
CLOSED = ("won", "lost")


def dispute_fee(currency: str) -> int:
    return DISPUTE_FEES.get(currency.lower(), DEFAULT_DISPUTE_FEE)


def end_of_day(moment: int) -> int:
    return moment - moment % DAY + DAY - 1


def _dispute_object(
    state: State, charge: JSON, amount: int, reason: str, due_by: int, reason_code: str | None
) -> JSON:
    card = (charge.get("payment_method_details") or {}).get("card") or {}
    network = card.get("network") or "visa"
    return {
        "id": state.new_id("du"),
        "object": "dispute",
        "amount": amount,
        "balance_transactions": [],
        "charge": charge["id"],
        "created": state.now(),
        "currency": charge["currency"],
        "enhanced_eligibility_types": [],
        # Stripe fills the enhanced-evidence hashes only for eligible disputes.
        "evidence": {**dict.fromkeys(EVIDENCE_FIELDS), "appeal": None, "enhanced_evidence": {}},
        "evidence_details": {
            "due_by": due_by,
            "enhanced_eligibility": {},
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
            "submission_method": "not_submitted",
        },
        "intended_submission_method": None,
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "network_reason_code": reason_code,
        "payment_intent": charge.get("payment_intent"),
        "payment_method_details": {
            "card": {
                "brand": card.get("brand") or network,
                "case_type": "chargeback",
                "network": network,
                "network_reason_code": reason_code,
            },
            "type": "card",
        },
        "reason": reason,
        "status": "needs_response",
    }


def open_dispute(
    state: State,
    charge: JSON,
    *,
    reason: str = "general",
    amount: int | None = None,
    response_days: int = DEFAULT_RESPONSE_DAYS,
) -> JSON:
    """The cardholder's bank charges ``charge`` back: dispute, withdrawal, fee, events."""
    owner = state.owner_of(charge["id"])
    assert owner is not None
    if charge.get("_dispute"):
        raise invalid(f"Charge {charge['id']} has already been disputed.", "charge")
    refundable = charge["amount"] - charge.get("amount_refunded", 0)
    if refundable <= 0:
        raise invalid(f"Charge {charge['id']} has been fully refunded.", "charge")
    amount = refundable if amount is None else amount
    if not 0 < amount <= refundable:
        raise invalid(
            f"The disputed amount must be between 1 and {refundable} (the charge's unrefunded "
            "amount).",
            "amount",
        )
    presented = charge["currency"]
    # The money goes back out the way it came in: in the currency the charge settled in.
    settled_in = charge.get("_settlement_currency") or presented
    due_by = end_of_day(state.now() + response_days * DAY)
    reason_code = VISA_REASON_CODES.get(reason)
    dispute = _dispute_object(state, charge, amount, reason, due_by, reason_code)
    fee = dispute_fee(settled_in)
    platform_billed = platform_pays(state, owner, "dispute")
    fee_details = [
        {
            "amount": fee,
            "application": None,
            "currency": settled_in,
            "description": "Dispute fee",
            "type": "stripe_fee",
        }
    ]
    withdrawal = add_transaction(
        state,
        owner,
        amount=-convert(amount, presented, settled_in),
        currency=settled_in,
        type_="adjustment",
        source=dispute["id"],
        description=f"Chargeback withdrawal for {charge['id']}",
        fee_details=[] if platform_billed else fee_details,
        exchange_rate=wire_rate(presented, settled_in),
        reporting_category="dispute",
    )
    if platform_billed:
        bill_platform(state, fee, settled_in, f"Dispute fee for {dispute['id']} on {owner}")
    dispute["balance_transactions"].append(public(withdrawal))
    state.put(dispute, owner)
    charge["disputed"] = True
    charge["_dispute"] = dispute["id"]
    state.data.setdefault("open_disputes", []).append(dispute["id"])
    state.emit("charge.dispute.created", dispute, owner)
    state.emit("charge.dispute.funds_withdrawn", dispute, owner)
    state.touch()
    return dispute


def close_dispute(state: State, dispute: JSON, outcome: str, request_id: str | None = None) -> JSON:
    """The bank decides (``won``/``lost``), or the seller accepts or misses the deadline."""
    if dispute["status"] in CLOSED:
        raise state_error(f"Dispute {dispute['id']} is already closed ({dispute['status']}).")
    owner = state.owner_of(dispute["id"])
    assert owner is not None
    dispute["status"] = outcome
    if dispute["id"] in state.data.get("open_disputes", []):
        state.data["open_disputes"].remove(dispute["id"])
    state.emit("charge.dispute.closed", dispute, owner, request_id=request_id)
    if outcome == "won":
        # Exactly what the chargeback withdrew comes back: same currency, amount and rate.
        withdrawal = state.find(dispute["balance_transactions"][0]["id"])
        assert withdrawal is not None
        reinstated = add_transaction(
            state,
            owner,
            amount=-withdrawal["amount"],
            currency=withdrawal["currency"],
            type_="adjustment",
            source=dispute["id"],
            description=f"Chargeback reversal for {dispute['charge']}",
            exchange_rate=withdrawal["exchange_rate"],
            reporting_category="dispute_reversal",
        )
        dispute["balance_transactions"].append(public(reinstated))
        state.emit("charge.dispute.funds_reinstated", dispute, owner, request_id=request_id)
    state.touch()
    return dispute


def expire_disputes(state: State, now: int) -> None:
    """A chargeback nobody answered by ``due_by`` is lost."""
    for dispute_id in list(state.data.get("open_disputes", [])):
        dispute = state.find(dispute_id)
        if dispute is None:
            state.data["open_disputes"].remove(dispute_id)
        elif dispute["status"] == "needs_response" and now > dispute["evidence_details"]["due_by"]:
            close_dispute(state, dispute, "lost")


def next_due(state: State) -> int | None:
    moments = []
    for dispute_id in state.data.get("open_disputes", []):
        dispute = state.find(dispute_id)
        if dispute is not None and dispute["status"] == "needs_response":
            moments.append(dispute["evidence_details"]["due_by"] + 1)
    return min(moments) if moments else None


def refund_refusal(state: State, charge: JSON) -> StripeError | None:
    """What Stripe answers to a refund of a charged-back charge: the disputed money is already
    gone, so refunding it too would take it from the seller twice."""
    dispute = state.find(charge.get("_dispute") or "")
    if dispute is None or dispute["is_charge_refundable"]:
        return None
    return invalid(
        f"Charge {charge['id']} has been charged back; cannot issue a refund.",
        "charge",
        "charge_disputed",
    )


# --- the API -------------------------------------------------------------------------------


@api.route("GET", "/v1/disputes")
def list_disputes(req: Request) -> JSON:
    return list_matching(
        req, "dispute", "/v1/disputes", equal=("charge", "payment_intent"), ranges=("created",)
    )


@api.route("GET", "/v1/disputes/{dispute_id}")
def retrieve_dispute(req: Request, dispute_id: str) -> JSON:
    return public(req.state.get(dispute_id, req.owner, "dispute"))


def _staged_evidence(evidence: Params) -> JSON:
    changes: JSON = {}
    for name in evidence.data:
        if name in ("enhanced_evidence", "appeal"):
            changes[name] = evidence.raw(name) or {}
        elif name in EVIDENCE_FIELDS:
            changes[name] = evidence.str(name)  # "" unsets the field
        else:
            raise invalid(f"Received unknown parameter: evidence[{name}]", f"evidence[{name}]")
    return changes


@api.route("POST", "/v1/disputes/{dispute_id}")
def update_dispute(req: Request, dispute_id: str) -> JSON:
    dispute = req.state.get(dispute_id, req.owner, "dispute")
    p = req.params
    evidence = p.dict("evidence")
    submit = p.bool("submit")
    method = p.choice(
        "intended_submission_method",
        ("manual", "prefer_manual", "prefer_smart_disputes", "smart_disputes"),
    )
    # ``submit`` defaults to true, but a metadata-only update submits nothing.
    submitting = submit is True or (evidence is not None and submit is not False)
    touches_case = evidence is not None or submitting or method is not None
    if touches_case and dispute["status"] in CLOSED:
        raise state_error(
            f"This dispute is already closed ({dispute['status']}); its evidence can no longer "
            "be updated."
        )
    if touches_case and dispute["status"] == "under_review":
        raise state_error(
            "Evidence for this dispute has already been submitted and can no longer be updated."
        )
    before = public(dispute)
    if evidence is not None:
        dispute["evidence"] = {**dispute["evidence"], **_staged_evidence(evidence)}
    if method is not None:
        dispute["intended_submission_method"] = method
    dispute["metadata"] = merge_metadata(dispute["metadata"], p.metadata())
    details = dispute["evidence_details"]
    details["has_evidence"] = any(dispute["evidence"].get(f) for f in EVIDENCE_FIELDS)
    if submitting:
        details["submission_count"] += 1
        details["submission_method"] = "manual"
        details["past_due"] = req.now > details["due_by"]
        dispute["status"] = "under_review"
    req.emit_changes("charge.dispute.updated", dispute, before)
    return public(dispute)


@api.route("POST", "/v1/disputes/{dispute_id}/close")
def accept_dispute(req: Request, dispute_id: str) -> JSON:
    """Accepting a dispute: the seller gives up and the dispute is lost."""
    dispute = req.state.get(dispute_id, req.owner, "dispute")
    if dispute["status"] in CLOSED:
        raise state_error(f"This dispute is already closed ({dispute['status']}).")
    if dispute["status"] != "needs_response":
        raise state_error(
            "Evidence for this dispute has already been submitted; it can no longer be closed."
        )
    close_dispute(req.state, dispute, "lost", req.request_id)
    return public(dispute)
