"""The ledger: balance transactions, balances per account and currency, fees and their
rounding, and the release of pending funds. Amounts are integers in the currency's minor unit;
fees use ``Decimal`` with half-up rounding, never floats.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ..errors import invalid, no_such
from ..params import in_range
from ..server import Request, api, paginate, paginate_scan
from ..state import State, public

JSON = dict[str, Any]

DAY = 86400
AVAILABLE_DELAY = 2 * DAY  # pending funds become available two days after the charge
IN_TRANSIT_AFTER = 3600  # a payout leaves the bank queue an hour after creation
ZERO_DECIMAL = {
    "bif",
    "clp",
    "djf",
    "gnf",
    "jpy",
    "kmf",
    "krw",
    "mga",
    "pyg",
    "rwf",
    "ugx",
    "vnd",
    "vuv",
    "xaf",
    "xof",
    "xpf",
}
APPLICATION_ID = "ca_emulatorPlatformApplication"

REPORTING_CATEGORY = {
    "charge": "charge",
    "payment": "charge",
    "application_fee": "platform_earning",
    "payout": "payout",
    "payout_failure": "payout_reversal",
    "payout_cancel": "payout_reversal",
    "transfer": "transfer",
    "refund": "refund",
    "refund_failure": "refund_failure",
    "adjustment": "other_adjustment",
    # Stripe's fees billed as their own transactions (e.g. processing fees the platform pays
    # for its connected accounts' direct charges) and application fees the platform returns.
    "stripe_fee": "fee",
    "application_fee_refund": "platform_earning_refund",
}


# Who pays each Stripe fee arising on a connected account, by the account's
# ``controller.fees.payer``: ``True`` when Stripe bills the platform, ``False`` when the
# account pays it (in the fee details of its own balance transaction). The one place this is
# decided; rows from Stripe's "Fee behavior on connected accounts" table
# (docs.stripe.com/connect/direct-charges-fee-payer-behavior, columns account / application /
# application_custom / application_express):
# * "Stripe payment processing fees": Connected Account / Platform / Connected Account /
#   Connected Account;
# * "Dispute fees": Connected Account / Platform / Connected Account / Connected Account. The
#   table is per fee payer; Stripe's dispute pages ("Disputes on Connect", and "Disputes for
#   connected accounts") add that the dispute fee goes with liability for losses: with
#   ``losses.payments=stripe`` the connected account is charged it even when the platform
#   pays its other fees. ``platform_pays`` applies both.
# * "Instant Payouts": Connected Account / Platform / Platform / Platform.
# A payer value the table does not know leaves the fee with the account.
PLATFORM_PAYS: dict[str, dict[str, bool]] = {
    "processing": {
        "account": False,
        "application": True,
        "application_express": False,
        "application_custom": False,
    },
    "dispute": {
        "account": False,
        "application": True,
        "application_express": False,
        "application_custom": False,
    },
    "instant_payout": {
        "account": False,
        "application": True,
        "application_express": True,
        "application_custom": True,
    },
}


def platform_pays(state: State, account_id: str, fee: str) -> bool:
    """Whether Stripe bills the platform, not ``account_id``, for a ``fee`` (a kind in
    ``PLATFORM_PAYS``) arising on that account. The platform's own fees are its own."""
    if account_id == state.platform:
        return False
    account = state.find(account_id) or {}
    controller = account.get("controller") or {}
    payer = (controller.get("fees") or {}).get("payer") or "account"
    if fee == "dispute" and (controller.get("losses") or {}).get("payments") != "application":
        return False
    return PLATFORM_PAYS[fee].get(payer, False)


def round_half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def stripe_fee(amount: int, currency: str) -> int:
    """Stripe's standard card pricing: 2.9 % + 30 (3.6 % flat for zero-decimal currencies)."""
    if currency.lower() in ZERO_DECIMAL:
        return round_half_up(Decimal(amount) * Decimal("0.036"))
    return round_half_up(Decimal(amount) * Decimal("0.029")) + 30


