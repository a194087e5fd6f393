"""External accounts: the bank accounts and debit cards a connected account is paid out to.

Stripe's test numbers decide what happens to payouts sent to them (a payout to
``000111111116`` fails with ``no_account``, a card token ``..._instantPayoutUnsupported`` is
not eligible for Instant Payouts). A failed payout errors its destination; the account then
owes an ``external_account`` and cannot be paid out until a usable one is added. A bank account
or card in a currency the account's country cannot settle in is refused
(``currencies.COUNTRY_SETTLEMENT``): a US account cannot hold a EUR bank account.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import invalid, missing_param, no_such
from ..params import Params, merge_metadata
from ..server import Request, api, paginate
from ..state import State, public
from .accounts import (
    EUROZONE,
    UNUSABLE_EXTERNAL_STATUSES,
    account_change,
    connected,
    default_currency,
)
from .currencies import unsettleable

JSON = dict[str, Any]

TEST_ROUTING_NUMBER = "110000000"
SUCCESS_ACCOUNT_NUMBER = "000123456789"
# Stripe's test bank numbers and how a payout to them ends (US, UK sort code 108800, IBAN).
FAILING_BANK_NUMBERS = {
    "000111111116": "no_account",
    "000111111113": "account_closed",
    "000222222227": "insufficient_funds",
    "000333333335": "debit_not_authorized",
    "000444444440": "invalid_currency",
    "11111116": "no_account",
    "11111113": "account_closed",
    "22222227": "insufficient_funds",
    "33333335": "debit_not_authorized",
    "44444440": "invalid_currency",
    "DE62370400440532013001": "no_account",
    "DE89370400440532013002": "account_closed",
    "DE89370400440532013003": "insufficient_funds",
    "DE89370400440532013004": "debit_not_authorized",
    "DE89370400440532013005": "invalid_currency",
}
# A payout succeeds unless ``method`` is ``instant``: not eligible for Instant Payouts.
NOT_INSTANT_BANK_NUMBERS = {"000888888883"}
BANK_TOKENS = {
    "btok_us_verified": "000123456789",
    "btok_us_verified_noAccount": "000111111116",
    "btok_us_verified_accountClosed": "000111111113",
    "btok_us_verified_insufficientFunds": "000222222227",
    "btok_us_verified_debitNotAuthorized": "000333333335",
    "btok_us_verified_invalidCurrency": "000444444440",
}
# ``tok_visa_debit_us_transferSuccess`` and its siblings (Stripe's test debit card tokens).
CARD_TOKEN = re.compile(
    r"^tok_(visa|mastercard|discover)_debit(?:_([a-z]{2}))?"
    r"(?:_(transferSuccess|transferFail|instantPayoutUnsupported))?$"
)
CARD_LAST4 = {
    ("visa", "transferSuccess"): "5556",
    ("visa", "transferFail"): "5572",
    ("visa", "instantPayoutUnsupported"): "5555",
    ("mastercard", "transferSuccess"): "8210",
    ("discover", "transferSuccess"): "1113",
}
BRANDS = {"visa": "Visa", "mastercard": "MasterCard", "discover": "Discover"}
# Where Instant Payouts exist; to bank accounts only in the US, the UK and the EU (elsewhere
# they need a debit card).
INSTANT_COUNTRIES = {"US", "CA", "SG", "AU", "GB", "NZ", "NO", "SE", "DK", *EUROZONE}
INSTANT_BANK_COUNTRIES = {"US", "GB", *EUROZONE}
CARD_DETAILS_REFUSED = (
    "Requests made on behalf of a connected account must use card tokens from Stripe.js, "
    "but card details were directly provided."
)


def _requirements_hash() -> JSON:
    return {"currently_due": [], "errors": [], "past_due": [], "pending_verification": []}


def bank_account_object(
    state: State,
    account: JSON,
    *,
    account_number: str,
    country: str,
    currency: str,
    routing_number: str | None,
    holder_name: str | None = None,
    holder_type: str | None = None,
) -> JSON:
    instant = country in INSTANT_BANK_COUNTRIES and account_number not in NOT_INSTANT_BANK_NUMBERS
    return {
        "id": state.new_id("ba"),
        "object": "bank_account",
        "account": account["id"],
        "account_holder_name": holder_name,
        "account_holder_type": holder_type,
        "account_type": None,
        "available_payout_methods": ["standard", "instant"] if instant else ["standard"],
        "bank_name": "STRIPE TEST BANK",
        "country": country,
        "currency": currency,
        "customer": None,
        "default_for_currency": False,
        "fingerprint": state.new_id("fp", 16)[3:],
        "future_requirements": _requirements_hash(),
        "last4": account_number[-4:],
        "metadata": {},
        "requirements": _requirements_hash(),
        "routing_number": routing_number,
        "status": "new",
        "_failure": FAILING_BANK_NUMBERS.get(account_number),
    }


def card_object(state: State, account: JSON, token: str) -> JSON:
    match = CARD_TOKEN.match(token)
    assert match is not None
    brand, country, outcome = match.group(1), (match.group(2) or "us").upper(), match.group(3)
    outcome = outcome or "transferSuccess"
    instant = outcome != "instantPayoutUnsupported" and country in INSTANT_COUNTRIES
    return {
        "id": state.new_id("card"),
        "object": "card",
        "account": account["id"],
        "address_city": None,
        "address_country": None,
        "address_line1": None,
        "address_line1_check": None,
        "address_line2": None,
        "address_state": None,
        "address_zip": None,
        "address_zip_check": None,
        "allow_redisplay": None,
        "available_payout_methods": ["standard", "instant"] if instant else ["standard"],
        "brand": BRANDS[brand],
        "country": country,
        "currency": default_currency(country),
        "customer": None,
        "cvc_check": None,
        "default_for_currency": False,
        "description": None,
        "dynamic_last4": None,
        "exp_month": 12,
        "exp_year": 2034,
        "fingerprint": state.new_id("fp", 16)[3:],
        "funding": "debit",
        "iin": None,
        "issuer": None,
        "last4": CARD_LAST4.get((brand, outcome), "0000"),
        "metadata": {},
        "name": None,
        "networks": {"preferred": None},
        "regulated_status": "unregulated",
        "status": "new",
        "tokenization_method": None,
        "_failure": "could_not_process" if outcome == "transferFail" else None,
    }


# --- queries the payout side uses ---------------------------------------------------------


def external_accounts_of(state: State, account_id: str) -> list[JSON]:
    """The account's bank accounts and debit cards, newest first."""
    found = [
        obj
        for kind in ("bank_account", "card")
        for obj in state.all(account_id, kind)
        if obj.get("account") == account_id and not obj.get("_deleted")
    ]
    return sorted(found, key=lambda o: o["_seq"], reverse=True)


