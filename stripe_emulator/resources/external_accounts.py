"""External accounts (bank accounts) of connected accounts: add, list, retrieve.

A bank account in another currency is what lets an account settle charges in that currency
(see ``currencies``). ``external_account`` may be a hash (``object=bank_account``,
``country``, ``currency``, ``account_number``, ``routing_number``, ...) or a test bank token
(``btok_...``, a US dollar account). The first bank account in a currency becomes the default
for it.
"""

from __future__ import annotations

from typing import Any

from ..errors import invalid, missing_param, no_such
from ..server import Request, api, paginate
from ..state import State, public
from .accounts import connected
from .currencies import require_supported

JSON = dict[str, Any]


def add_bank_account(
    state: State,
    account: JSON,
    *,
    country: str,
    currency: str,
    last4: str = "6789",
    routing_number: str | None = "110000000",
    holder_name: str | None = None,
    holder_type: str | None = None,
    metadata: dict[str, str] | None = None,
    default_for_currency: bool = False,
) -> JSON:
    """Attach a bank account to ``account`` and list it on the account object."""
    listed = account["external_accounts"]["data"]
    first_in_currency = not any(b.get("currency") == currency for b in listed)
    bank = {
        "id": state.new_id("ba"),
        "object": "bank_account",
        "account": account["id"],
        "account_holder_name": holder_name,
        "account_holder_type": holder_type,
        "account_type": None,
        "available_payout_methods": ["standard"],
        "bank_name": "STRIPE TEST BANK",
        "country": country,
        "currency": currency,
        "customer": None,
        "default_for_currency": first_in_currency or default_for_currency,
        "fingerprint": state.new_id("fp", 16)[3:],
        "future_requirements": {
            "currently_due": [],
            "errors": [],
            "past_due": [],
            "pending_verification": [],
        },
        "last4": last4,
        "metadata": metadata or {},
        "requirements": {
            "currently_due": [],
            "errors": [],
            "past_due": [],
            "pending_verification": [],
        },
        "routing_number": routing_number,
        "status": "new",
    }
    state.put(bank, account["id"])
    if bank["default_for_currency"]:
        for other in listed:
            if other.get("currency") == currency:
                other["default_for_currency"] = False
                stored = state.find(other["id"])
                if stored is not None:
                    stored["default_for_currency"] = False
    listed.append(public(bank))
    account["external_accounts"]["total_count"] = len(listed)
    state.touch()
    return bank


@api.route("POST", "/v1/accounts/{account_id}/external_accounts")
def create_external_account(req: Request, account_id: str) -> JSON:
    account = connected(req, account_id)
    p = req.params
    if "external_account" not in p:
        raise missing_param("external_account")
    token = p.str("external_account") if isinstance(p.raw("external_account"), str) else None
    if token is not None:
        if not token.startswith("btok_"):
            raise invalid(f"No such token: '{token}'", "external_account", "resource_missing")
        country, currency, last4, routing = "US", "usd", "6789", "110000000"
        holder_name = holder_type = None
    else:
        details = p.dict("external_account")
        assert details is not None
        if details.str("object") != "bank_account":
            raise invalid(
                "The emulator supports bank accounts only as external accounts.",
                "external_account[object]",
            )
        country = (details.str("country", required=True) or "").upper()
        currency = require_supported(
            details.str("currency") or account["default_currency"], "external_account[currency]"
        )
        number = details.str("account_number", required=True) or ""
        last4, routing = number[-4:], details.str("routing_number")
        holder_name = details.str("account_holder_name")
        holder_type = details.str("account_holder_type")
    bank = add_bank_account(
        req.state,
        account,
        country=country,
        currency=currency,
        last4=last4,
        routing_number=routing,
        holder_name=holder_name,
        holder_type=holder_type,
        metadata=p.metadata(),
        default_for_currency=bool(p.bool("default_for_currency", False)),
    )
    req.emit("account.external_account.created", bank, account["id"])
    return public(bank)


@api.route("GET", "/v1/accounts/{account_id}/external_accounts")
def list_external_accounts(req: Request, account_id: str) -> JSON:
    account = connected(req, account_id)
    kind = req.params.choice("object", ("bank_account", "card"))
    items = [b for b in req.state.all(account["id"], "bank_account") if kind in (None, b["object"])]
    return paginate(req, items, f"/v1/accounts/{account_id}/external_accounts")


@api.route("GET", "/v1/accounts/{account_id}/external_accounts/{bank_id}")
def retrieve_external_account(req: Request, account_id: str, bank_id: str) -> JSON:
    account = connected(req, account_id)
    bank = req.state.find(bank_id)
    if bank is None or req.state.owner_of(bank_id) != account["id"]:
        raise no_such("external account", bank_id)
    return public(bank)
