"""Connected accounts, their capabilities and requirements, and the onboarding state
machine the controls and hosted pages drive (links and sessions live in ``account_links``).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import invalid, missing_param, no_such
from ..params import Params, merge_metadata
from ..schema import Obj, schema
from ..server import Request, api, paginate
from ..state import State, public

JSON = dict[str, Any]

CAPABILITIES = ("card_payments", "transfers")
COUNTRY_CURRENCY = {
    "US": "usd",
    "GB": "gbp",
    "CA": "cad",
    "AU": "aud",
    "JP": "jpy",
    "CH": "chf",
    "SE": "sek",
    "DK": "dkk",
    "NO": "nok",
    "NZ": "nzd",
    "SG": "sgd",
}
# Countries where Stripe offers accounts (its global markets), ISO 3166-1 alpha-2. Our list;
# cross-border payout recipient countries are not modelled.
CONNECT_COUNTRIES = frozenset(
    """AE AT AU BE BG BR CA CH CY CZ DE DK EE ES FI FR GB GI GR HK HR HU IE IN IT JP LI LT LU
    LV MT MX MY NL NO NZ PL PT RO SE SG SI SK TH US""".split()  # noqa: SIM905
)
EUROZONE = {"AT", "BE", "DE", "ES", "FI", "FR", "IE", "IT", "LU", "NL", "PT"}
MINIMUM_DELAY_DAYS = 2  # standard payout delay for new accounts
ACCOUNT_LINK_TTL = 300  # Stripe's links expire after ~5 minutes.
ACCOUNT_SESSION_TTL = 1800
COMPONENTS: dict[str, dict[str, Any]] = {
    "account_management": {"external_account_collection": True},
    "account_onboarding": {"external_account_collection": True},
    "notification_banner": {"external_account_collection": True},
    "balances": {
        "edit_payout_schedule": None,
        "external_account_collection": True,
        "instant_payouts": None,
        "standard_payouts": None,
    },
    "payouts": {
        "edit_payout_schedule": None,
        "external_account_collection": True,
        "instant_payouts": None,
        "standard_payouts": None,
    },
    "payments": {
        "capture_payments": True,
        "destination_on_behalf_of_charge_management": False,
        "dispute_management": True,
        "refund_management": True,
    },
    "payment_details": {
        "capture_payments": True,
        "destination_on_behalf_of_charge_management": False,
        "dispute_management": True,
        "refund_management": True,
    },
    "disputes_list": {
        "capture_payments": True,
        "destination_on_behalf_of_charge_management": False,
        "dispute_management": True,
        "refund_management": True,
    },
    "payment_disputes": {
        "destination_on_behalf_of_charge_management": False,
        "dispute_management": True,
        "refund_management": True,
    },
    "documents": {},
    "tax_settings": {},
    "tax_registrations": {},
    "payouts_list": {},
    "payout_details": {},
    "balance_report": {},
    "payout_reconciliation_report": {},
    "reporting_chart": {},
    "financial_account": {},
    "financial_account_transactions": {},
    "instant_payouts_promotion": {},
    "issuing_card": {},
    "issuing_cards_list": {},
    "payment_method_settings": {},
    "terminal_hardware_orders": {},
    "terminal_hardware_shop": {},
}

BASE_DUE = [
    "business_profile.mcc",
    "business_profile.url",
    "external_account",
    "tos_acceptance.date",
    "tos_acceptance.ip",
]
PERSON_DUE = [
    "address.city",
    "address.line1",
    "address.postal_code",
    "dob.day",
    "dob.month",
    "dob.year",
    "email",
    "first_name",
    "last_name",
    "phone",
]
# What "save and finish later" on the hosted page leaves outstanding.
PARTIAL_DUE = ["external_account", "tos_acceptance.date", "tos_acceptance.ip"]
VERIFICATION_DUE = ["individual.verification.document"]


def initial_due(business_type: str | None, account: JSON) -> list[str]:
    if business_type == "company":
        fields = [
            *BASE_DUE,
            "company.address.city",
            "company.address.line1",
            "company.name",
            "company.tax_id",
            *(f"representative.{f}" for f in PERSON_DUE),
        ]
    elif business_type in ("individual", None):
        fields = [*BASE_DUE, *(f"individual.{f}" for f in PERSON_DUE)]
        if business_type is None:
            fields.append("business_type")
    else:
        fields = [*BASE_DUE, "company.name", "company.tax_id"]
    profile = account["business_profile"]
    prefilled = {
        "business_profile.url": profile.get("url"),
        "business_profile.mcc": profile.get("mcc"),
        "individual.email": account.get("email"),
        "company.name": profile.get("name") if business_type == "company" else None,
    }
    return sorted(f for f in fields if not prefilled.get(f))


def requirements(currently_due: list[str] | None = None, **overrides: Any) -> JSON:
    due = list(currently_due or [])
    value = {
        "alternatives": [],
        "current_deadline": None,
        "currently_due": due,
        "disabled_reason": None,
        "errors": [],
        "eventually_due": list(due),
        "past_due": [],
        "pending_verification": [],
    }
    value.update(overrides)
    return value


def default_currency(country: str) -> str:
    if country in EUROZONE:
        return "eur"
    return COUNTRY_CURRENCY.get(country, "usd")


def _settleable_default(account: JSON, currency: str) -> str:
    """``default_currency`` must be a currency Stripe supports in the account's country (the
    API reference's words); the same refusal as for a bank account in such a currency."""
    from .currencies import unsettleable  # currencies builds on this module

    refused = unsettleable(account, currency, "default_currency")
    if refused is not None:
        raise refused
    return currency.lower()


