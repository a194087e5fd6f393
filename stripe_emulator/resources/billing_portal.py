"""Customer billing portal sessions."""

from __future__ import annotations

from typing import Any

from ..server import Request, api
from ..state import public, random_token
from .customers import customer_of

JSON = dict[str, Any]

# --- billing portal ------------------------------------------------------------------------


@api.route("POST", "/v1/billing_portal/sessions")
def create_portal_session(req: Request) -> JSON:
    p = req.params
    customer_id = p.str("customer", required=True)
    assert customer_id is not None
    customer_of(req, customer_id, "customer")
    configs = req.state.data.setdefault("portal_configurations", {})
    configuration = p.str("configuration") or configs.setdefault(
        req.owner, "bpc_1" + random_token(23)
    )
    session_id = req.state.new_id("bps")
    token = req.state.put_token(
        "portal", {"customer": customer_id, "owner": req.owner, "return_url": p.str("return_url")}
    )
    session = {
        "id": session_id,
        "object": "billing_portal.session",
        "after_expiration": None,
        "configuration": configuration,
        "created": req.now,
        "customer": customer_id,
        "customer_account": None,
        "flow": None,
        "livemode": False,
        "locale": p.str("locale"),
        "on_behalf_of": p.str("on_behalf_of"),
        "return_url": p.str("return_url"),
        "url": f"{req.base_url}/p/session/{token}",
    }
    req.state.put(session, req.owner)
    return public(session)
