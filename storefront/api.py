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
import time
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI, Query, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer
from pydantic import Field

from storefront import access
from storefront.access import Acting
from storefront.json_input import BodyRefused, JsonObjectParser
from storefront.models import ApiKey

logger = logging.getLogger(__name__)

T = TypeVar("T")


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
    return JsonResponse(error_body(code, message, field, details), status=status)


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
        # Every answer to an authenticated request tells the client its remaining budget.
        rate_limit: RateLimit | None = getattr(request, "rate_limit", None)
        if rate_limit is not None:
            for name, value in rate_limit.headers().items():
                response[name] = value
        return response


api = StorefrontApi(
    title="Storefront Billing API",
    version="2",
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
    response = api.create_response(
        request, error_body(exc.code, exc.message, exc.field, exc.details), status=exc.status
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


@api.exception_handler(NinjaValidationError)
def on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    first = exc.errors[0] if exc.errors else {}
    # ninja locates errors as ("query", "limit") or ("body", <parameter>, "endpointUrl");
    # the client knows the field by its own name only.
    location = [str(part) for part in first.get("loc", ())]
    if location[:1] == ["body"]:
        location = location[2:] if len(location) > 2 else location[1:]
    elif location[:1] in (["query"], ["path"]):
        location = location[1:]
    return _respond(
        request,
        ApiError(
            400,
            "VALIDATION_ERROR",
            first.get("msg", "Invalid request."),
            field=".".join(location) or None,
            details={"issues": [{"loc": e.get("loc"), "msg": e.get("msg")} for e in exc.errors]},
        ),
    )


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # ninja wraps whatever the body parser raises into "Cannot parse request body"; ours says
    # what was wrong and answers with its own status (415, 400 VALIDATION_ERROR…).
    refused = exc.__cause__
    if isinstance(refused, BodyRefused):
        return _respond(
            request, ApiError(refused.status, refused.code, refused.message, field=refused.field)
        )
    codes = {
        400: "BAD_REQUEST",
        401: "UNAUTHORIZED",
        403: "FORBIDDEN",
        404: "NOT_FOUND",
        405: "BAD_REQUEST",
    }
    return _respond(
        request, ApiError(exc.status_code, codes.get(exc.status_code, "BAD_REQUEST"), str(exc))
    )


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
    id: int
    name: str
    company: str
    customerType: str


class WhoAmI(Schema):
    email: str
    role: str
    scopes: list[str]
    keyCustomer: CustomerOut
    actingCustomer: CustomerOut


def customer_out(customer: Any) -> dict[str, Any]:
    return {
        "id": customer.pk,
        "name": customer.name,
        "company": customer.company,
        "customerType": customer.customer_type.value,
    }


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
            "email": acting.user.email,
            "role": acting.role.value,
            # The scopes in effect: what the key holds and the user's role still allows.
            "scopes": sorted(set(key.scopes) & {str(s) for s in acting.allowed_scopes()}),
            "keyCustomer": customer_out(key.customer),
            "actingCustomer": customer_out(acting.customer),
        }
    )
