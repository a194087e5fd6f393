"""The REST API root (`/api/v2/storefront/`): authentication, the response envelope, errors.

Every response follows the documented envelope (docs/api.md): success `{"data": <payload>, "error": null}`, failure
`{"data": null, "error": {"code", "message", "field"?, "details"?}}`, never an HTML page or a
stack trace. Endpoints resolve their acting customer with `acting_for()`, which applies
`?targetCustomerId=` through `storefront.access` like every page does.

Apps add their routers in `storefront/urls.py`, so this module never imports them.
"""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.params import ParamShortcut
from ninja.params.models import Query as QueryParam
from ninja.params.models import QueryModel
from ninja.security import HttpBearer
from pydantic import ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from storefront import access
from storefront.access import Acting
from storefront.json_input import BodyRefused, JsonObjectParser
from storefront.models import ApiKey

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails, InitErrorDetails

logger = logging.getLogger(__name__)

T = TypeVar("T")

# The version of the contract this API implements. The path carries the major version
# (/api/v2/); the OpenAPI document, the `API-Version` header of every answer and `whoami`
# carry all of it, so a program can tell which generation it talks to (see
# docs/migrating-from-older-clients.md).
API_VERSION = "2.1.0"
API_VERSION_HEADER = "API-Version"

# The documented status → code table of the contract. Every error the API answers carries one of
# these codes; a status the table does not list (405, 413, 415) gets the closest one,
# BAD_REQUEST, while keeping its HTTP status.
DOCUMENTED_CODES: dict[int, tuple[str, ...]] = {
    400: ("BAD_REQUEST", "VALIDATION_ERROR", "CURRENCY_MISMATCH"),
    401: ("UNAUTHORIZED",),
    403: ("FORBIDDEN", "ACCESS_DENIED", "ALPHA_OPT_IN_REQUIRED", "TOS_ACCEPTANCE_REQUIRED"),
    404: ("NOT_FOUND",),
    409: ("CONFLICT",),
    422: ("VALIDATION_ERROR",),
    429: ("RATE_LIMITED",),
    500: ("INTERNAL_ERROR",),
    501: ("NOT_IMPLEMENTED",),
    503: ("SERVICE_UNAVAILABLE",),
}


def documented_code(status: int, code: str) -> str:
    """`code` if the documented table lists it for `status`, else the closest documented code."""
    allowed = DOCUMENTED_CODES.get(status)
    if allowed is not None:
        return code if code in allowed else allowed[0]
    return "INTERNAL_ERROR" if status >= 500 else "BAD_REQUEST"