def usable(external: JSON) -> bool:
    return external["status"] not in UNUSABLE_EXTERNAL_STATUSES


def default_for(state: State, account: JSON, currency: str) -> JSON | None:
    """The default external account for ``currency``, if the account has one."""
    for external in external_accounts_of(state, account["id"]):
        if external["currency"] == currency and external["default_for_currency"]:
            return external
    return None


def instant_destinations(state: State, account: JSON, currency: str) -> list[JSON]:
    """External accounts in ``currency`` an Instant Payout can go to right now."""
    return [
        ea
        for ea in external_accounts_of(state, account["id"])
        if ea["currency"] == currency and usable(ea) and "instant" in ea["available_payout_methods"]
    ]


# --- changes -------------------------------------------------------------------------------


def sync_embedded(state: State, account: JSON) -> None:
    """Refresh the ``external_accounts`` list embedded in the account object."""
    items = external_accounts_of(state, account["id"])
    account["external_accounts"]["data"] = [public(ea) for ea in items[:10]]
    account["external_accounts"]["has_more"] = len(items) > 10
    account["external_accounts"]["total_count"] = len(items)


def refresh_external_requirement(state: State, account: JSON) -> None:
    """``external_account`` is owed while no usable default bank account or card exists."""
    reqs = account["requirements"]
    has_usable = any(
        ea["default_for_currency"] and usable(ea)
        for ea in external_accounts_of(state, account["id"])
    )
    if has_usable:
        for key in ("currently_due", "eventually_due", "past_due"):
            reqs[key] = [f for f in reqs[key] if f != "external_account"]
        account["_payouts_due"] = [
            f for f in account.get("_payouts_due") or [] if f != "external_account"
        ]
    elif account["details_submitted"]:
        for key in ("currently_due", "eventually_due"):
            reqs[key] = sorted({*reqs[key], "external_account"})


