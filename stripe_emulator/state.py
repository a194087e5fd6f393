"""The emulator's whole world: one JSON-able dict guarded by one lock, plus the emulated clock.

Objects are stored by id with the account that owns them (the platform or a connected account);
the owner is what ``Stripe-Account`` scoping checks. Keys starting with ``_`` inside a stored
object are emulator bookkeeping and never leave the server.
"""

from __future__ import annotations

import copy
import json
import os
import secrets
import string
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import no_such

if TYPE_CHECKING:
    from .webhooks import Deliverer

API_VERSION = "2026-10-28.endive"
_ALPHABET = string.ascii_letters + string.digits
# Stripe keeps events retrievable for 30 days.
EVENT_RETENTION = 30 * 86400
IDEMPOTENCY_TTL = 24 * 3600

# Object type → the noun Stripe uses in "No such <noun>" messages.
NOUNS = {
    "account": "account",
    "balance_transaction": "balance transaction",
    "payout": "payout",
    "customer": "customer",
    "invoiceitem": "invoiceitem",
    "invoice": "invoice",
    "charge": "charge",
    "application_fee": "application fee",
    "refund": "refund",
    "fee_refund": "fee refund",
    "event": "event",
    "billing_portal.session": "billing portal session",
    "billing_portal.configuration": "configuration",
    "account_session": "account session",
    "bank_account": "external account",
    "invoice_payment": "invoice payment",
}


def random_token(length: int = 24) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def fresh_data() -> dict[str, Any]:
    platform = "acct_1" + random_token(15)
    return {
        "version": 1,
        "clock_offset": 0,
        "platform": platform,
        "seq": 0,
        "objects": {},
        "owners": {},
        "index": {},
        "idempotency": {},
        "tokens": {},
        "webhook_endpoints": [],
        "deliveries": [],
        "delivery_log": [],
        "webhook_flags": {"duplicate": False, "reorder": False},
        "faults": [],
        "last_payout_day": None,
        "platform_balance": {},
    }


