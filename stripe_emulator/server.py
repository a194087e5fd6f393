"""The wire: HTTP server, routing, auth, ``Stripe-Account`` scoping, idempotency, faults,
pagination and ``expand``. Resource modules register plain handlers on the router.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import re
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import clock, schema
from .errors import StripeError, invalid, no_such
from .params import Params, in_range, parse_form
from .state import API_VERSION, State, diff, public, random_token

JSON = dict[str, Any]
DROP = object()  # returned by the app to make the server close the socket without answering


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(
        cls, payload: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> Response:
        return cls(
            status,
            # Compact: the C encoder (an indented dump runs the pure-Python one, which was half
            # the cost of serving a page of 100 objects).
            json.dumps(payload, separators=(",", ":")).encode(),
            {"Content-Type": "application/json", **(headers or {})},
        )

    @classmethod
    def html(cls, text: str, status: int = 200) -> Response:
        return cls(status, text.encode(), {"Content-Type": "text/html; charset=utf-8"})

    @classmethod
    def redirect(cls, location: str) -> Response:
        return cls(302, b"", {"Location": location})


@dataclass
class Request:
    method: str
    path: str
    params: Params
    headers: dict[str, str]
    state: State
    base_url: str
    owner: str = ""
    # True when the request acts as the platform (no Stripe-Account header, or the platform's).
    is_platform: bool = True
    request_id: str = ""
    idempotency_key: str | None = None
    body: bytes = b""

    @property
    def now(self) -> int:
        return self.state.now()

    def emit(
        self, event_type: str, obj: JSON, owner: str | None = None, previous: JSON | None = None
    ) -> JSON:
        return self.state.emit(
            event_type,
            obj,
            owner or self.state.owner_of(obj["id"]) or self.owner,
            previous,
            self.request_id,
            self.idempotency_key,
        )

    def emit_changes(self, event_type: str, obj: JSON, before: JSON) -> JSON:
        """Emit ``event_type`` (e.g. ``customer.updated``) with ``previous_attributes`` when
        ``obj`` differs from its ``before`` copy; nothing when it does not. The changes."""
        changed = diff(before, obj)
        if changed:
            self.state.touch()
            self.emit(event_type, obj, previous=changed)
        return changed


Handler = Callable[..., Any]


class Router:
    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.templates: list[tuple[str, str]] = []  # (method, "/v1/accounts/{account_id}")
        self._sorted: list[tuple[int, tuple[str, re.Pattern[str], Handler]]] | None = None

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        self.templates.append((method, pattern))
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
        self.routes.append((method, re.compile(f"^{regex}$"), handler))
        self._sorted = None

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        def decorator(handler: Handler) -> Handler:
            self.add(method, pattern, handler)
            return handler

        return decorator

    def _ordered(self) -> list[tuple[int, tuple[str, re.Pattern[str], Handler]]]:
        # Literal paths win over templated ones (``/v1/invoices/create_preview`` is not an id).
        if self._sorted is None:
            self._sorted = sorted(enumerate(self.routes), key=lambda r: "(?P<" in r[1][1].pattern)
        return self._sorted

    def _find(self, method: str, path: str) -> tuple[int, Handler, dict[str, str]] | None:
        for n, (route_method, regex, handler) in self._ordered():
            if route_method != method:
                continue
            found = regex.match(path)
            if found:
                return n, handler, found.groupdict()
        return None

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
        found = self._find(method, path)
        return None if found is None else (found[1], found[2])

    def template(self, method: str, path: str) -> str:
        """The route's pattern (``/v1/accounts/{account_id}``), or the path if none matches."""
        found = self._find(method, path)
        return path if found is None else self.templates[found[0]][1]


# One router for /v1 (Stripe's surface), one for /_emulator (controls), one for browser pages.
api = Router()
controls = Router()
pages = Router()


# --- helpers used by resource modules ------------------------------------------------------


