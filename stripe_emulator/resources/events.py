"""The events list (webhook delivery itself lives in ``stripe_emulator.webhooks``)."""

from __future__ import annotations

from typing import Any

from ..errors import invalid
from ..params import in_range
from ..server import Request, api, paginate_scan
from ..state import public

JSON = dict[str, Any]

# --- events --------------------------------------------------------------------------------


@api.route("GET", "/v1/events")
def list_events(req: Request) -> JSON:
    p = req.params
    single = p.str("type")
    types = [str(t) for t in p.list("types")]
    if len(types) > 20:
        raise invalid("You may pass at most 20 types.", "types")
    created = p.range("created")

    def wanted(event_type: str) -> bool:
        patterns = types or ([single] if single else [])
        if not patterns:
            return True
        return any(
            event_type == pat or (pat.endswith("*") and event_type.startswith(pat[:-1]))
            for pat in patterns
        )

    return paginate_scan(
        req, "event", "/v1/events", lambda e: wanted(e["type"]) and in_range(e["created"], created)
    )


@api.route("GET", "/v1/events/{event_id}")
def retrieve_event(req: Request, event_id: str) -> JSON:
    return public(req.state.get(event_id, req.owner, "event"))