def _controller(params: Params, legacy_type: str | None) -> tuple[JSON, str]:
    """The account's ``controller`` hash and legacy ``type`` from the create params."""
    given = params.dict("controller")
    if legacy_type == "express" or given is None:
        dashboard, payer, losses, collection = (
            "express",
            "application_express",
            "application",
            ("stripe"),
        )
        if given is None and legacy_type in ("standard", None):
            dashboard, payer, losses = "full", "account", "stripe"
        if legacy_type == "custom":
            dashboard, payer, losses, collection = (
                "none",
                "application_custom",
                "application",
                "application",
            )
    else:
        dash = given.dict("stripe_dashboard")
        dashboard = (dash.choice("type", ("express", "full", "none")) if dash else None) or "full"
        fees = given.dict("fees")
        payer = (fees.choice("payer", ("account", "application")) if fees else None) or "account"
        loss = given.dict("losses")
        losses = (loss.choice("payments", ("application", "stripe")) if loss else None) or "stripe"
        collection = given.choice("requirement_collection", ("application", "stripe")) or "stripe"
        _check_controller(dashboard, payer, losses, collection)
    account_type = {"express": "express", "full": "standard", "none": "custom"}[dashboard]
    if legacy_type:
        account_type = legacy_type
    controller = {
        "fees": {"payer": payer},
        "is_controller": True,
        "losses": {"payments": losses},
        "requirement_collection": collection,
        "stripe_dashboard": {"type": dashboard},
        "type": "application",
    }
    return controller, account_type


def _check_controller(dashboard: str, payer: str, losses: str, collection: str) -> None:
    """The controller combinations Stripe refuses at API version 2026-10-28.endive.

    Express: the platform pays Stripe's fees and is liable for negative balances, and Stripe
    collects requirements. (Stripe-owned pricing and losses for Express arrive only with
    2026-11-18.endive; before that ``fees[payer]=account`` is blocked for Express and Stripe
    liability is a private preview.) Omitted fields take their defaults (account, stripe,
    stripe), so an Express controller must name the platform explicitly.
    """
    if dashboard == "express":
        rules = (
            ("controller[fees][payer]", payer, "application", "the application pays Stripe fees"),
            (
                "controller[losses][payments]",
                losses,
                "application",
                "the application is liable for negative balances",
            ),
            (
                "controller[requirement_collection]",
                collection,
                "stripe",
                "Stripe collects requirements",
            ),
        )
        for param, value, needed, why in rules:
            if value != needed:
                raise invalid(
                    f"When stripe_dashboard[type]=express, {why}: {param} must be {needed}, "
                    f"not {value}.",
                    param,
                )
    if losses == "application" and payer != "application":
        raise invalid(
            "controller[losses][payments]=application requires controller[fees][payer]=application.",
            "controller[losses][payments]",
        )
    if dashboard == "none" and collection == "stripe" and losses != "stripe":
        # Stripe's own wording for this rule.
        raise invalid(
            "When stripe_dashboard[type]=none and requirement_collection=stripe, Stripe must be "
            "liable for negative balances or refunds and chargebacks.",
            "controller[losses][payments]",
        )


def _address(params: Params | None) -> JSON:
    fields = ("city", "country", "line1", "line2", "postal_code", "state")
    return {f: (params.str(f) if params else None) for f in fields}