def paginate(req: Request, items: list[JSON], url: str) -> JSON:
    """Stripe list envelope over ``items`` (already newest first) with cursor pagination."""
    limit = req.params.int("limit", 10, minimum=1, maximum=100)
    assert limit is not None
    starting_after = req.params.str("starting_after")
    ending_before = req.params.str("ending_before")
    ids = [item["id"] for item in items]
    if starting_after:
        if starting_after not in ids:
            raise no_such("object", starting_after, "starting_after")
        start = ids.index(starting_after) + 1
        page = items[start : start + limit]
        has_more = start + limit < len(items)
    elif ending_before:
        if ending_before not in ids:
            raise no_such("object", ending_before, "ending_before")
        end = ids.index(ending_before)
        start = max(0, end - limit)
        page = items[start:end]
        has_more = start > 0
    else:
        page = items[:limit]
        has_more = len(items) > limit
    return {
        "object": "list",
        "data": [public(item) for item in page],
        "has_more": has_more,
        "url": url,
    }


def paginate_scan(
    req: Request, kind: str, url: str, keep: Callable[[JSON], bool] | None = None
) -> JSON:
    """Stripe list envelope over the caller's objects of ``kind`` that ``keep`` accepts, newest
    first, with cursor pagination that reads only as far as the page needs.

    The cursor is found by its position in the owner's list (constant time), and the scan
    stops once it has one object more than the page: listing a large account page by page
    costs each page its own size, not the size of the account. A cursor must be one of the
    caller's objects of that type.
    """
    limit = req.params.int("limit", 10, minimum=1, maximum=100)
    assert limit is not None
    starting_after = req.params.str("starting_after")
    ending_before = req.params.str("ending_before")
    after = before = None
    if starting_after:
        after = req.state.position(req.owner, kind, starting_after)
        if after is None:
            raise no_such("object", starting_after, "starting_after")
    elif ending_before:
        before = req.state.position(req.owner, kind, ending_before)
        if before is None:
            raise no_such("object", ending_before, "ending_before")
    page: list[JSON] = []
    has_more = False
    for obj in req.state.scan(req.owner, kind, after=after, before=before):
        if keep is not None and not keep(obj):
            continue
        if len(page) == limit:
            has_more = True
            break
        page.append(obj)
    if before is not None:
        page.reverse()  # read nearest-newer first; the page is newest first like any other
    return {
        "object": "list",
        # Not deep-copied here: the endpoint's result is deep-copied once before it is expanded.
        "data": [{k: v for k, v in item.items() if not k.startswith("_")} for item in page],
        "has_more": has_more,
        "url": url,
    }


def list_matching(
    req: Request,
    kind: str,
    url: str,
    *,
    equal: tuple[str, ...] = (),
    ranges: tuple[str, ...] = (),
    keep: Callable[[JSON], bool] | None = None,
) -> JSON:
    """A list endpoint: the caller's objects of ``kind``, newest first, narrowed by the
    parameters in ``equal`` (exact match on the field of the same name) and ``ranges``
    (``created=…`` or ``created[gte]=…`` on a timestamp field), then paginated."""
    wanted = {name: value for name in equal if (value := req.params.str(name)) is not None}
    bounds = {name: b for name in ranges if (b := req.params.range(name)) is not None}

    def matches(obj: JSON) -> bool:
        return (
            not obj.get("_deleted")
            and all(obj.get(name) == value for name, value in wanted.items())
            and all(in_range(obj.get(name), b) for name, b in bounds.items())
            and (keep is None or keep(obj))
        )

    return paginate_scan(req, kind, url, matches)


def embedded_list(items: list[JSON], url: str, limit: int = 10) -> JSON:
    return {
        "object": "list",
        "data": [public(item) for item in items[:limit]],
        "has_more": len(items) > limit,
        "url": url,
    }


# Fields Stripe includes only when expanded ("includable"), by (object, field): each computes
# the field for a rendered object from the stored state.
INCLUDABLE: dict[tuple[str, str], Callable[[State, JSON], Any]] = {}


