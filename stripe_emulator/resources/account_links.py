"""Login links (the Express dashboard), account links with the hosted onboarding page,
and account sessions for embedded components.
"""

from __future__ import annotations

import html
from typing import Any

from ..errors import invalid, missing_param
from ..params import Params
from ..server import Request, Response, api, pages
from ..state import State
from .accounts import ACCOUNT_LINK_TTL, ACCOUNT_SESSION_TTL, COMPONENTS, apply_onboarding, connected

JSON = dict[str, Any]

# --- login links ---------------------------------------------------------------------------


@api.route("POST", "/v1/accounts/{account_id}/login_links")
def create_login_link(req: Request, account_id: str) -> JSON:
    account = connected(req, account_id)
    if account["controller"].get("stripe_dashboard", {}).get("type") != "express":
        raise invalid(
            "Login links can only be created for accounts that use the Express Dashboard.",
            "account",
        )
    if not account["details_submitted"]:
        raise invalid(
            "Cannot create a login link for an account that has not completed onboarding.",
            "account",
        )
    token = req.state.put_token("login_link", {"account": account_id, "used": False})
    return {
        "object": "login_link",
        "created": req.now,
        "url": f"{req.base_url}/express/{token}",
    }


@pages.route("GET", "/express/{token}")
def express_dashboard(req: Request, token: str) -> Response:
    entry = req.state.token(token, "login_link")
    if entry is None or entry["used"]:
        return Response.html(page_html("Link expired", "<p>This login link has expired.</p>"), 410)
    entry["used"] = True
    req.state.touch()
    account = req.state.find(entry["account"]) or {}
    body = (
        f"<p>Emulated Express Dashboard for <code>{html.escape(entry['account'])}</code> "
        f"({html.escape(str(account.get('email')))}).</p>"
    )
    return Response.html(page_html("Express Dashboard", body))


# --- account links and the hosted onboarding page ------------------------------------------


@api.route("POST", "/v1/account_links")
def create_account_link(req: Request) -> JSON:
    p = req.params
    account_id = p.str("account", required=True)
    assert account_id is not None
    link_type = p.choice("type", ("account_onboarding", "account_update"), required=True)
    account = connected(req, account_id, "account")
    if link_type == "account_update" and account["controller"].get("stripe_dashboard", {}).get(
        "type"
    ) in ("express", "full"):
        raise invalid(
            "You cannot create `account_update` type Account Links for accounts that have "
            "access to a Stripe-hosted Dashboard.",
            "type",
        )
    for name in ("refresh_url", "return_url"):
        url = p.str(name)
        if not url:
            raise missing_param(name)
        if not url.startswith(("http://", "https://")):
            raise invalid(f"Not a valid URL: {name}", name, "url_invalid")
    options = p.dict("collection_options")
    now = req.now
    account["_onboarding_started"] = True
    token = req.state.put_token(
        "account_link",
        {
            "account": account_id,
            "refresh_url": p.str("refresh_url"),
            "return_url": p.str("return_url"),
            "expires_at": now + ACCOUNT_LINK_TTL,
            "used": False,
            "fields": (options.str("fields") if options else None) or "currently_due",
        },
    )
    return {
        "object": "account_link",
        "created": now,
        "expires_at": now + ACCOUNT_LINK_TTL,
        "url": f"{req.base_url}/setup/e/{account_id}/{token}",
    }


@pages.route("GET", "/setup/e/{account_id}/{token}")
def onboarding_page(req: Request, account_id: str, token: str) -> Response:
    entry = req.state.token(token, "account_link")
    if entry is None or entry["account"] != account_id:
        return Response.html(page_html("Invalid link", "<p>This link is not valid.</p>"), 404)
    if entry["used"] or entry["expires_at"] <= req.now:
        # Stripe sends visitors of spent or expired links to the platform's refresh_url.
        return Response.redirect(entry["refresh_url"])
    entry["used"] = True
    form_token = req.state.put_token(
        "onboarding_form",
        {"account": account_id, "return_url": entry["return_url"], "used": False},
    )
    account = req.state.find(account_id) or {}
    return Response.html(onboarding_form(account, f"/setup/e/{account_id}/{form_token}/submit"))


@pages.route("POST", "/setup/e/{account_id}/{token}/submit")
def onboarding_submit(req: Request, account_id: str, token: str) -> Response:
    entry = req.state.token(token, "onboarding_form")
    if entry is None or entry["used"] or entry["account"] != account_id:
        return Response.html(page_html("Session expired", "<p>Please start again.</p>"), 400)
    entry["used"] = True
    account = req.state.find(account_id)
    assert account is not None
    submit_onboarding(req.state, account, req.params)
    return Response.redirect(entry["return_url"])


