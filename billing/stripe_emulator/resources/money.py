"""Money: the ledger (balance transactions and balances), charges with a realistic processing
fee, application fees, payouts on an automatic daily schedule, and their time-driven lifecycle.

Amounts are integers in the currency's minor unit throughout; fees use ``Decimal`` with
half-up rounding, never floats.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ..errors import invalid, no_such, state_error
from ..params import in_range
from ..server import Request, api, paginate
from ..state import State, diff, public
from .accounts import platform_account

JSON = dict[str, Any]
DAY = 86400
AVAILABLE_DELAY = 2 * DAY  # pending funds become available two days after the charge
IN_TRANSIT_AFTER = 3600  # a payout leaves the bank queue an hour after creation
ZERO_DECIMAL = {
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga",
    "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf",
}  # fmt: skip
APPLICATION_ID = "ca_emulatorPlatformApplication"

REPORTING_CATEGORY = {
    "charge": "charge",
    "payment": "charge",
    "application_fee": "platform_earning",
    "payout": "payout",
    "payout_failure": "payout_reversal",
    "transfer": "transfer",
    "refund": "refund",
    "adjustment": "other_adjustment",
}


def round_half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def stripe_fee(amount: int, currency: str) -> int:
    """Stripe's standard card pricing: 2.9 % + 30 (3.6 % flat for zero-decimal currencies)."""
    if currency.lower() in ZERO_DECIMAL:
        return round_half_up(Decimal(amount) * Decimal("0.036"))
    return round_half_up(Decimal(amount) * Decimal("0.029")) + 30


# --- ledger --------------------------------------------------------------------------------


def _balances(state: State, account: str) -> dict[str, dict[str, int]]:
    return state.data.setdefault("balances", {}).setdefault(account, {})


def add_transaction(
    state: State,
    account: str,
    *,
    amount: int,
    currency: str,
    type_: str,
    source: str | None,
    description: str | None = None,
    fee_details: list[JSON] | None = None,
    available_on: int | None = None,
) -> JSON:
    """Append a balance transaction and move the account's balance by its ``net``."""
    now = state.now()
    fee_details = fee_details or []
    fee = sum(f["amount"] for f in fee_details)
    available_on = now if available_on is None else available_on
    status = "available" if available_on <= now else "pending"
    txn = {
        "id": state.new_id("txn"),
        "object": "balance_transaction",
        "amount": amount,
        "available_on": available_on,
        "balance_type": "payments",
        "created": now,
        "currency": currency,
        "description": description,
        "exchange_rate": None,
        "fee": fee,
        "fee_details": fee_details,
        "net": amount - fee,
        "reporting_category": REPORTING_CATEGORY.get(type_, "other_adjustment"),
        "source": source,
        "status": status,
        "type": type_,
        "_payout": None,
    }
    state.put(txn, account)
    bucket = _balances(state, account).setdefault(currency, {"available": 0, "pending": 0})
    bucket[status] += txn["net"]
    if status == "pending":
        state.data.setdefault("pending_txns", []).append(txn["id"])
    return txn


def release_pending(state: State, now: int) -> None:
    """Pending funds whose ``available_on`` has come become available (``balance.available``)."""
    pending = state.data.setdefault("pending_txns", [])
    if not pending:
        return
    released_for: set[str] = set()
    still = []
    for txn_id in pending:
        txn = state.find(txn_id)
        if txn is None:
            continue
        if txn["available_on"] <= now:
            owner = state.owner_of(txn_id)
            assert owner is not None
            bucket = _balances(state, owner)[txn["currency"]]
            bucket["pending"] -= txn["net"]
            bucket["available"] += txn["net"]
            txn["status"] = "available"
            released_for.add(owner)
        else:
            still.append(txn_id)
    state.data["pending_txns"] = still
    for owner in sorted(released_for):
        balance = balance_object(state, owner)
        balance["id"] = f"bal_{owner}"
        state.emit("balance.available", balance, owner)
    state.touch()