def _expand(state: State, node: Any, parts: list[str], owner: str) -> Any:
    if not parts or node is None:
        return node
    if isinstance(node, list):
        return [_expand(state, item, parts, owner) for item in node]
    if not isinstance(node, dict):
        return node
    head, rest = parts[0], parts[1:]
    include = INCLUDABLE.get((str(node.get("object")), head))
    if include is not None and head not in node:
        node[head] = include(state, node)
    if head not in node:
        raise invalid(f"This property cannot be expanded ({head}).", "expand")
    value = node[head]
    if isinstance(value, str):
        target = state.find(value)
        target_owner = state.owner_of(value)
        # Accounts live under the platform but are visible to themselves.
        if target is not None and (target_owner == owner or target.get("object") == "account"):
            value = public(target)
    node[head] = _expand(state, value, rest, owner)
    return node


def apply_expand(req: Request, result: Any) -> Any:
    paths = req.params.expand() if req.method == "GET" or "expand" in req.params else []
    for path in paths:
        result = _expand(req.state, result, path.split("."), req.owner)
    return result


def auth_error(message: str) -> StripeError:
    return StripeError(401, "authentication_error", message)


# Secret (sk_) and restricted (rk_) test-mode keys; the emulator is test mode only.
API_KEY = re.compile(r"(sk|rk)_test_\w+")

# Faults that answer with an error before the endpoint runs (nothing is saved or done).
REFUSALS: dict[str, Callable[[], StripeError]] = {
    "429": lambda: StripeError(
        429,
        "invalid_request_error",
        "Too many requests hit the API too quickly (injected).",
        code="rate_limit",
    ),
    "429_retry": lambda: StripeError(
        429,
        "invalid_request_error",
        "This object cannot be accessed right now because another API request or Stripe "
        "process is currently accessing it (injected lock timeout).",
        code="lock_timeout",
        headers={"Stripe-Should-Retry": "true"},
    ),
}


def key_in_use(key: str) -> StripeError:
    """409 for a request whose idempotency key another request is still executing under."""
    return StripeError(
        409,
        "idempotency_error",
        "There is currently another in-progress request using this Idempotent Key (that "
        "probably means you submitted twice, and the other request is still going through): "
        f"{key}. Please try again later.",
        code="idempotency_key_in_use",
        headers={"Stripe-Should-Retry": "true"},
    )


def _internal_error(key: str | None) -> tuple[int, JSON, dict[str, str]]:
    err = StripeError(500, "api_error", "An unknown error occurred (injected).")
    # With a key, a retry would only replay the saved 500, so Stripe says not to bother.
    headers = {"Stripe-Should-Retry": "false"} if key else {}
    return err.status, err.body(), headers


def _saved(status: int, payload: JSON) -> bool:
    """Whether Stripe keeps the result of an endpoint that started under its idempotency key.

    Stripe saves a result once the endpoint has started executing, errors included (a
    declined card, an invalid state, a 500). It saves nothing for requests that failed
    validation (the params table, or a handler's own parameter checks) or authentication,
    or that conflicted with a concurrent one.
    """
    if status < 400 or status >= 500:
        return True
    code = (payload.get("error") or {}).get("code") or ""
    not_started = status in (401, 403, 404, 409, 429) or code.startswith("parameter_")
    return not not_started


# --- the application -----------------------------------------------------------------------


