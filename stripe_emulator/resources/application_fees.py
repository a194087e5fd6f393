"""Application fees: what the platform collects from a connected account's charges."""

from __future__ import annotations

from typing import Any

from ..params import in_range
from ..server import Request, api, paginate
from ..state import public

JSON = dict[str, Any]


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