def balance_object(state: State, account: str) -> JSON:
    balances = _balances(state, account)
    if not balances:
        obj = state.find(account) or {}
        balances = {obj.get("default_currency", "usd"): {"available": 0, "pending": 0}}
    available = [
        {"amount": b["available"], "currency": c, "source_types": {"card": b["available"]}}
        for c, b in sorted(balances.items())
    ]
    pending = [
        {"amount": b["pending"], "currency": c, "source_types": {"card": b["pending"]}}
        for c, b in sorted(balances.items())
    ]
    is_platform = account == state.platform
    return {
        "object": "balance",
        "available": available,
        "connect_reserved": [
            {"amount": 0, "currency": c, "source_types": {"card": 0}} for c in sorted(balances)
        ]
        if is_platform
        else [],
        "instant_available": [
            {"amount": 0, "currency": c, "net_available": [], "source_types": {"card": 0}}
            for c in sorted(balances)
        ],
        "issuing": {"available": []},
        "livemode": False,
        "pending": pending,
        "refund_and_dispute_prefunding": {"available": [], "pending": []},
    }


@api.route("GET", "/v1/balance")
def retrieve_balance(req: Request) -> JSON:
    return balance_object(req.state, req.owner)


@api.route("GET", "/v1/balance_transactions")
def list_balance_transactions(req: Request) -> JSON:
    p = req.params
    type_ = p.str("type")
    payout = p.str("payout")
    currency = (p.str("currency") or "").lower() or None
    source = p.str("source")
    created = p.range("created")
    if payout:
        found = req.state.find(payout)
        if found is None or req.state.owner_of(payout) != req.owner:
            raise no_such("payout", payout, "payout")
        if not found["automatic"]:
            raise invalid(
                "Balance transaction history can only be filtered on automatic transfers, "
                "not manual.",
                "payout",
            )
    items = [
        t
        for t in req.state.all(req.owner, "balance_transaction")
        if (type_ is None or t["type"] == type_)
        and (payout is None or t["_payout"] == payout)
        and (currency is None or t["currency"] == currency)
        and (source is None or t["source"] == source)
        and in_range(t["created"], created)
    ]
    return paginate(req, items, "/v1/balance_transactions")


@api.route("GET", "/v1/balance_transactions/{txn_id}")
def retrieve_balance_transaction(req: Request, txn_id: str) -> JSON:
    return public(req.state.get(txn_id, req.owner, "balance_transaction"))


# --- charges and application fees ----------------------------------------------------------


def create_charge(
    state: State,
    account: str,
    *,
    amount: int,
    currency: str,
    customer: str | None,
    description: str | None,
    application_fee_amount: int | None,
    request_id: str | None = None,
) -> JSON:
    """A successful card charge on ``account`` (a direct charge when it is a connected one).

    The charge's balance transaction carries Stripe's processing fee and the platform's
    application fee as separate ``fee_details``; the platform books the application fee.
    """
    now = state.now()
    charge_id = state.new_id("ch")
    processing = stripe_fee(amount, currency)
    fee_details = [
        {
            "amount": processing,
            "application": None,
            "currency": currency,
            "description": "Stripe processing fees",
            "type": "stripe_fee",
        }
    ]
    fee_id = None
    if application_fee_amount:
        fee_id = state.new_id("fee")
        fee_details.append(
            {
                "amount": application_fee_amount,
                "application": APPLICATION_ID,
                "currency": currency,
                "description": "Application fee",
                "type": "application_fee",
            }
        )
    txn = add_transaction(
        state,
        account,
        amount=amount,
        currency=currency,
        type_="charge",
        source=charge_id,
        description=description,
        fee_details=fee_details,
        available_on=now + AVAILABLE_DELAY,
    )
    charge = charge_object(charge_id, now, amount, currency, customer, description)
    charge.update(
        {
            "application": APPLICATION_ID if fee_id else None,
            "application_fee": fee_id,
            "application_fee_amount": application_fee_amount,
            "balance_transaction": txn["id"],
        }
    )
    state.put(charge, account)
    state.emit("charge.succeeded", charge, account, request_id=request_id)
    if fee_id and application_fee_amount:
        platform = state.platform
        platform_account(state)
        fee_txn = add_transaction(
            state,
            platform,
            amount=application_fee_amount,
            currency=currency,
            type_="application_fee",
            source=fee_id,
            description=f"Application fee from {account}",
            available_on=now + AVAILABLE_DELAY,
        )
        fee = {
            "id": fee_id,
            "object": "application_fee",
            "account": account,
            "amount": application_fee_amount,
            "amount_refunded": 0,
            "application": APPLICATION_ID,
            "balance_transaction": fee_txn["id"],
            "charge": charge_id,
            "created": now,
            "currency": currency,
            "fee_source": {"charge": charge_id, "type": "charge"},
            "livemode": False,
            "originating_transaction": None,
            "refunded": False,
            "refunds": {
                "object": "list",
                "data": [],
                "has_more": False,
                "url": f"/v1/application_fees/{fee_id}/refunds",
            },
        }
        state.put(fee, platform)
        state.emit("application_fee.created", fee, platform, request_id=request_id)
    return charge