def _profile(params: Params | None, current: JSON | None = None) -> JSON:
    profile = current or {
        "annual_revenue": None,
        "estimated_worker_count": None,
        "mcc": None,
        "minority_owned_business_designation": None,
        "monthly_estimated_revenue": {"amount": 0, "currency": "usd"},
        "name": None,
        "product_description": None,
        "specified_commercial_transactions_act_url": None,
        "support_address": None,
        "support_email": None,
        "support_phone": None,
        "support_url": None,
        "url": None,
    }
    if params is not None:
        for key in (
            "mcc",
            "name",
            "product_description",
            "support_email",
            "support_phone",
            "support_url",
            "url",
        ):
            if key in params:
                profile[key] = params.str(key)
        if "support_address" in params:
            profile["support_address"] = _address(params.dict("support_address"))
    return profile


def platform_account(state: State) -> JSON:
    """The platform's own account object, created on first use."""
    existing = state.find(state.platform)
    if existing is not None:
        return existing
    account = _blank_account(state, state.platform, "US", "platform@example.com")
    account.update(
        {
            "type": "standard",
            "charges_enabled": True,
            "payouts_enabled": True,
            "details_submitted": True,
            "requirements": requirements(),
            "_platform": True,
        }
    )
    account["controller"] = {"is_controller": False, "type": "account"}
    account["capabilities"] = {"card_payments": "active", "transfers": "active"}
    return state.put(account, state.platform)


def _blank_account(state: State, account_id: str, country: str, email: str | None) -> JSON:
    currency = default_currency(country)
    return {
        "id": account_id,
        "object": "account",
        "business_profile": _profile(None),
        "business_type": None,
        "capabilities": {},
        "charges_enabled": False,
        "company": None,
        "controller": {},
        "country": country,
        "created": state.now(),
        "default_currency": currency,
        "details_submitted": False,
        "email": email,
        "external_accounts": {
            "object": "list",
            "data": [],
            "has_more": False,
            "total_count": 0,
            "url": f"/v1/accounts/{account_id}/external_accounts",
        },
        "future_requirements": requirements(),
        "groups": None,
        "individual": None,
        "metadata": {},
        "payouts_enabled": False,
        "requirements": requirements(),
        "settings": {
            "bacs_debit_payments": {"display_name": None, "service_user_number": None},
            "branding": {
                "icon": None,
                "logo": None,
                "primary_color": None,
                "secondary_color": None,
            },
            "card_issuing": {"tos_acceptance": {"date": None, "ip": None, "user_agent": None}},
            "card_payments": {
                "decline_on": {"avs_failure": False, "cvc_failure": False},
                "statement_descriptor_prefix": None,
                "statement_descriptor_prefix_kana": None,
                "statement_descriptor_prefix_kanji": None,
            },
            "dashboard": {"display_name": None, "timezone": "Etc/UTC"},
            "invoices": {"default_account_tax_ids": None, "hosted_payment_method_save": None},
            "payments": {
                "statement_descriptor": None,
                "statement_descriptor_kana": None,
                "statement_descriptor_kanji": None,
                "statement_descriptor_prefix_kana": None,
                "statement_descriptor_prefix_kanji": None,
            },
            "paypay_payments": None,
            "treasury": None,
            "payouts": {
                "debit_negative_balances": True,
                "schedule": {
                    "delay_days": MINIMUM_DELAY_DAYS,
                    "interval": "daily",
                    "monthly_anchor": None,
                    "monthly_payout_days": None,
                    "weekly_anchor": None,
                    "weekly_payout_days": None,
                },
                "statement_descriptor": None,
            },
            "sepa_debit_payments": {"creditor_id": None},
        },
        "tos_acceptance": {
            "date": None,
            "ip": None,
            "service_agreement": "full",
            "user_agent": None,
        },
        "type": "express",
        "_capabilities": {},
        "_onboarding_started": False,
        "_payouts_due": [],
    }


# --- accounts ------------------------------------------------------------------------------


def connected(req: Request, account_id: str, param: str = "account") -> JSON:
    """A connected account visible to this request (the platform sees all, an account itself)."""
    obj = req.state.find(account_id)
    if (
        obj is None
        or obj["object"] != "account"
        or obj.get("_platform")
        or obj.get("_deleted")
        or (not req.is_platform and account_id != req.owner)
    ):
        raise no_such("account", account_id, param)
    return obj


