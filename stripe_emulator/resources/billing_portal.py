"""Customer billing portal: configurations and sessions.

As on Stripe, a session uses the account's *default* configuration unless ``configuration`` is
passed. The platform has a default (as if its portal settings had been saved in the Dashboard);
a connected account has none: configurations the platform creates on it through the API are
not defaults, so the platform passes one explicitly, or the session is refused.
"""

from __future__ import annotations

from typing import Any

from ..errors import invalid
from ..params import Params, merge_metadata
from ..server import Request, api, paginate
from ..state import State, public
from .customers import customer_of

JSON = dict[str, Any]

NO_DEFAULT = (
    "No configuration provided and your test mode default configuration has not been created. "
    "Provide a configuration or create your default by saving your customer portal settings in "
    "test mode at https://dashboard.stripe.com/test/settings/billing/portal."
)
CUSTOMER_UPDATES = ("address", "email", "name", "phone", "shipping", "tax_id")


# --- configurations ------------------------------------------------------------------------


def _features(p: Params | None, current: JSON | None = None) -> JSON:
    features = current or {
        "customer_update": {"allowed_updates": [], "enabled": False},
        "invoice_history": {"enabled": False},
        "payment_method_update": {"enabled": False, "payment_method_configuration": None},
        "subscription_cancel": {
            "cancellation_reason": {"enabled": False, "options": []},
            "enabled": False,
            "mode": "at_period_end",
            "proration_behavior": "none",
        },
        "subscription_update": {
            "billing_cycle_anchor": None,
            "default_allowed_updates": [],
            "enabled": False,
            "products": [],
            "proration_behavior": "none",
            "schedule_at_period_end": {"conditions": []},
            "trial_update_behavior": "end_trial",
        },
    }
    if p is None:
        return features
    for name in ("invoice_history", "payment_method_update", "subscription_cancel"):
        section = p.dict(name)
        if section is not None and "enabled" in section:
            features[name]["enabled"] = section.bool("enabled")
    update = p.dict("customer_update")
    if update is not None:
        if "enabled" in update:
            features["customer_update"]["enabled"] = update.bool("enabled")
        if "allowed_updates" in update:
            allowed = [str(a) for a in update.list("allowed_updates")]
            for value in allowed:
                if value not in CUSTOMER_UPDATES:
                    raise invalid(
                        f"Invalid features[customer_update][allowed_updates]: must be one of "
                        f"{', '.join(CUSTOMER_UPDATES)}",
                        "features[customer_update][allowed_updates]",
                    )
            features["customer_update"]["allowed_updates"] = allowed
    return features


def _business_profile(p: Params | None, current: JSON | None = None) -> JSON:
    profile = current or {
        "headline": None,
        "privacy_policy_url": None,
        "terms_of_service_url": None,
    }
    if p is not None:
        for key in profile:
            if key in p:
                profile[key] = p.str(key)
    return profile


def new_configuration(state: State, owner: str, *, is_default: bool) -> JSON:
    now = state.now()
    config = {
        "id": state.new_id("bpc"),
        "object": "billing_portal.configuration",
        "active": True,
        "application": None if owner == state.platform else "ca_emulatorPlatformApplication",
        "business_profile": _business_profile(None),
        "created": now,
        "default_return_url": None,
        "features": _features(None),
        "is_default": is_default,
        "livemode": False,
        "login_page": {"enabled": False, "url": None},
        "metadata": {},
        "name": None,
        "updated": now,
    }
    return state.put(config, owner)


def default_configuration(state: State, owner: str) -> JSON | None:
    """The owner's default configuration; the platform's is made on first use."""
    for config in state.all(owner, "billing_portal.configuration"):
        if config["is_default"]:
            return config
    if owner == state.platform:
        config = new_configuration(state, owner, is_default=True)
        config["features"]["invoice_history"]["enabled"] = True
        return config
    return None


def _apply(req: Request, config: JSON) -> None:
    p = req.params
    if "features" in p:
        config["features"] = _features(p.dict("features"), config["features"])
    if "business_profile" in p:
        config["business_profile"] = _business_profile(
            p.dict("business_profile"), config["business_profile"]
        )
    for key in ("default_return_url", "name"):
        if key in p:
            config[key] = p.str(key)
    if "login_page" in p:
        login = p.dict("login_page")
        enabled = bool(login and login.bool("enabled"))
        config["login_page"] = {
            "enabled": enabled,
            "url": f"{req.base_url}/p/login/{config['id']}" if enabled else None,
        }
    if "active" in p:
        config["active"] = bool(p.bool("active"))
    config["metadata"] = merge_metadata(config["metadata"] or {}, p.metadata())
    config["updated"] = req.now


@api.route("POST", "/v1/billing_portal/configurations")
def create_configuration(req: Request) -> JSON:
    req.params.dict("features", required=True)
    config = new_configuration(req.state, req.owner, is_default=False)
    _apply(req, config)
    req.emit("billing_portal.configuration.created", config, req.owner)
    return public(config)


@api.route("GET", "/v1/billing_portal/configurations")
def list_configurations(req: Request) -> JSON:
    p = req.params
    active, is_default = p.bool("active"), p.bool("is_default")
    if req.is_platform:
        default_configuration(req.state, req.owner)
    items = [
        c
        for c in req.state.all(req.owner, "billing_portal.configuration")
        if (active is None or c["active"] == active)
        and (is_default is None or c["is_default"] == is_default)
    ]
    return paginate(req, items, "/v1/billing_portal/configurations")


@api.route("GET", "/v1/billing_portal/configurations/{config_id}")
def retrieve_configuration(req: Request, config_id: str) -> JSON:
    return public(req.state.get(config_id, req.owner, "billing_portal.configuration"))


@api.route("POST", "/v1/billing_portal/configurations/{config_id}")
def update_configuration(req: Request, config_id: str) -> JSON:
    config = req.state.get(config_id, req.owner, "billing_portal.configuration")
    before = public(config)
    _apply(req, config)
    req.emit_changes("billing_portal.configuration.updated", config, before)
    return public(config)


# --- sessions ------------------------------------------------------------------------------


@api.route("POST", "/v1/billing_portal/sessions")
def create_portal_session(req: Request) -> JSON:
    p = req.params
    customer_id = p.str("customer", required=True)
    assert customer_id is not None
    customer_of(req, customer_id, "customer")
    configuration_id = p.str("configuration")
    if configuration_id:
        config = req.state.get(
            configuration_id, req.owner, "billing_portal.configuration", "configuration"
        )
    else:
        found = default_configuration(req.state, req.owner)
        if found is None:
            raise invalid(NO_DEFAULT)
        config = found
    if not config["active"]:
        raise invalid(
            "The provided configuration is inactive. Use an active configuration.",
            "configuration",
        )
    session_id = req.state.new_id("bps")
    return_url = p.str("return_url") or config["default_return_url"]
    token = req.state.put_token(
        "portal", {"customer": customer_id, "owner": req.owner, "return_url": return_url}
    )
    session = {
        "id": session_id,
        "object": "billing_portal.session",
        "after_expiration": None,
        "configuration": config["id"],
        "created": req.now,
        "customer": customer_id,
        "customer_account": None,
        "flow": None,
        "livemode": False,
        "locale": p.str("locale"),
        "on_behalf_of": p.str("on_behalf_of"),
        "return_url": return_url,
        "url": f"{req.base_url}/p/session/{token}",
    }
    req.state.put(session, req.owner)
    return public(session)