def charge_object(
    charge_id: str,
    now: int,
    amount: int,
    currency: str,
    customer: str | None,
    description: str | None,
) -> JSON:
    return {
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "authorization_code": "123456",
        "balance_transaction": None,
        "billing_details": {
            "address": {
                "city": None,
                "country": None,
                "line1": None,
                "line2": None,
                "postal_code": "42424",
                "state": None,
            },
            "email": None,
            "name": None,
            "phone": None,
            "tax_id": None,
        },
        "calculated_statement_descriptor": "STOREFRONT",
        "captured": True,
        "created": now,
        "currency": currency,
        "customer": customer,
        "description": description,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "level3": None,
        "livemode": False,
        "metadata": {},
        "on_behalf_of": None,
        "outcome": {
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "risk_score": 12,
            "rule": None,
            "seller_message": "Payment complete.",
            "type": "authorized",
        },
        "paid": True,
        "payment_intent": None,
        "payment_method": "pm_card_visa",
        "payment_method_details": {
            "card": {
                "amount_authorized": amount,
                "authorization_code": "123456",
                "brand": "visa",
                "capture_before": now + 7 * DAY,
                "description": "Visa Classic",
                "checks": {
                    "address_line1_check": None,
                    "address_postal_code_check": "pass",
                    "cvc_check": "pass",
                },
                "country": "US",
                "exp_month": 12,
                "exp_year": 2034,
                "extended_authorization": {"status": "disabled"},
                "fingerprint": "emulatorVisa4242",
                "funding": "credit",
                "iin": "424242",
                "incremental_authorization": {"status": "unavailable"},
                "installments": None,
                "issuer": "Stripe Test Bank",
                "last4": "4242",
                "mandate": None,
                "moto": None,
                "multicapture": {"status": "unavailable"},
                "network": "visa",
                "network_token": {"used": False},
                "network_transaction_id": "emulator0001",
                "overcapture": {"maximum_amount_capturable": amount, "status": "unavailable"},
                "regulated_status": "unregulated",
                "setup_credential_usage": None,
                "stored_credential_usage": None,
                "three_d_secure": None,
                "transaction_link_id": None,
                "wallet": None,
                "electronic_commerce_indicator": None,
            },
            "type": "card",
        },
        "presentment_details": None,
        "radar_options": {"session": None},
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": None,
        "refunded": False,
        "refunds": {
            "object": "list",
            "data": [],
            "has_more": False,
            "url": f"/v1/charges/{charge_id}/refunds",
        },
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "succeeded",
        "transfer": None,
        "transfer_data": None,
        "transfer_group": None,
    }


@api.route("GET", "/v1/charges")
def list_charges(req: Request) -> JSON:
    customer = req.params.str("customer")
    created = req.params.range("created")
    items = [
        c
        for c in req.state.all(req.owner, "charge")
        if (customer is None or c["customer"] == customer) and in_range(c["created"], created)
    ]
    return paginate(req, items, "/v1/charges")


@api.route("GET", "/v1/charges/{charge_id}")
def retrieve_charge(req: Request, charge_id: str) -> JSON:
    return public(req.state.get(charge_id, req.owner, "charge"))


@api.route("GET", "/v1/application_fees")
def list_application_fees(req: Request) -> JSON:
    charge = req.params.str("charge")
    created = req.params.range("created")
    items = [
        f
        for f in req.state.all(req.owner, "application_fee")
        if (charge is None or f["charge"] == charge) and in_range(f["created"], created)
    ]
    return paginate(req, items, "/v1/application_fees")


@api.route("GET", "/v1/application_fees/{fee_id}")
def retrieve_application_fee(req: Request, fee_id: str) -> JSON:
    return public(req.state.get(fee_id, req.owner, "application_fee"))


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
        for currency, bucket in sorted(_balances(state, account["id"]).items()):
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
    available = _balances(req.state, account["id"]).get(currency, {}).get("available", 0)
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