@api.route("POST", "/v1/accounts")
def create_account(req: Request) -> JSON:
    if not req.is_platform:
        raise invalid("Connected accounts cannot create accounts.", code="platform_api_key_expired")
    p = req.params
    legacy_type = p.choice("type", ("custom", "express", "standard"))
    if legacy_type and "controller" in p:
        raise invalid("You cannot pass both `type` and `controller`.", "type")
    controller, account_type = _controller(p, legacy_type)
    country = (p.str("country") or "US").upper()
    if country not in CONNECT_COUNTRIES:
        raise invalid(f"{country} is not currently supported by Stripe.", "country")
    account = _blank_account(req.state, req.state.new_id("acct", 16), country, p.str("email"))
    account["controller"] = controller
    account["type"] = account_type
    # Stripe's default: reclaim negative balances from the bank unless the platform collects
    # requirements itself (Custom-like accounts).
    account["settings"]["payouts"]["debit_negative_balances"] = (
        controller["requirement_collection"] != "application"
    )
    if default_currency := p.str("default_currency"):
        account["default_currency"] = _settleable_default(account, default_currency)
    business_type = p.choice(
        "business_type", ("company", "government_entity", "individual", "non_profit")
    )
    account["business_type"] = business_type
    account["business_profile"] = _profile(p.dict("business_profile"))
    account["metadata"] = p.metadata() or {}
    _apply_person_data(account, p)
    caps = p.dict("capabilities")
    # Any capability the API knows may be requested (the params check refused the others).
    requested = (
        [c for c in caps.data if (caps.dict(c) or Params({})).bool("requested")] if caps else []
    )
    if caps is None:
        # Stripe insists Express accounts request transfers; ask for the usual pair.
        requested = list(CAPABILITIES)
    now = req.now
    for name in requested:
        account["_capabilities"][name] = {"requested": True, "requested_at": now}
    due = initial_due(business_type, account)
    account["requirements"] = requirements(
        due, past_due=list(due), disabled_reason="requirements.past_due"
    )
    _sync_capabilities(account)
    req.state.put(account, req.state.platform)
    platform_account(req.state)
    return public(account)


def _apply_person_data(account: JSON, p: Params) -> None:
    for key in ("individual", "company"):
        data = p.dict(key)
        if data is not None:
            account[key] = {**(account.get(key) or {}), **copy.deepcopy(data.data)}


@api.route("GET", "/v1/accounts/{account_id}")
def retrieve_account(req: Request, account_id: str) -> JSON:
    if account_id == req.state.platform and req.is_platform:
        return public(platform_account(req.state))
    return public(connected(req, account_id, "account"))


@api.route("GET", "/v1/account")
def retrieve_own_account(req: Request) -> JSON:
    if req.is_platform:
        return public(platform_account(req.state))
    return public(connected(req, req.owner))