class App:
    """Transport-independent request handling; the HTTP server is a thin shell around it."""

    def __init__(self, state: State, *, verbose: bool = False) -> None:
        self.state = state
        self.verbose = verbose
        # (Stripe-Account, Idempotency-Key) of requests executing now, for 409s.
        self._in_flight: set[tuple[str, str]] = set()
        self._in_flight_lock = threading.Lock()
        # Imported for their route registrations.
        from . import connect_js, controls, pages  # noqa: F401
        from .resources import (  # noqa: F401
            account_links,
            accounts,
            application_fees,
            balance,
            billing_portal,
            charges,
            customers,
            disputes,
            events,
            external_accounts,
            invoices,
            payouts,
            refunds,
        )

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Any:
        split = urlsplit(target)
        path = split.path.rstrip("/") or "/"
        headers = {k.lower(): v for k, v in headers.items()}
        base_url = f"http://{headers.get('host', 'localhost')}"
        try:
            query = parse_form(split.query)
            form: JSON = {}
            content_type = headers.get("content-type", "")
            if body and "application/json" in content_type:
                form = json.loads(body or b"{}")
            elif body and (not content_type or "form-urlencoded" in content_type):
                form = parse_form(body.decode())
            # Other bodies (connect.js posts text/plain JSON to skip CORS preflight) stay raw.
        except (StripeError, ValueError) as exc:
            err = exc if isinstance(exc, StripeError) else invalid("Malformed request body.")
            return Response.json(err.body(), err.status)
        params = {**query, **form}
        req = Request(method, path, Params(params), headers, self.state, base_url, body=body)
        req.request_id = "req_" + random_token(14)
        # Objects built outside a request (auto-finalized invoices) need a public base URL.
        self.state.data["base_url"] = base_url
        if path.startswith("/v1/"):
            self.state.count_request(method, path, api.template(method, path))
            return self._api(req)
        router = controls if path.startswith("/_emulator/") else pages
        return self._plain(req, router)

    def _plain(self, req: Request, router: Router) -> Any:
        if req.method == "OPTIONS":
            return Response(204, b"", _cors())
        matched = router.match(req.method, req.path)
        if matched is None:
            return Response.json({"error": {"message": f"Not found: {req.path}"}}, 404)
        handler, args = matched
        try:
            if getattr(handler, "unlocked", False):
                result = handler(req, **args)
            else:
                with self.state.lock:
                    req.owner = self.state.platform
                    clock.tick(self.state)
                    result = handler(req, **args)
        except StripeError as err:
            return Response.json(err.body(), err.status, _cors())
        if isinstance(result, Response):
            result.headers.update(_cors())
            return result
        return Response.json(result, 200, _cors())

    def _api(self, req: Request) -> Any:
        fault = self._take_fault(req)
        kind = fault["kind"] if fault else None
        if kind == "drop":
            return DROP  # the connection fails before Stripe sees the request
        if kind == "slow" and fault and fault.get("when", "before") == "before":
            time.sleep(float(fault.get("delay", 2)))
        try:
            self._authenticate(req)
        except StripeError as err:
            return self._error_response(req, err)
        if kind in REFUSALS:
            return self._error_response(req, REFUSALS[kind]())
        key = req.headers.get("idempotency-key") if req.method in ("POST", "DELETE") else None
        # Keyed like the saved results: the platform named in the header is the platform.
        account = req.headers.get("stripe-account") or ""
        in_flight = ("" if account == self.state.platform else account, key or "")
        if key:
            with self._in_flight_lock:
                if in_flight in self._in_flight:
                    return self._error_response(req, key_in_use(key))
                self._in_flight.add(in_flight)
        try:
            with self.state.lock:
                try:
                    clock.tick(self.state)
                    self._scope(req)
                except StripeError as err:
                    return self._error_response(req, err)
                response = self._idempotent(req, key, fault)
            if kind == "slow" and fault and fault.get("when") == "after":
                # Done and saved, but the answer is late: a client that times out and retries
                # with the same key meanwhile gets 409 idempotency_key_in_use.
                time.sleep(float(fault.get("delay", 2)))
        finally:
            if key:
                with self._in_flight_lock:
                    self._in_flight.discard(in_flight)
        if kind == "lost":
            return DROP  # done and saved under the key, but the answer never arrives
        return response

    def _take_fault(self, req: Request) -> JSON | None:
        with self.state.lock:
            for fault in self.state.data["faults"]:
                if fault["remaining"] <= 0:
                    continue
                if not req.path.startswith(fault.get("path") or "/v1/"):
                    continue
                if fault.get("method") and fault["method"].upper() != req.method:
                    continue
                fault["remaining"] -= 1
                if fault["remaining"] <= 0:
                    self.state.data["faults"].remove(fault)
                self.state.touch()
                return fault
        return None

    def _authenticate(self, req: Request) -> None:
        header = req.headers.get("authorization", "")
        if not header:
            raise auth_error(
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_"
                "SECRET_KEY')."
            )
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not API_KEY.fullmatch(key.strip()):
            shown = key[:8] + "*" * max(0, len(key) - 12) + key[-4:] if key else ""
            raise auth_error(f"Invalid API Key provided: {shown}")

    def _scope(self, req: Request) -> None:
        account = req.headers.get("stripe-account")
        platform = self.state.platform
        if not account or account == platform:
            req.owner, req.is_platform = platform, True
            return
        obj = self.state.find(account)
        if obj is None or obj.get("object") != "account" or obj.get("_deleted"):
            raise StripeError(
                403,
                "invalid_request_error",
                f"The provided key does not have access to account '{account}' (or that "
                "account does not exist). Application access may have been revoked.",
                code="account_invalid",
            )
        req.owner, req.is_platform = account, False

    def _idempotent(self, req: Request, key: str | None, fault: JSON | None) -> Response:
        req.idempotency_key = key
        store = self.state.data["idempotency"]
        fingerprint = hashlib.sha256(
            json.dumps([req.method, req.path, req.params.data], sort_keys=True).encode()
        ).hexdigest()
        record_key = f"{req.owner}|{key}"
        if key:
            record = store.get(record_key)
            if record is not None:
                if record["fingerprint"] != fingerprint:
                    err = StripeError(
                        400,
                        "idempotency_error",
                        "Keys for idempotent requests can only be used with the same "
                        "parameters they were first used with. Try using a key other than "
                        f"'{key}' if you meant to execute a different request.",
                    )
                    return self._error_response(req, err)
                headers = {
                    **record["headers"],
                    "Idempotent-Replayed": "true",
                    "Original-Request": record["request_id"],
                }
                return self._finish(req, record["status"], record["body"], headers)
        kind = fault["kind"] if fault else None
        started = True
        if kind == "500":
            # Stripe failed before doing anything; the failure itself is the saved result.
            status, payload, headers = _internal_error(key)
        elif kind == "402":
            err = StripeError(
                402, "card_error", "Your card was declined (injected).", code="card_declined"
            )
            status, payload, headers = err.status, err.body(), {}
        else:
            status, payload, headers, started = self._dispatch(req)
            if kind == "500_after_write":
                # The work was done, then Stripe failed: the caller cannot tell which.
                status, payload, headers = _internal_error(key)
        if key and started and _saved(status, payload):
            store[record_key] = {
                "fingerprint": fingerprint,
                "status": status,
                "body": payload,
                "headers": headers,
                "request_id": req.request_id,
                "created": self.state.now(),
            }
            self.state.touch()
        return self._finish(req, status, payload, headers)

    def _dispatch(self, req: Request) -> tuple[int, JSON, dict[str, str], bool]:
        """Run the endpoint: (status, body, headers, whether the endpoint started executing)."""
        matched = api.match(req.method, req.path)
        if matched is None:
            err = StripeError(
                404,
                "invalid_request_error",
                f"Unrecognized request URL ({req.method}: {req.path}). Please see "
                "https://stripe.com/docs or we can help at https://support.stripe.com/.",
            )
            return err.status, err.body(), {}, False
        handler, args = matched
        try:
            # Refuse what Stripe refuses (unknown, missing or mistyped params) before the
            # handler runs; the table comes from the stripe SDK's own params types.
            schema.check(req.method, req.path, req.params.data)
        except StripeError as err:
            return err.status, err.body(), err.headers, False
        try:
            result = handler(req, **args)
            result = apply_expand(req, copy.deepcopy(result))
            return 200, result, {}, True
        except StripeError as err:
            return err.status, err.body(), err.headers, True
        except Exception:  # noqa: BLE001 - a bug must surface as Stripe's 500, not a hang
            traceback.print_exc()
            bug = StripeError(500, "api_error", "An unknown error occurred in the emulator.")
            return bug.status, bug.body(), {}, True

    def _finish(
        self, req: Request, status: int, payload: JSON, headers: dict[str, str]
    ) -> Response:
        return Response.json(
            payload,
            status,
            {"Request-Id": req.request_id, "Stripe-Version": API_VERSION, **headers},
        )

    def _error_response(self, req: Request, err: StripeError) -> Response:
        return Response.json(
            err.body(),
            err.status,
            {"Request-Id": req.request_id, "Stripe-Version": API_VERSION, **err.headers},
        )