# --- ledger --------------------------------------------------------------------------------


def balances_of(state: State, account: str) -> dict[str, dict[str, int]]:
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
    exchange_rate: float | None = None,
    reporting_category: str | None = None,
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
        "exchange_rate": exchange_rate,
        "fee": fee,
        "fee_details": fee_details,
        "net": amount - fee,
        "reporting_category": reporting_category
        or REPORTING_CATEGORY.get(type_, "other_adjustment"),
        "source": source,
        "status": status,
        "type": type_,
        "_payout": None,
    }
    state.put(txn, account)
    bucket = balances_of(state, account).setdefault(currency, {"available": 0, "pending": 0})
    bucket[status] += txn["net"]
    if status == "pending":
        state.data.setdefault("pending_txns", []).append(txn["id"])
        due = state.data.get("pending_due_at")
        if due is not None:
            state.data["pending_due_at"] = min(due, txn["available_on"])
    return txn


def release_pending(state: State, now: int) -> None:
    """Pending funds whose ``available_on`` has come become available (``balance.available``)."""
    pending = state.data.setdefault("pending_txns", [])
    if not pending:
        return
    # Every request ticks the clock: look at the pending list only once the earliest of its
    # ``available_on`` has come (kept in ``pending_due_at``; absent means "not known yet").
    due = state.data.get("pending_due_at")
    if due is not None and now < due:
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
            bucket = balances_of(state, owner)[txn["currency"]]
            bucket["pending"] -= txn["net"]
            bucket["available"] += txn["net"]
            txn["status"] = "available"
            released_for.add(owner)
        else:
            still.append(txn_id)
    state.data["pending_txns"] = still
    next_due = [state.data["objects"][txn_id]["available_on"] for txn_id in still]
    state.data["pending_due_at"] = min(next_due, default=None)
    for owner in sorted(released_for):
        balance = balance_object(state, owner)
        balance["id"] = f"bal_{owner}"
        state.emit("balance.available", balance, owner)
    if released_for:
        state.touch()


def balance_object(state: State, account: str) -> JSON:
    balances = balances_of(state, account)
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
            _instant_available(state, account, c, b) for c, b in sorted(balances.items())
        ],
        "issuing": {"available": []},
        "livemode": False,
        "pending": pending,
        "refund_and_dispute_prefunding": {"available": [], "pending": []},
    }


def _instant_available(state: State, account: str, currency: str, bucket: JSON) -> JSON:
    # What Instant Payouts offer depends on the account's payout destinations (payouts.py).
    from .payouts import instant_available

    return instant_available(state, account, currency, bucket)


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
    found: JSON = {}
    if payout:
        found = req.state.find(payout) or {}
        if not found or req.state.owner_of(payout) != req.owner:
            raise no_such("payout", payout, "payout")
        if not found["automatic"]:
            raise invalid(
                "Balance transaction history can only be filtered on automatic transfers, "
                "not manual.",
                "payout",
            )

    def keep(t: JSON) -> bool:
        return (
            (type_ is None or t["type"] == type_)
            and (payout is None or t["_payout"] == payout)
            and (currency is None or t["currency"] == currency)
            and (source is None or t["source"] == source)
            and in_range(t["created"], created)
        )

    if payout and found.get("_swept") is not None:
        # A payout knows what it swept: its listing never reads the rest of the ledger.
        swept = [req.state.find(txn_id) for txn_id in found["_swept"]]
        return paginate(req, [t for t in swept if t and keep(t)], "/v1/balance_transactions")
    return paginate_scan(req, "balance_transaction", "/v1/balance_transactions", keep)


@api.route("GET", "/v1/balance_transactions/{txn_id}")
def retrieve_balance_transaction(req: Request, txn_id: str) -> JSON:
    return public(req.state.get(txn_id, req.owner, "balance_transaction"))