@api.route("POST", "/v1/accounts/{account_id}")
def update_account(req: Request, account_id: str) -> JSON:
    account = connected(req, account_id)
    before = public(account)
    p = req.params
    locked = account["_onboarding_started"] and (
        account["controller"].get("requirement_collection") != "application"
    )
    for key in ("business_type", "company", "individual"):
        if key in p and locked:
            raise invalid(
                f"You cannot change `{key}` via API once an account link or account session "
                "has been created for this account, because Stripe collects its requirements.",
                key,
            )
    if "business_type" in p:
        account["business_type"] = p.choice(
            "business_type", ("company", "government_entity", "individual", "non_profit")
        )
    if "email" in p:
        account["email"] = p.str("email")
    if "default_currency" in p:
        account["default_currency"] = _settleable_default(
            account, p.str("default_currency") or default_currency(account["country"])
        )
    if "business_profile" in p:
        account["business_profile"] = _profile(
            p.dict("business_profile"), account["business_profile"]
        )
    account["metadata"] = merge_metadata(account["metadata"], p.metadata())
    _apply_person_data(account, p)
    settings = p.dict("settings")
    payouts = settings.dict("payouts") if settings else None
    if payouts is not None:
        _apply_payout_settings(account, payouts)
    caps = p.dict("capabilities")
    if caps is not None:
        for name in caps.data:
            requested = (caps.dict(name) or Params({})).bool("requested")
            if requested is not None:
                _request_capability(req, account, name, requested)
    if not account["_onboarding_started"] and account["details_submitted"] is False:
        # Before onboarding starts, prefilled data trims what is still due.
        due = initial_due(account["business_type"], account)
        account["requirements"] = requirements(
            due, past_due=list(due), disabled_reason="requirements.past_due"
        )
    derive_enabled(account)
    _sync_capabilities(account)
    changed = nested_diff(before, public(account))
    if changed:
        req.state.touch()
        req.emit("account.updated", account, account["id"], changed)
    return public(account)


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _apply_payout_settings(account: JSON, payouts: Params) -> None:
    """``settings[payouts]``: the schedule (daily, weekly on a day, monthly on a date, or
    manual) and ``debit_negative_balances``. Everything is checked before anything changes."""
    current = account["settings"]["payouts"]
    schedule = payouts.dict("schedule")
    debit = payouts.bool("debit_negative_balances")
    updated = dict(current["schedule"])
    if schedule is not None:
        interval = schedule.choice("interval", ("daily", "manual", "weekly", "monthly"))
        interval = interval or updated["interval"]
        raw_delay = schedule.str("delay_days")
        if raw_delay == "minimum":
            updated["delay_days"] = MINIMUM_DELAY_DAYS
        elif raw_delay is not None:
            delay = schedule.int("delay_days", minimum=0, maximum=31)
            updated["delay_days"] = delay
        weekly_anchor = schedule.choice("weekly_anchor", WEEKDAYS)
        weekly_days = [str(d) for d in schedule.list("weekly_payout_days")]
        for day in weekly_days:
            if day not in WEEKDAYS[:5]:
                raise invalid(
                    f"Invalid settings[payouts][schedule][weekly_payout_days]: {day}",
                    "settings[payouts][schedule][weekly_payout_days]",
                )
        monthly_anchor = schedule.int("monthly_anchor", minimum=1, maximum=31)
        monthly_days = []
        for day in schedule.list("monthly_payout_days"):
            if not str(day).isdigit() or not 1 <= int(day) <= 31:
                raise invalid(
                    f"Invalid settings[payouts][schedule][monthly_payout_days]: {day}",
                    "settings[payouts][schedule][monthly_payout_days]",
                )
            monthly_days.append(int(day))
        if interval == "weekly":
            anchor = weekly_anchor or (None if weekly_days else updated["weekly_anchor"])
            days = weekly_days or (None if weekly_anchor else updated["weekly_payout_days"])
            if not anchor and not days:
                raise missing_param("settings[payouts][schedule][weekly_anchor]")
            updated.update({"weekly_anchor": anchor, "weekly_payout_days": days})
        else:
            updated.update({"weekly_anchor": None, "weekly_payout_days": None})
        if interval == "monthly":
            anchor_m = monthly_anchor or (None if monthly_days else updated["monthly_anchor"])
            days_m = monthly_days or (None if monthly_anchor else updated["monthly_payout_days"])
            if not anchor_m and not days_m:
                raise missing_param("settings[payouts][schedule][monthly_anchor]")
            updated.update({"monthly_anchor": anchor_m, "monthly_payout_days": days_m})
        else:
            updated.update({"monthly_anchor": None, "monthly_payout_days": None})
        updated["interval"] = interval
    current["schedule"] = updated
    if debit is not None:
        current["debit_negative_balances"] = debit
    if "statement_descriptor" in payouts:
        current["statement_descriptor"] = payouts.str("statement_descriptor")


@api.route("DELETE", "/v1/accounts/{account_id}")
def delete_account(req: Request, account_id: str) -> JSON:
    account = connected(req, account_id)
    account["_deleted"] = True
    req.state.touch()
    return {"id": account_id, "object": "account", "deleted": True}


@api.route("GET", "/v1/accounts")
def list_accounts(req: Request) -> JSON:
    if not req.is_platform:
        return paginate(req, [], "/v1/accounts")
    created = req.params.range("created")
    from ..params import in_range

    items = [
        a
        for a in req.state.all(req.state.platform, "account")
        if not a.get("_platform") and not a.get("_deleted") and in_range(a["created"], created)
    ]
    return paginate(req, items, "/v1/accounts")


# --- capabilities --------------------------------------------------------------------------


def _capability_status(account: JSON, name: str) -> str:
    cap = account["_capabilities"].get(name)
    if not cap or not cap["requested"]:
        return "unrequested"
    reason = account["requirements"]["disabled_reason"]
    if account["charges_enabled"] or account["payouts_enabled"]:
        return "active"
    if reason == "requirements.pending_verification":
        return "pending"
    return "inactive"


def _sync_capabilities(account: JSON) -> None:
    account["capabilities"] = {
        name: _capability_status(account, name)
        for name in sorted(account["_capabilities"])
        if account["_capabilities"][name].get("requested")
    }