class State:
    """In-memory state with an RLock; every mutation marks it dirty for the persister."""

    def __init__(self, path: Path | None = None) -> None:
        self.lock = threading.RLock()
        self.path = path
        self.dirty = False
        self.data = fresh_data()
        # Position of each id in its ``index`` list, per list (built on first use, kept up to
        # date by ``put``, dropped by ``delete``): a list cursor is found in constant time.
        self._positions: dict[str, dict[str, int]] = {}
        # API requests served since start (or the last reset), by (method, path, route); kept
        # in memory only (``GET /_emulator/requests``).
        self.requests: Counter[tuple[str, str, str]] = Counter()
        self._requests_lock = threading.Lock()
        # Called (under the lock) with each new event so webhooks can queue deliveries.
        self.on_event: Callable[[dict[str, Any]], None] | None = None
        # The deliverer sending this state's webhooks (it sets itself), for flushes on request.
        self.deliverer: Deliverer | None = None
        if path is not None and path.exists():
            with path.open() as fh:
                self.data = json.load(fh)
            # A delivery being sent when the process stopped is simply sent again.
            for delivery in self.data.get("deliveries", []):
                delivery["in_flight"] = False

    # --- persistence -------------------------------------------------------------------------

    def save(self) -> None:
        """Write atomically (temp file + rename) so a crash never leaves half a state file."""
        if self.path is None:
            return
        with self.lock:
            payload = json.dumps(self.data, separators=(",", ":"))
            self.dirty = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".state-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(payload)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def reset(self) -> None:
        with self.lock:
            self.data = fresh_data()
            self._positions = {}
            self.dirty = True
        self.reset_requests()

    # --- request counter ---------------------------------------------------------------------

    def count_request(self, method: str, path: str, route: str) -> None:
        with self._requests_lock:
            self.requests[(method, path, route)] += 1

    def reset_requests(self) -> None:
        with self._requests_lock:
            self.requests.clear()

    def request_counts(self) -> dict[str, Any]:
        """``{"total", "by_route", "by_path"}``: counts keyed ``"GET /v1/accounts/{account}"``
        (the route's template, so requests about different objects add up) and
        ``"GET /v1/accounts/acct_123"`` (the path as requested, without its query)."""
        with self._requests_lock:
            counted = list(self.requests.items())
        by_route: Counter[str] = Counter()
        by_path: Counter[str] = Counter()
        for (method, path, route), count in counted:
            by_route[f"{method} {route}"] += count
            by_path[f"{method} {path}"] += count
        return {
            "total": sum(by_route.values()),
            "by_route": dict(sorted(by_route.items())),
            "by_path": dict(sorted(by_path.items())),
        }

    # --- clock -------------------------------------------------------------------------------

    def now(self) -> int:
        return int(time.time()) + self.data["clock_offset"]

    @property
    def platform(self) -> str:
        return self.data["platform"]

    # --- objects -----------------------------------------------------------------------------

    def new_id(self, prefix: str, length: int = 24) -> str:
        return f"{prefix}_1{random_token(length - 1)}"

    def put(self, obj: dict[str, Any], owner: str) -> dict[str, Any]:
        """Store a new object under its owner; lists return newest (highest seq) first."""
        self.data["seq"] += 1
        obj["_seq"] = self.data["seq"]
        self.data["objects"][obj["id"]] = obj
        self.data["owners"][obj["id"]] = owner
        key = f"{owner}:{obj['object']}"
        ids = self.data["index"].setdefault(key, [])
        positions = self._positions.get(key)
        if positions is not None:
            positions[obj["id"]] = len(ids)
        ids.append(obj["id"])
        self.dirty = True
        return obj

    def delete(self, object_id: str) -> None:
        obj = self.data["objects"].pop(object_id)
        owner = self.data["owners"].pop(object_id)
        key = f"{owner}:{obj['object']}"
        self.data["index"][key].remove(object_id)
        self._positions.pop(key, None)
        self.dirty = True

    def owner_of(self, object_id: str) -> str | None:
        return self.data["owners"].get(object_id)

    def find(self, object_id: str) -> dict[str, Any] | None:
        return self.data["objects"].get(object_id)

    def get(
        self, object_id: str, owner: str | None, kind: str, param: str = "id"
    ) -> dict[str, Any]:
        """The object if it exists, is of ``kind`` and belongs to ``owner``; else Stripe's 404."""
        obj = self.data["objects"].get(object_id)
        if (
            obj is None
            or obj["object"] != kind
            or (owner is not None and self.data["owners"][object_id] != owner)
        ):
            raise no_such(NOUNS.get(kind, kind), object_id, param)
        return obj

    def all(self, owner: str, kind: str) -> list[dict[str, Any]]:
        """Objects of one type owned by one account, newest first."""
        ids = self.data["index"].get(f"{owner}:{kind}", [])
        objects = self.data["objects"]
        return [objects[i] for i in reversed(ids)]

    def position(self, owner: str, kind: str, object_id: str) -> int | None:
        """Where ``object_id`` stands in its owner's list of ``kind`` (oldest first), if there."""
        key = f"{owner}:{kind}"
        positions = self._positions.get(key)
        if positions is None:
            ids = self.data["index"].get(key, [])
            positions = self._positions[key] = {i: n for n, i in enumerate(ids)}
        return positions.get(object_id)

    def scan(
        self, owner: str, kind: str, *, after: int | None = None, before: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Objects of one type owned by one account, lazily: newest first from just older than
        position ``after`` (or from the newest), or, with ``before``, oldest first from just
        newer than position ``before``. A page costs what it reads, not the whole list."""
        ids = self.data["index"].get(f"{owner}:{kind}", [])
        objects = self.data["objects"]
        if before is not None:
            for n in range(before + 1, len(ids)):
                yield objects[ids[n]]
            return
        start = len(ids) - 1 if after is None else after - 1
        for n in range(start, -1, -1):
            yield objects[ids[n]]

    def all_owners(self, kind: str) -> Iterable[tuple[str, dict[str, Any]]]:
        for key, ids in list(self.data["index"].items()):
            owner, _, object_kind = key.partition(":")
            if object_kind == kind:
                for object_id in ids:
                    yield owner, self.data["objects"][object_id]

    def touch(self) -> None:
        self.dirty = True

    # --- single-use tokens (account links, sessions, login links, hosted pages) ------------

    def put_token(self, kind: str, payload: dict[str, Any]) -> str:
        token = random_token(32)
        self.data["tokens"][token] = {"kind": kind, **payload}
        self.dirty = True
        return token

    def token(self, token: str, kind: str) -> dict[str, Any] | None:
        entry = self.data["tokens"].get(token)
        if entry is None or entry["kind"] != kind:
            return None
        return entry

    # --- events ------------------------------------------------------------------------------

    def emit(
        self,
        event_type: str,
        obj: dict[str, Any],
        owner: str,
        previous: dict[str, Any] | None = None,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Record an event about ``obj`` (owned by ``owner``) and hand it to webhooks."""
        data: dict[str, Any] = {"object": public(obj)}
        if previous is not None:
            data["previous_attributes"] = previous
        event = {
            "id": self.new_id("evt"),
            "object": "event",
            "account": None if owner == self.platform else owner,
            "api_version": API_VERSION,
            "context": None,
            "created": self.now(),
            "data": data,
            "livemode": False,
            "pending_webhooks": 0,
            "request": {"id": request_id, "idempotency_key": idempotency_key},
            "type": event_type,
        }
        self.put(event, owner)
        if self.on_event is not None:
            self.on_event(event)
        return event

    def prune(self) -> None:
        """Drop events and idempotency records older than Stripe keeps them."""
        now = self.now()
        for owner, event in list(self.all_owners("event")):
            del owner
            if event["created"] < now - EVENT_RETENTION:
                self.delete(event["id"])
        stale = [
            key
            for key, rec in self.data["idempotency"].items()
            if rec["created"] < now - IDEMPOTENCY_TTL
        ]
        for key in stale:
            del self.data["idempotency"][key]


def public(obj: dict[str, Any]) -> dict[str, Any]:
    """A deep copy without emulator bookkeeping (top-level keys starting with ``_``)."""
    return copy.deepcopy({k: v for k, v in obj.items() if not k.startswith("_")})


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Stripe's ``previous_attributes``: the old values of top-level fields that changed."""
    return {
        k: before.get(k) for k in after if not k.startswith("_") and before.get(k) != after.get(k)
    }