class ApiError(Exception):
    """An error the API reports in its envelope with a documented code."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.details = details
        self.headers = headers or {}


def error_body(
    code: str, message: str, field: str | None = None, details: Any = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    if details is not None:
        error["details"] = details
    return {"data": None, "error": error}


def error_response(
    status: int, code: str, message: str, *, field: str | None = None, details: Any = None
) -> JsonResponse:
    """An error answered outside ninja (middleware, error pages), in the same envelope."""
    response = JsonResponse(
        error_body(documented_code(status, code), message, field, details), status=status
    )
    response[API_VERSION_HEADER] = API_VERSION
    return response


def issue(
    location: str | None, field: str | None, message: str, allowed: list[str] | None = None
) -> dict[str, Any]:
    """One problem with the input, in the one shape every error uses in `details.issues`:
    where it is (`body`, `query` or `path`; null for the request as a whole), the field (dotted for nested ones, null for the
    input as a whole), what is wrong, and for a choice the values allowed (else null)."""
    return {"in": location, "field": field, "message": message, "allowed": allowed}


def validation_error(issues: list[dict[str, Any]]) -> ApiError:
    """400 VALIDATION_ERROR naming the first problem in `field`/`message`; every problem,
    once, in `details.issues` (a choice's allowed values there too)."""
    first = issues[0]
    return ApiError(
        400, "VALIDATION_ERROR", first["message"], field=first["field"], details={"issues": issues}
    )


class ErrorDetail(Schema):
    code: str
    message: str
    field: str | None = None
    details: Any = None


class ErrorEnvelope(Schema):
    data: None = None
    error: ErrorDetail


class Envelope(Schema, Generic[T]):
    data: T
    error: None = None


def ok(payload: Any) -> dict[str, Any]:
    return {"data": payload, "error": None}


class ListMeta(Schema):
    count: int = Field(description="Number of items on this page.")
    limit: int = Field(description="The page size asked for.")
    hasMore: bool = Field(description="True when another page follows.")
    cursor: str | None = Field(
        description="Pass as `starting_after` to get the next page; null on the last page."
    )


class ListEnvelope(Schema, Generic[T]):
    """A page of a list, newest first, with a cursor (docs/api.md, "Lists")."""

    data: list[T]
    meta: ListMeta
    error: None = None


def ok_list(items: list[Any], *, limit: int, has_more: bool, cursor: str | None) -> dict[str, Any]:
    return {
        "data": items,
        "meta": {"count": len(items), "limit": limit, "hasMore": has_more, "cursor": cursor},
        "error": None,
    }


def error_responses(*statuses: int) -> dict[int, type[ErrorEnvelope]]:
    """The documented error statuses of an endpoint, for `response={...}`. Every endpoint
    behind a key may also answer 401 and 429."""
    return dict.fromkeys((*statuses, 401, 429), ErrorEnvelope)


# The input policy, one for every endpoint: a body or query field the endpoint does not
# declare is refused (400 VALIDATION_ERROR naming each one), never ignored; fields of older
# generations of the API are refused with a message naming what replaced them. Bodies are
# `ApiInput` schemas; query parameters are declared with this module's `Query`.

REPLACED_FIELDS: dict[str, str] = {
    # The storefront before it had a lifecycle status (older clients' `Storefront` type).
    "enabled": '`enabled` was replaced by `status`: send `"status": "ACTIVE"` to switch '
    'the storefront on, `"status": "DISABLED"` to switch it off.',
    "plan": "`plan` was removed: there is one plan, and the storefront's lifecycle is "
    "`status` (PENDING, ACTIVE, DISABLED).",
    "publisherDomain": "`publisherDomain` was removed: publisher domains come from the "
    "inventory sources' agents; the storefront is named by `platformId` and `name`.",
    "platformId": "`platformId` is fixed once the storefront exists; it is set only when "
    "`POST /api/v2/storefront` creates it.",
    "createdAt": "`createdAt` is set by the server and cannot be sent (objects read from Stripe "
    "carry it as `created`, in epoch seconds).",
    "updatedAt": "`updatedAt` is set by the server and cannot be sent.",
    # Query parameters of older list calls.
    "customerId": "`customerId` was replaced by `targetCustomerId`.",
    "startingAfter": "`startingAfter` is spelled `starting_after`.",
    "offset": "`offset` was replaced by cursor pagination: pass the previous page's "
    "`meta.cursor` as `starting_after`.",
    "page": "`page` was replaced by cursor pagination: pass the previous page's "
    "`meta.cursor` as `starting_after`.",
    "startDate": "`startDate` is not supported: lists are newest first; page with `limit` and "
    "`starting_after`.",
    "endDate": "`endDate` is not supported: lists are newest first; page with `limit` and "
    "`starting_after`.",
}


def unknown_field_message(location: str, name: str) -> str:
    if name in REPLACED_FIELDS:
        return REPLACED_FIELDS[name]
    what = "query parameter" if location == "query" else "field"
    return f"Unknown {what} `{name}`: this endpoint does not accept it."


class ApiInput(Schema):
    """The base of every request body: undeclared fields are refused."""

    model_config = ConfigDict(extra="forbid")


class NoBody(ApiInput):
    """An endpoint that takes no fields: any field sent is refused rather than ignored."""


class _StrictQueryModel(QueryModel):
    """Query parameters as declared, and a refusal for each parameter the endpoint does not
    declare (ninja would drop those silently)."""

    @classmethod
    def resolve(cls, request: HttpRequest, api: NinjaAPI, path_params: Any) -> Any:
        declared = set(getattr(cls, "__ninja_flatten_map__", None) or cls.model_fields)
        unknown: list[InitErrorDetails] = [
            {"type": "extra_forbidden", "loc": (name,), "input": request.GET.get(name)}
            for name in request.GET
            if name not in declared
        ]
        try:
            resolved = super().resolve(request, api, path_params)
        except PydanticValidationError as exc:
            if not unknown:
                raise
            errors = [*map(_raised_again, exc.errors(include_url=False)), *unknown]
        else:
            if not unknown:
                return resolved
            errors = unknown
        raise PydanticValidationError.from_exception_data(cls.__name__, errors)


def _raised_again(error: ErrorDetails) -> InitErrorDetails:
    """A reported validation error in the form pydantic builds errors from."""
    details: InitErrorDetails = {
        "type": error["type"],
        "loc": error["loc"],
        "input": error["input"],
    }
    if "ctx" in error:
        details["ctx"] = error["ctx"]
    return details


# pydantic marks FieldInfo final, yet django-ninja's parameter classes (this one's base
# among them) subclass it: the stubs forbid what the library does.
class _StrictQuery(QueryParam):  # type: ignore[misc]
    _model = _StrictQueryModel

    @classmethod
    def _param_source(cls) -> str:
        return "query"


if TYPE_CHECKING:  # pragma: no cover
    from ninja import Query as Query
else:
    Query = ParamShortcut(lambda default=..., **kwargs: _StrictQuery(default, **kwargs))


# Per-key rate limit (docs/api.md, "Rate limit"): a fixed one-minute window counted in Django's cache, so
# every process sharing the cache shares the budget. The default file cache is shared by the
# processes of one host but its increments are not atomic, so racing workers can undercount a
# little; a Redis cache (atomic INCR) makes the count exact across hosts.

RATE_LIMIT_WINDOW_SECONDS = 60


@dataclass(frozen=True)
class RateLimit:
    limit: int
    remaining: int
    # Seconds until the current window ends and the budget refills.
    reset: int
    exceeded: bool

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
        }
        if self.exceeded:
            headers["Retry-After"] = str(self.reset)
        return headers