def capability_object(account: JSON, name: str) -> JSON:
    cap = account["_capabilities"].get(name) or {"requested": False, "requested_at": None}
    reqs = copy.deepcopy(account["requirements"])
    return {
        "id": name,
        "object": "capability",
        "account": account["id"],
        "future_requirements": copy.deepcopy(account["future_requirements"]),
        "requested": cap["requested"],
        "requested_at": cap["requested_at"],
        "requirements": reqs,
        "status": _capability_status(account, name),
    }


def _request_capability(req: Request, account: JSON, name: str, requested: bool) -> None:
    before = capability_object(account, name)
    account["_capabilities"][name] = {
        "requested": requested,
        "requested_at": req.now if requested else None,
    }
    _sync_capabilities(account)
    after = capability_object(account, name)
    if before != after:
        req.state.emit(
            "capability.updated", after, account["id"], nested_diff(before, after), req.request_id
        )


def _capability_name(name: str) -> str:
    """A capability the API knows: one of the keys ``accounts.create`` takes in
    ``capabilities`` (from the SDK's params types)."""
    known = schema().route("POST", "/v1/accounts/{account}")
    caps = known.spec.fields.get("capabilities") if known else None
    if not isinstance(caps, Obj) or name not in caps.fields:
        raise no_such("capability", name, "capability")
    return name


@api.route("GET", "/v1/accounts/{account_id}/capabilities")
def list_capabilities(req: Request, account_id: str) -> JSON:
    account = connected(req, account_id)
    data = [capability_object(account, c) for c in sorted(account["_capabilities"])]
    return {
        "object": "list",
        "data": data,
        "has_more": False,
        "url": f"/v1/accounts/{account_id}/capabilities",
    }


@api.route("GET", "/v1/accounts/{account_id}/capabilities/{name}")
def retrieve_capability(req: Request, account_id: str, name: str) -> JSON:
    return capability_object(connected(req, account_id), _capability_name(name))


@api.route("POST", "/v1/accounts/{account_id}/capabilities/{name}")
def update_capability(req: Request, account_id: str, name: str) -> JSON:
    account = connected(req, account_id)
    name = _capability_name(name)
    requested = req.params.bool("requested")
    if requested is not None:
        before = public(account)
        _request_capability(req, account, name, requested)
        changed = nested_diff(before, public(account))
        if changed:
            req.state.touch()
            req.emit("account.updated", account, account["id"], changed)
    return capability_object(account, name)


# --- account state: what changed, announced as Stripe announces it -------------------------


def nested_diff(before: JSON, after: JSON) -> JSON:
    """Stripe's ``previous_attributes`` for a nested object: the old values of what changed,
    descending into hashes so ``requirements`` lists only the sub-fields that moved."""
    changed: JSON = {}
    for key, new in after.items():
        if key.startswith("_"):
            continue
        old = before.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            changed[key] = nested_diff(old, new)
        else:
            changed[key] = copy.deepcopy(old)
    return changed


# Statuses of a bank account or card Stripe no longer pays out to.
UNUSABLE_EXTERNAL_STATUSES = ("errored", "verification_failed")


def has_usable_external_account(account: JSON) -> bool:
    """A default external account Stripe can still pay out to (not errored by a failure)."""
    return any(
        ea.get("default_for_currency") and ea.get("status") not in UNUSABLE_EXTERNAL_STATUSES
        for ea in account["external_accounts"]["data"]
    )


def derive_enabled(account: JSON) -> None:
    """``charges_enabled`` and ``payouts_enabled`` follow from the requirements, separately.

    Charges need submitted details and nothing disabling the account. Payouts need that too,
    plus a usable bank account or debit card and no payouts-only requirement outstanding, so a
    failed bank account keeps charges on and payouts off.
    """
    if account.get("_platform"):
        return
    reqs = account["requirements"]
    charges = bool(account["details_submitted"]) and reqs["disabled_reason"] is None
    account["charges_enabled"] = charges
    account["payouts_enabled"] = (
        charges and not account.get("_payouts_due") and has_usable_external_account(account)
    )


@contextmanager
def account_change(state: State, account: JSON, request_id: str | None = None) -> Iterator[None]:
    """Apply a change to an account, then announce it: ``account.updated`` with the old values
    of what moved, and ``capability.updated`` for each capability whose state moved."""
    before = public(account)
    caps_before = {c: capability_object(account, c) for c in account["_capabilities"]}
    yield
    derive_enabled(account)
    _sync_capabilities(account)
    state.touch()
    changed = nested_diff(before, public(account))
    if changed:
        state.emit("account.updated", account, account["id"], changed, request_id)
    for name, old in caps_before.items():
        new = capability_object(account, name)
        if new != old:
            state.emit("capability.updated", new, account["id"], nested_diff(old, new), request_id)