def submit_onboarding(state: State, account: JSON, form: Params) -> None:
    """What the hosted form and the embedded component do with a submitted form."""
    outcome = form.str("outcome") or "complete"
    if outcome == "leave":
        return
    name = form.str("first_name")
    if name:
        account["individual"] = {
            **(account.get("individual") or {}),
            "first_name": name,
            "last_name": form.str("last_name"),
        }
    if outcome not in ("complete", "partial", "pending_verification"):
        outcome = "complete"
    # The bank account typed on the form (Stripe's test numbers decide how payouts end).
    number = (form.str("account_number") or "").replace(" ", "") or None
    apply_onboarding(state, account, outcome, bank_account_number=number)


def onboarding_form(account: JSON, action: str, *, embedded: bool = False) -> str:
    due = account.get("requirements", {}).get("currently_due", [])
    items = "".join(f"<li><code>{html.escape(f)}</code></li>" for f in due) or "<li>none</li>"
    body = f"""
<p>Account <code data-testid="account-id">{html.escape(account.get("id", ""))}</code></p>
<p>Information Stripe needs:</p><ul data-testid="currently-due">{items}</ul>
<form method="post" action="{html.escape(action)}" id="onboarding-form">
  <label>First name <input name="first_name" value="Jenny"></label>
  <label>Last name <input name="last_name" value="Rosen"></label>
  <label>Bank account <input name="account_number" value="000123456789"></label>
  <button type="submit" name="outcome" value="complete">Submit and verify</button>
  <button type="submit" name="outcome" value="pending_verification">Submit (verification
    pending)</button>
  <button type="submit" name="outcome" value="partial">Save and finish later</button>
  {"" if embedded else '<button type="submit" name="outcome" value="leave">Return</button>'}
</form>"""
    return page_html("Stripe onboarding (emulated)", body)


def page_html(title: str, body: str) -> str:
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto}}
label{{display:block;margin:.5rem 0}}button{{margin:.3rem .3rem 0 0}}</style></head>
<body><h1>{html.escape(title)}</h1>{body}</body></html>"""


# --- account sessions ----------------------------------------------------------------------


@api.route("POST", "/v1/account_sessions")
def create_account_session(req: Request) -> JSON:
    p = req.params
    account_id = p.str("account", required=True)
    assert account_id is not None
    account = connected(req, account_id, "account")
    given = p.dict("components", required=True)
    assert given is not None
    losses_stripe = account["controller"].get("losses", {}).get("payments") == "stripe"
    components: JSON = {}
    for name, defaults in COMPONENTS.items():
        features = {k: (losses_stripe if v is None else v) for k, v in defaults.items()}
        if "external_account_collection" in features:
            features["disable_stripe_user_authentication"] = False
        components[name] = {"enabled": False, "features": features}
    enabled_any = False
    for name in given.data:
        # The params check already refused components and features the API does not know;
        # those the emulator does not model are echoed as given.
        spec = given.dict(name) or Params({})
        enabled = spec.bool("enabled")
        if enabled is None:
            raise missing_param(f"components[{name}][enabled]")
        component = components.setdefault(name, {"enabled": False, "features": {}})
        component["enabled"] = enabled
        enabled_any = enabled_any or enabled
        requested = spec.dict("features")
        for feature, value in (requested.data if requested else {}).items():
            component["features"][feature] = (
                value == "true" if value in ("true", "false") else value
            )
    if not enabled_any:
        raise invalid("You must enable at least one component.", "components")
    account["_onboarding_started"] = True
    now = req.now
    session_id = req.state.new_id("accs")
    secret = f"{session_id}_secret_{req.state.new_id('s', 40)[2:]}"
    session = {
        "object": "account_session",
        "account": account_id,
        "client_secret": secret,
        "components": components,
        "expires_at": now + ACCOUNT_SESSION_TTL,
        "livemode": False,
    }
    req.state.data["tokens"][secret] = {
        "kind": "account_session",
        "account": account_id,
        "components": components,
        "expires_at": now + ACCOUNT_SESSION_TTL,
        "claimed": False,
    }
    req.state.touch()
    return session


def claim_session(state: State, secret: str) -> JSON:
    """connect.js claims a client secret once; returns what its components need."""
    entry = state.token(secret, "account_session")
    if entry is None or entry["claimed"] or entry["expires_at"] <= state.now():
        raise_auth = {
            "type": "authentication_error",
            "message": "The client secret is invalid, expired or was already used.",
        }
        return {"error": raise_auth}
    entry["claimed"] = True
    frame_token = state.put_token(
        "embedded_frame", {"account": entry["account"], "components": entry["components"]}
    )
    state.touch()
    account = state.find(entry["account"]) or {}
    return {
        "account": entry["account"],
        "frame_token": frame_token,
        "components": entry["components"],
        "requirements": account.get("requirements"),
        "details_submitted": account.get("details_submitted"),
    }