def attach(state: State, account: JSON, external: JSON, *, make_default: bool | None) -> JSON:
    """Store a new external account; it becomes the default for its currency when asked to or
    when it is the first in that currency (Stripe's rule). Emits only the external account's
    own events; the caller announces the account change."""
    same_currency = [
        ea
        for ea in external_accounts_of(state, account["id"])
        if ea["currency"] == external["currency"]
    ]
    state.put(external, account["id"])
    if make_default or not same_currency:
        for other in same_currency:
            if other["default_for_currency"]:
                before = {"default_for_currency": True}
                other["default_for_currency"] = False
                state.emit("account.external_account.updated", other, account["id"], before)
        external["default_for_currency"] = True
    state.emit("account.external_account.created", external, account["id"])
    sync_embedded(state, account)
    refresh_external_requirement(state, account)
    return external


def add_external_account(
    state: State,
    account: JSON,
    external: JSON,
    *,
    make_default: bool | None,
    request_id: str | None = None,
) -> JSON:
    with account_change(state, account, request_id):
        attach(state, account, external, make_default=make_default)
    return external


def ensure_payout_account(state: State, account: JSON, account_number: str | None = None) -> None:
    """What submitting onboarding does: the bank account entered there becomes the default
    unless a usable one already exists (a failed one is replaced)."""
    has_usable = any(
        ea["default_for_currency"] and usable(ea)
        for ea in external_accounts_of(state, account["id"])
    )
    if has_usable:
        return
    number = account_number or SUCCESS_ACCOUNT_NUMBER
    bank = bank_account_object(
        state,
        account,
        account_number=number,
        country=account["country"],
        currency=account["default_currency"],
        routing_number=TEST_ROUTING_NUMBER if account["country"] == "US" else None,
    )
    attach(state, account, bank, make_default=True)


def mark_errored(state: State, account: JSON, external: JSON) -> None:
    """A payout to ``external`` failed: Stripe errors it and stops scheduled payouts to it;
    without another usable one the account owes an ``external_account`` and payouts stop."""
    if external["status"] == "errored":
        return
    with account_change(state, account):
        before = {"status": external["status"]}
        external["status"] = "errored"
        state.emit("account.external_account.updated", external, account["id"], before)
        sync_embedded(state, account)
        refresh_external_requirement(state, account)


# --- API -----------------------------------------------------------------------------------


def _from_params(state: State, account: JSON, p: Params) -> JSON:
    """``external_account``: a test token or a bank account hash (card details are refused)."""
    raw = p.raw("external_account")
    if raw is None or raw == "":
        raise missing_param("external_account")
    if isinstance(raw, str):
        if raw in BANK_TOKENS:
            return bank_account_object(
                state,
                account,
                account_number=BANK_TOKENS[raw],
                country="US",
                currency="usd",
                routing_number=TEST_ROUTING_NUMBER,
            )
        if CARD_TOKEN.match(raw):
            return card_object(state, account, raw)
        raise no_such("token", raw, "external_account")
    given = p.dict("external_account")
    assert given is not None
    kind = given.str("object") or ("card" if "number" in given else "bank_account")
    if kind == "card":
        if "token" in given:
            token = given.str("token") or ""
            if not CARD_TOKEN.match(token):
                raise no_such("token", token, "external_account[token]")
            return card_object(state, account, token)
        raise invalid(CARD_DETAILS_REFUSED, "external_account")
    if kind != "bank_account":
        raise invalid(
            "Invalid external_account[object]: must be one of bank_account, card",
            "external_account[object]",
        )
    country = (given.str("country", required=True) or "").upper()
    number = given.str("account_number", required=True) or ""
    routing = given.str("routing_number")
    if country == "US" and not routing:
        raise missing_param("external_account[routing_number]")
    currency = (given.str("currency") or default_currency(country)).lower()
    holder_type = given.choice("account_holder_type", ("company", "individual"))
    return bank_account_object(
        state,
        account,
        account_number=number.replace(" ", ""),
        country=country,
        currency=currency,
        routing_number=routing,
        holder_name=given.str("account_holder_name"),
        holder_type=holder_type,
    )