def _add_due(reqs: JSON, fields: list[str], *, past_due: bool = False) -> None:
    """Fields due now are due eventually too (``eventually_due`` is a superset)."""
    for key in ("currently_due", "eventually_due", *(("past_due",) if past_due else ())):
        reqs[key] = sorted(set(reqs[key]) | set(fields))


# --- onboarding state machine --------------------------------------------------------------

ONBOARDING_ACTIONS = (
    "complete",
    "partial",
    "pending_verification",
    "restrict",
    "reject",
    "disable",
    "disable_payouts",
    "verification_error",
    "eventually_due",
    "future_requirements",
)
# Stripe's requirement error codes the controls can produce, each with a plain-words reason
# (Stripe words its reasons per case; these follow its descriptions of the codes).
REQUIREMENT_ERRORS = {
    "verification_document_expired": (
        "The document could not be used for verification because it has expired."
    ),
    "verification_document_failed_other": (
        "The document could not be used for verification. Upload a different document."
    ),
    "verification_document_not_readable": (
        "The document could not be read. Upload a clear, uncropped photo of the document."
    ),
    "verification_document_name_mismatch": (
        "The name on the document does not match the name on the account."
    ),
    "verification_failed_address_match": "The address could not be verified.",
    "verification_failed_id_number_match": "The ID number could not be verified.",
    "verification_failed_other": "Verification failed for a reason not listed.",
    "verification_failed_tax_id_match": "The tax ID does not match the business name on record.",
    "invalid_tax_id": "The tax ID is invalid.",
    "invalid_url_website_inaccessible": "The business website could not be reached.",
}
REJECT_REASONS = (
    "fraud",
    "incomplete_verification",
    "listed",
    "other",
    "platform_fraud",
    "platform_other",
    "platform_terms_of_service",
    "terms_of_service",
)
# Stripe's other reasons for disabling an account (``disable``), e.g. a review.
DISABLE_REASONS = (
    "under_review",
    "listed",
    "other",
    "platform_paused",
    "action_required.requested_capabilities",
)
FUTURE_REQUIREMENTS_NOTICE = 30 * 86400  # how far ahead the controls announce a change