def consume_rate_limit(key: ApiKey) -> RateLimit:
    """Count one request against `key`'s budget for the current minute."""
    limit = settings.API_RATE_LIMIT_PER_MINUTE
    now = time.time()
    window = int(now // RATE_LIMIT_WINDOW_SECONDS)
    reset = max(1, math.ceil((window + 1) * RATE_LIMIT_WINDOW_SECONDS - now))
    # The client id is random per key, so a counter never outlives its key (ids are reused
    # when test transactions roll back; client ids are not).
    cache_key = f"storefront-api:rate:{key.client_id}:{window}"
    cache.add(cache_key, 0, timeout=RATE_LIMIT_WINDOW_SECONDS + 5)
    try:
        used = cache.incr(cache_key)
    except ValueError:
        # The counter expired between add() and incr().
        cache.set(cache_key, 1, timeout=RATE_LIMIT_WINDOW_SECONDS + 5)
        used = 1
    return RateLimit(
        limit=limit, remaining=max(0, limit - used), reset=reset, exceeded=used > limit
    )


class ApiRequest(HttpRequest):
    """A request ApiKeyAuth let through: django-ninja sets `auth` to the key `authenticate`
    returned, and `rate_limit` is what the request used of that key's budget."""

    auth: ApiKey
    rate_limit: RateLimit


class ApiKeyAuth(HttpBearer):
    """`Authorization: Bearer sfk_…` (or a key issued earlier as `scope3_…`) — an active, unrevoked API key."""

    openapi_description = (
        "An API key created on the API keys page or with `manage.py create_api_key`."
    )

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        key = ApiKey.objects.authenticate(token)
        if key is None:
            return None
        rate_limit = consume_rate_limit(key)
        cast(ApiRequest, request).rate_limit = rate_limit
        if rate_limit.exceeded:
            raise ApiError(
                429,
                "RATE_LIMITED",
                f"Too many requests: this API key may make {rate_limit.limit} requests a minute. "
                f"Try again in {rate_limit.reset} seconds.",
            )
        key.touch()
        return key


class StorefrontApi(NinjaAPI):
    def create_response(
        self,
        request: HttpRequest,
        data: Any,
        *,
        status: int | None = None,
        temporal_response: HttpResponse | None = None,
    ) -> HttpResponse:
        response = super().create_response(
            request, data, status=status, temporal_response=temporal_response
        )
        response[API_VERSION_HEADER] = API_VERSION
        # Every answer to an authenticated request tells the client its remaining budget.
        rate_limit: RateLimit | None = getattr(request, "rate_limit", None)
        if rate_limit is not None:
            for name, value in rate_limit.headers().items():
                response[name] = value
        return response

    def validation_error_from_error_contexts(self, error_contexts: Any) -> NinjaValidationError:
        # ninja's own, but keeping each error's input and context: messages about a choice
        # name the allowed values and what was sent.
        errors: list[dict[str, Any]] = []
        for context in error_contexts:
            model = context.model
            for error in context.pydantic_validation_error.errors(include_url=False):
                loc = model.__ninja_flatten_map_reverse__.get(error["loc"], error["loc"])
                errors.append(
                    {
                        "loc": (model.__ninja_param_source__, *loc),
                        "type": error["type"],
                        "msg": error["msg"],
                        "input": error.get("input"),
                        "ctx": {k: str(v) for k, v in (error.get("ctx") or {}).items()},
                    }
                )
        return NinjaValidationError(errors)


api = StorefrontApi(
    title="Storefront Billing API",
    version=API_VERSION,
    description="Connect sellers to Stripe Connect Express and read their billing. Reference: docs/api.md.",
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
    auth=ApiKeyAuth(),
    parser=JsonObjectParser(),
)


def acting_for(
    request: HttpRequest, target_customer_id: int | None, *, scope: str | None
) -> Acting:
    """The customer this API request acts as, after checking the key's scope.

    A `targetCustomerId` the key may not act for is a 400 VALIDATION_ERROR,
    never a silent fallback to the key's own customer.
    """
    # Every endpoint that asks runs behind ApiKeyAuth, so `auth` holds the request's key.
    key = cast(ApiRequest, request).auth
    if scope is not None and not key.has_scope(scope):
        raise ApiError(403, "FORBIDDEN", f"This API key lacks the `{scope}` scope.")
    try:
        acting = access.resolve_for_api_key(key, target_customer_id)
    except access.AccessDenied as exc:
        raise ApiError(400, "VALIDATION_ERROR", str(exc), field="targetCustomerId") from None
    # A key never does more than its user may do today: a demoted admin's old key loses
    # its write scopes with the role.
    if scope is not None and scope not in acting.allowed_scopes():
        raise ApiError(
            403,
            "FORBIDDEN",
            f"`{scope}` needs an admin of {acting.customer.name}; "
            f"{acting.user.email} is a {acting.role.label.lower()}.",
        )
    return acting


def _respond(request: HttpRequest, exc: ApiError) -> HttpResponse:
    code = documented_code(exc.status, exc.code)
    details = exc.details
    if code == "VALIDATION_ERROR" and details is None:
        # Every validation error lists its issues, in the one shape.
        name = (exc.field or "").split(".")[0]
        location = "query" if name and name in request.GET else ("body" if name else None)
        details = {"issues": [issue(location, exc.field, exc.message)]}
    response = api.create_response(
        request, error_body(code, exc.message, exc.field, details), status=exc.status
    )
    for name, value in exc.headers.items():
        response[name] = value
    return response


@api.exception_handler(ApiError)
def on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return _respond(request, exc)


@api.exception_handler(AuthenticationError)
def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    message = (
        "Send a valid API key as `Authorization: Bearer <key>`."
        if "HTTP_AUTHORIZATION" in request.META
        else "Missing `Authorization: Bearer <key>` header."
    )
    response = _respond(request, ApiError(401, "UNAUTHORIZED", message))
    response["WWW-Authenticate"] = "Bearer"
    return response


_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")


def _issue_from_pydantic(error: dict[str, Any]) -> dict[str, Any]:
    """A ninja/pydantic error as an issue: located in body, query or path; named by the field
    the client sent (ninja prefixes body fields with the view's parameter name)."""
    loc = [str(part) for part in error.get("loc", ())]
    location = loc[0] if loc else "body"
    path = loc[1:]
    if location == "body" and path:
        path = path[1:]
    field = ".".join(path) or None
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return issue(location, field, unknown_field_message(location, path[-1] if path else ""))
    if kind in ("enum", "literal_error"):
        allowed = _QUOTED.findall((error.get("ctx") or {}).get("expected", ""))
        sent = error.get("input")
        message = f"`{field}` must be one of {', '.join(allowed)}"
        if isinstance(sent, str) and sent.upper() in allowed and sent not in allowed:
            message += f" (values are uppercase: send {sent.upper()!r}, not {sent!r})"
        elif isinstance(sent, str):
            message += f", not {sent!r}"
        return issue(location, field, message + ".", allowed)
    return issue(location, field, error.get("msg", "Invalid value."))


@api.exception_handler(NinjaValidationError)
def on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    issues = [_issue_from_pydantic(error) for error in exc.errors] or [
        issue("body", None, "Invalid request.")
    ]
    return _respond(request, validation_error(issues))


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # ninja wraps whatever the body parser raises into "Cannot parse request body"; ours says
    # what was wrong and answers with its own status (415, 400 VALIDATION_ERROR…).
    refused = exc.__cause__
    if isinstance(refused, BodyRefused):
        if refused.code == "VALIDATION_ERROR":
            return _respond(
                request, validation_error([issue("body", refused.field, refused.message)])
            )
        return _respond(
            request, ApiError(refused.status, refused.code, refused.message, field=refused.field)
        )
    return _respond(request, ApiError(exc.status_code, "BAD_REQUEST", str(exc)))


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _respond(request, ApiError(404, "NOT_FOUND", str(exc) or "Not found."))


@api.exception_handler(Exception)
def on_unexpected_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("Unhandled API error on %s %s", request.method, request.path)
    return _respond(request, ApiError(500, "INTERNAL_ERROR", "Something went wrong on our side."))


class TargetQuery(Schema):
    targetCustomerId: int | None = Field(
        None, ge=1, le=2**63 - 1, description="Act for this child customer (parents)."
    )


class CustomerOut(Schema):
    id: int = Field(validation_alias="pk")
    name: str
    company: str
    customerType: str

    @staticmethod
    def resolve_customerType(customer: Any) -> str:  # noqa: N802
        return str(customer.customer_type.value)


class WhoAmI(Schema):
    apiVersion: str = Field(
        description="The contract version this server implements (also the `API-Version` header)."
    )
    email: str
    role: str
    scopes: list[str]
    keyCustomer: CustomerOut
    actingCustomer: CustomerOut


@api.get(
    "/whoami",
    response={200: Envelope[WhoAmI], **error_responses(400)},
    summary="The key's user, scopes and the customer a request acts as",
    tags=["keys"],
)
def whoami(request: ApiRequest, query: Query[TargetQuery]) -> dict[str, Any]:
    acting = acting_for(request, query.targetCustomerId, scope=None)
    key = request.auth
    return ok(
        {
            "apiVersion": API_VERSION,
            "email": acting.user.email,
            "role": acting.role.value,
            # The scopes in effect: what the key holds and the user's role still allows.
            "scopes": sorted(set(key.scopes) & {str(s) for s in acting.allowed_scopes()}),
            "keyCustomer": key.customer,
            "actingCustomer": acting.customer,
        }
    )