def _cors() -> dict[str, str]:
    # connect.js and its iframe talk to the emulator from the app's origin.
    return {
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Headers": "Content-Type",
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    }


# --- HTTP shell ----------------------------------------------------------------------------


class _HTTPHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, keep-alive clients wait ~40 ms.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        result = self.server.app.handle(self.command, self.path, dict(self.headers), body)
        if result is DROP:
            # A dropped connection: close without a byte so the client sees a network error.
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        assert isinstance(result, Response)
        self.send_response(result.status)
        for name, value in result.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(result.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(result.body)

    do_GET = do_POST = do_DELETE = do_OPTIONS = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if self.server.app.verbose:
            super().log_message(format, *args)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    app: App


def _warm_up_schema() -> None:
    # Build the params table now, before the first request (a few tenths of a second). Not in
    # a thread of its own: CPython 3.11 before 3.11.8 keeps the ast module's recursion depth
    # per process, so ast.parse racing another thread's (pytest rewriting an import, say)
    # fails with "AST constructor recursion depth mismatch".
    schema.schema()


class EmulatorServer:
    """The emulator as a running service: HTTP thread, webhook deliverer and state persister."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        state_file: Path | None = None,
        *,
        verbose: bool = False,
        persist_interval: float = 1.0,
        deliver_in_background: bool = True,
    ) -> None:
        from .webhooks import Deliverer

        self.state = State(state_file)
        self.app = App(self.state, verbose=verbose)
        self.deliverer = Deliverer(self.state, background=deliver_in_background)
        self.httpd = _HTTPServer((host, port), _HTTPHandler)
        self.httpd.app = self.app
        self.persist_interval = persist_interval
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def base_url(self) -> str:
        host, port = self.httpd.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self) -> EmulatorServer:
        for target, name in (
            (self.httpd.serve_forever, "stripe-emulator-http"),
            (self._persist_loop, "stripe-emulator-persist"),
        ):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        self.deliverer.start()
        _warm_up_schema()
        return self

    def serve_forever(self) -> None:
        """Run in the calling thread (``python -m stripe_emulator``); other loops in threads."""
        persist = threading.Thread(target=self._persist_loop, daemon=True)
        persist.start()
        self.deliverer.start()
        _warm_up_schema()
        try:
            self.httpd.serve_forever()
        finally:
            self.stop()

    def _persist_loop(self) -> None:
        # Saving on every request would rewrite a growing file constantly: the state is saved
        # only when something changed (reads change nothing), at most once a `persist_interval`
        # and, for a large state, after a pause twenty times as long as the last save took, so
        # writing (which holds the lock while it serialises) takes at most ~5 % of the time.
        # A clean shutdown always saves.
        pause = self.persist_interval
        while not self._stop.wait(pause):
            if self.state.dirty:
                started = time.monotonic()
                self.state.save()
                pause = max(self.persist_interval, 20 * (time.monotonic() - started))

    def stop(self) -> None:
        self._stop.set()
        self.deliverer.stop()
        if any(t.name == "stripe-emulator-http" for t in self._threads):
            self.httpd.shutdown()
        self.httpd.server_close()
        self.state.save()