def apply_onboarding(
    state: State,
    account: JSON,
    action: str,
    *,
    fields: list[str] | None = None,
    reason: str | None = None,
    deadline: int | None = None,
    code: str | None = None,
    bank_account_number: str | None = None,
    request_id: str | None = None,
) -> JSON:
    """Move an account's KYC state and emit ``account.updated`` / ``capability.updated``.

    ``complete`` · ``partial`` (save and finish later) · ``pending_verification`` ·
    ``restrict`` (``deadline`` seconds: restricted soon, else now) · ``reject`` (``reason``) ·
    ``disable`` (``reason``: under_review, listed, other, platform_paused, ...) ·
    ``disable_payouts`` (payouts-only requirements, charges stay on) · ``verification_error``
    (``code``; a failed check in ``errors``, past due now or by ``deadline``) ·
    ``eventually_due`` (needed later, not now) · ``future_requirements`` (announced, becoming
    requirements at ``deadline``). Submitting details (``complete``, ``pending_verification``)
    adds the bank account entered (``bank_account_number``) unless a usable one exists.
    """
    if action not in ONBOARDING_ACTIONS:
        raise invalid(f"Unknown onboarding action {action}", "action")
    if action == "reject" and reason and reason not in REJECT_REASONS:
        raise invalid(f"reason must be one of {', '.join(REJECT_REASONS)}", "reason")
    if action == "disable" and reason and reason not in DISABLE_REASONS:
        raise invalid(f"reason must be one of {', '.join(DISABLE_REASONS)}", "reason")
    if action == "verification_error" and code and code not in REQUIREMENT_ERRORS:
        raise invalid(f"code must be one of {', '.join(REQUIREMENT_ERRORS)}", "code")
    now = state.now()
    with account_change(state, account, request_id):
        if action in ("complete", "pending_verification"):
            account["details_submitted"] = True
            account["business_type"] = account["business_type"] or "individual"
            account["tos_acceptance"].update(
                {"date": now, "ip": "127.0.0.1", "user_agent": "stripe-emulator"}
            )
            from .external_accounts import ensure_payout_account

            ensure_payout_account(state, account, bank_account_number)
        reqs = account["requirements"]
        if action == "complete":
            account["requirements"] = requirements()
            account["future_requirements"] = requirements()
            account["_payouts_due"] = []
        elif action == "pending_verification":
            account["requirements"] = requirements(
                [],
                eventually_due=[],
                pending_verification=list(VERIFICATION_DUE),
                disabled_reason="requirements.pending_verification",
            )
        elif action == "partial":
            due = fields or list(PARTIAL_DUE)
            account["requirements"] = requirements(
                due, past_due=list(due), disabled_reason="requirements.past_due"
            )
        elif action == "restrict":
            due = fields or list(VERIFICATION_DUE)
            if deadline:
                # "Restricted soon": still enabled until the deadline passes.
                account["requirements"] = requirements(due, current_deadline=now + deadline)
            else:
                account["requirements"] = requirements(
                    due, past_due=list(due), disabled_reason="requirements.past_due"
                )
        elif action == "reject":
            account["requirements"] = requirements(
                [], eventually_due=[], disabled_reason=f"rejected.{reason or 'fraud'}"
            )
        elif action == "disable":
            reqs["disabled_reason"] = reason or "under_review"
        elif action == "disable_payouts":
            due = fields or ["external_account"]
            _add_due(reqs, due)
            account["_payouts_due"] = sorted(set(account.get("_payouts_due") or []) | set(due))
        elif action == "verification_error":
            due = fields or list(VERIFICATION_DUE)
            error_code = code or "verification_failed_other"
            reqs["errors"] = [e for e in reqs["errors"] if e["requirement"] not in due] + [
                {"code": error_code, "reason": REQUIREMENT_ERRORS[error_code], "requirement": f}
                for f in due
            ]
            reqs["pending_verification"] = [f for f in reqs["pending_verification"] if f not in due]
            if deadline:
                _add_due(reqs, due)
                reqs["current_deadline"] = now + deadline
            else:
                _add_due(reqs, due, past_due=True)
                reqs["current_deadline"] = None
                reqs["disabled_reason"] = "requirements.past_due"
        elif action == "eventually_due":
            due = fields or ["individual.id_number"]
            reqs["eventually_due"] = sorted(set(reqs["eventually_due"]) | set(due))
        elif action == "future_requirements":
            due = fields or ["individual.id_number"]
            account["future_requirements"] = requirements(
                due, current_deadline=now + (deadline or FUTURE_REQUIREMENTS_NOTICE)
            )
    return account


def _deadline_passed(account: JSON) -> None:
    """What was ``currently_due`` by ``current_deadline`` becomes ``past_due`` and disables."""
    reqs = account["requirements"]
    reqs["past_due"] = sorted(set(reqs["past_due"]) | set(reqs["currently_due"]))
    reqs["current_deadline"] = None
    reqs["disabled_reason"] = "requirements.past_due"


def _future_requirements_arrive(account: JSON) -> None:
    """At ``future_requirements.current_deadline`` the announced requirements become the
    account's: what is still outstanding is due now and, unresolved, immediately past due."""
    future = account["future_requirements"]
    reqs = account["requirements"]
    due = list(future["currently_due"])
    _add_due(reqs, due, past_due=True)
    reqs["eventually_due"] = sorted(set(reqs["eventually_due"]) | set(future["eventually_due"]))
    reqs["errors"] = [*reqs["errors"], *future["errors"]]
    if due:
        reqs["disabled_reason"] = "requirements.past_due"
    account["future_requirements"] = requirements()


def expire_deadlines(state: State, now: int) -> None:
    """Deadlines that pass change the account, as Stripe's do (``account.updated``)."""
    for _owner, account in list(state.all_owners("account")):
        if account.get("_platform") or account.get("_deleted"):
            continue
        deadline = account["requirements"].get("current_deadline")
        if deadline and deadline <= now and account["requirements"]["currently_due"]:
            with account_change(state, account):
                _deadline_passed(account)
        future = account["future_requirements"].get("current_deadline")
        if future and future <= now:
            with account_change(state, account):
                _future_requirements_arrive(account)


def next_deadline(state: State) -> int | None:
    """The earliest requirements deadline still to come (for the clock)."""
    moments = []
    for _owner, account in state.all_owners("account"):
        if account.get("_platform") or account.get("_deleted"):
            continue
        deadline = account["requirements"].get("current_deadline")
        if deadline and account["requirements"]["currently_due"]:
            moments.append(deadline)
        future = account["future_requirements"].get("current_deadline")
        if future:
            moments.append(future)
    return min(moments) if moments else None