def _external(req: Request, account: JSON, external_id: str) -> JSON:
    for external in external_accounts_of(req.state, account["id"]):
        if external["id"] == external_id:
            return external
    raise no_such("external account", external_id, "id")


@api.route("GET", "/v1/accounts/{account_id}/external_accounts")
def list_external_accounts(req: Request, account_id: str) -> JSON:
    account = connected(req, account_id)
    kind = req.params.choice("object", ("bank_account", "card"))
    items = [
        ea
        for ea in external_accounts_of(req.state, account["id"])
        if kind is None or ea["object"] == kind
    ]
    return paginate(req, items, f"/v1/accounts/{account_id}/external_accounts")


@api.route("POST", "/v1/accounts/{account_id}/external_accounts")
def create_external_account(req: Request, account_id: str) -> JSON:
    account = connected(req, account_id)
    p = req.params
    external = _from_params(req.state, account, p)
    # A hash may name its currency; a token carries the currency of what it stands for.
    raw = p.raw("external_account")
    named = isinstance(raw, dict) and "currency" in raw
    param = "external_account[currency]" if named else "external_account"
    refused = unsettleable(account, external["currency"], param)
    if refused is not None:
        raise refused
    external["metadata"] = p.metadata() or {}
    add_external_account(
        req.state,
        account,
        external,
        make_default=p.bool("default_for_currency"),
        request_id=req.request_id,
    )
    return public(external)


@api.route("GET", "/v1/accounts/{account_id}/external_accounts/{external_id}")
def retrieve_external_account(req: Request, account_id: str, external_id: str) -> JSON:
    return public(_external(req, connected(req, account_id), external_id))


@api.route("POST", "/v1/accounts/{account_id}/external_accounts/{external_id}")
def update_external_account(req: Request, account_id: str, external_id: str) -> JSON:
    account = connected(req, account_id)
    external = _external(req, account, external_id)
    if account["controller"].get("requirement_collection") != "application":
        # Stripe collects this account's payout details itself (Express, Standard).
        raise invalid(
            "You can only update external accounts of accounts whose "
            "`controller.requirement_collection` is `application`.",
            "external_account",
        )
    p = req.params
    with account_change(req.state, account, req.request_id):
        before = public(external)
        for key in ("account_holder_name", "name"):
            if key in p and key in external:
                external[key] = p.str(key)
        if "account_holder_type" in p and "account_holder_type" in external:
            external["account_holder_type"] = p.choice(
                "account_holder_type", ("company", "individual")
            )
        external["metadata"] = merge_metadata(external["metadata"], p.metadata())
        if p.bool("default_for_currency") and not external["default_for_currency"]:
            for other in external_accounts_of(req.state, account["id"]):
                if other["currency"] == external["currency"] and other["default_for_currency"]:
                    other["default_for_currency"] = False
                    req.state.emit(
                        "account.external_account.updated",
                        other,
                        account["id"],
                        {"default_for_currency": True},
                    )
            external["default_for_currency"] = True
        if external["status"] == "errored":
            # Stripe: an update call re-enables a disabled bank account.
            external["status"] = "new"
        changed = {k: v for k, v in before.items() if external.get(k) != v}
        if changed:
            req.emit("account.external_account.updated", external, account["id"], changed)
        sync_embedded(req.state, account)
        refresh_external_requirement(req.state, account)
    return public(external)


@api.route("DELETE", "/v1/accounts/{account_id}/external_accounts/{external_id}")
def delete_external_account(req: Request, account_id: str, external_id: str) -> JSON:
    account = connected(req, account_id)
    external = _external(req, account, external_id)
    if external["default_for_currency"] and external["currency"] == account["default_currency"]:
        raise invalid(
            "You cannot delete the default external account for your default currency. Please "
            "make another external account the default using the `default_for_currency` "
            "param, and then delete this one.",
            "external_account",
        )
    with account_change(req.state, account, req.request_id):
        external["_deleted"] = True
        req.emit("account.external_account.deleted", external, account["id"])
        sync_embedded(req.state, account)
        refresh_external_requirement(req.state, account)
    return {"id": external_id, "object": external["object"], "deleted": True}
