"""REST endpoints for the storefront, its readiness and its inventory sources.

Mounted on the root API with an empty prefix, so paths are `/api/v2/storefront`,
`/api/v2/storefront/readiness` and `/api/v2/storefront/inventory-sources[/{sourceId}]`.
Every endpoint resolves its customer with `acting_for` (`?targetCustomerId=` for parents) and
only ever reaches that customer's storefront, so another customer's sources are simply not found.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import resolve, reverse
from django.views.decorators.csrf import csrf_exempt
from ninja import Body, Router, Schema, Status
from pydantic import Field, field_validator

from storefront import tasks
from storefront.access import Acting
from storefront.api import (
    ApiError,
    ApiInput,
    Envelope,
    ErrorEnvelope,
    Query,
    TargetQuery,
    acting_for,
    issue,
    ok,
    validation_error,
)
from storefront.models import (
    ActivationBlocked,
    AuthenticationType,
    BillingModel,
    ExecutionType,
    InventorySource,
    LifecycleError,
    SourceCheck,
    SourceProtocol,
    SourceStatus,
    SourceType,
    Storefront,
    StorefrontStatus,
    validate_currency_code,
)

router = Router(tags=["storefront"])

READ = "storefront:read"
WRITE = "storefront:write"

# Model field → API field, for errors that name the field the client sent.
_API_FIELDS = {
    "platform_id": "platformId",
    "default_currency": "defaultCurrency",
    "source_id": "sourceId",
    "execution_type": "executionType",
    "endpoint_url": "endpointUrl",
    "authentication_type": "authenticationType",
    "supported_billing": "supportedBilling",
    "credentials": "auth",
}


# Schemas


# Responses: each resource's fields are declared once, here, and read from the model
# (`validation_alias` names the model attribute); no hand-written dict repeats them.


class StorefrontOut(Schema):
    platformId: str = Field(validation_alias="platform_id")
    name: str
    status: StorefrontStatus
    defaultCurrency: str | None = Field(validation_alias="default_currency")
    customerId: int = Field(validation_alias="customer_id")
    createdAt: datetime = Field(validation_alias="created_at")
    updatedAt: datetime = Field(validation_alias="updated_at")


class StorefrontCreateIn(ApiInput):
    platformId: str | None = Field(None, description="2–100 chars, `^[a-z0-9][a-z0-9-]*[a-z0-9]$`.")
    name: str | None = Field(None, description="1–255 chars; defaults to the customer's name.")


class StorefrontUpdateIn(ApiInput):
    name: str | None = None
    defaultCurrency: str | None = Field(None, description="ISO 4217, uppercase, e.g. `USD`.")
    status: StorefrontStatus | None = Field(
        None,
        description="`ACTIVE` (refused with 409 while readiness is blocked) or `DISABLED`; "
        "a storefront never goes back to `PENDING` (409).",
    )


class ReadinessCheckOut(Schema):
    id: str
    name: str
    description: str
    category: str
    status: str
    isBlocker: bool
    actionLabel: str
    actionUrl: str | None = None
    details: dict[str, Any] | None = None


class ReadinessOut(Schema):
    platformId: str
    status: str
    checks: list[ReadinessCheckOut]


class SourceCheckOut(Schema):
    """The last background check of the agent behind a source."""

    outcome: SourceCheck = Field(validation_alias="check_outcome")
    checkedAt: datetime | None = Field(validation_alias="checked_at")
    error: str | None = Field(
        validation_alias="check_error", description="Why the agent did not answer; null if it did."
    )

    @field_validator("error", mode="before")
    @classmethod
    def _blank_is_null(cls, value: str | None) -> str | None:
        return value or None


class SourceOut(Schema):
    id: str = Field(description="The global id (a number, as a string).")
    sourceId: str = Field(validation_alias="source_id")
    name: str
    executionType: ExecutionType = Field(validation_alias="execution_type")
    type: SourceType
    endpointUrl: str = Field(validation_alias="endpoint_url")
    protocol: SourceProtocol
    authenticationType: AuthenticationType = Field(validation_alias="authentication_type")
    # Never the credentials themselves: only whether they are configured.
    authConfigured: bool = Field(validation_alias="auth_configured")
    description: str
    status: SourceStatus
    supportedBilling: list[str] = Field(validation_alias="supported_billing")
    lastCheck: SourceCheckOut = Field(
        description="PENDING sources activate once their agent answers this check."
    )
    createdAt: datetime = Field(validation_alias="created_at")
    updatedAt: datetime = Field(validation_alias="updated_at")

    @staticmethod
    def resolve_id(source: InventorySource) -> str:
        return str(source.pk)

    @staticmethod
    def resolve_lastCheck(source: InventorySource) -> InventorySource:  # noqa: N802
        return source


class SourceListMeta(Schema):
    count: int


class SourceList(Schema):
    data: list[SourceOut]
    meta: SourceListMeta
    error: None = None


class SourceCreateIn(ApiInput):
    name: str = Field(description="1–255 chars.")
    sourceId: str | None = Field(
        None, description="Unique in the storefront; defaults to the slugified name."
    )
    executionType: ExecutionType = ExecutionType.AGENT
    type: SourceType = SourceType.SALES
    endpointUrl: str
    protocol: SourceProtocol = SourceProtocol.MCP
    authenticationType: AuthenticationType = AuthenticationType.API_KEY
    auth: dict[str, Any] | None = Field(
        None, description="Credentials, shape per authentication type. Stored, never returned."
    )
    description: str = ""
    supportedBilling: list[BillingModel] = Field(
        default_factory=list,
        description='Billing models the agent advertises, e.g. ["operator", "agent"].',
    )


class SourceUpdateIn(ApiInput):
    name: str | None = None
    type: SourceType | None = None
    endpointUrl: str | None = None
    protocol: SourceProtocol | None = None
    authenticationType: AuthenticationType | None = None
    auth: dict[str, Any] | None = None
    description: str | None = None
    supportedBilling: list[BillingModel] | None = None
    status: SourceStatus | None = Field(
        None, description="`ACTIVE` or `DISABLED`; never back to `PENDING` (409)."
    )


class Deleted(Schema):
    sourceId: str
    deleted: bool


# Helpers


def _storefront(request: HttpRequest, target: int | None, scope: str) -> tuple[Acting, Storefront]:
    acting = acting_for(request, target, scope=scope)
    if scope == WRITE and not acting.is_admin:
        raise ApiError(403, "FORBIDDEN", f"Only admins of {acting.customer.name} can change it.")
    return acting, Storefront.objects.for_customer(acting.customer)


def _source(storefront: Storefront, source_id: str) -> InventorySource:
    source = storefront.sources.filter(source_id=source_id).first()
    if source is None:
        raise ApiError(404, "NOT_FOUND", f"No inventory source {source_id!r} on this storefront.")
    return source


def _validation_error(exc: ValidationError) -> ApiError:
    """A model's validation errors, each named by its API field, in the API's one shape."""
    if hasattr(exc, "error_dict"):
        issues = [
            issue("body", None if name == "__all__" else _API_FIELDS.get(name, name), message)
            for name, messages in exc.message_dict.items()
            for message in messages
        ]
    else:
        issues = [issue("body", None, message) for message in exc.messages]
    return validation_error(issues)


def _lifecycle_error(exc: LifecycleError) -> ApiError:
    details = None
    if isinstance(exc, ActivationBlocked):
        details = {
            "platformId": exc.readiness.platform_id,
            "status": exc.readiness.status,
            "checks": [check.as_api() for check in exc.readiness.blockers],
        }
    return ApiError(409, "CONFLICT", exc.message, field=exc.field, details=details)


def _credentials(auth: dict[str, Any] | None) -> dict[str, Any] | None:
    if auth is not None and not any(v not in (None, "") for v in auth.values()):
        raise ApiError(400, "VALIDATION_ERROR", "The credentials are empty.", field="auth")
    return auth


# Storefront


def _refuse_differences(existing: Storefront, payload: StorefrontCreateIn | None) -> None:
    """409 when a create asks for a storefront other than the one that exists (after checking
    the values themselves: an invalid platformId is a 400 either way)."""
    if payload is None:
        return
    if payload.platformId is not None:
        probe = Storefront(
            customer=existing.customer, platform_id=payload.platformId, name=existing.name
        )
        try:
            probe.clean_fields(
                exclude=[f.name for f in Storefront._meta.fields if f.name != "platform_id"]
            )
        except ValidationError as exc:
            raise _validation_error(exc) from None
    wanted = {"platformId": payload.platformId, "name": payload.name}
    current = {"platformId": existing.platform_id, "name": existing.name}
    for field, value in wanted.items():
        if value is not None and value.strip() != current[field]:
            raise ApiError(
                409,
                "CONFLICT",
                f"This customer's storefront already exists with {field} "
                f"{current[field]!r}; a storefront is created once. Change the name with "
                "PUT /api/v2/storefront; the platformId is fixed.",
                field=field,
                details={"current": current},
            )


_STOREFRONT_ERRORS = {400: ErrorEnvelope, 401: ErrorEnvelope, 403: ErrorEnvelope}


@router.get(
    "",
    response={200: Envelope[StorefrontOut], **_STOREFRONT_ERRORS},
    summary="The acting customer's storefront",
    url_name="storefront_get",
)
def get_storefront(request: HttpRequest, query: Query[TargetQuery]) -> dict[str, Any]:
    _, storefront = _storefront(request, query.targetCustomerId, READ)
    return ok(storefront)


@router.post(
    "",
    response={
        200: Envelope[StorefrontOut],
        201: Envelope[StorefrontOut],
        409: ErrorEnvelope,
        **_STOREFRONT_ERRORS,
    },
    summary="Create the storefront if missing; idempotent (returns the existing one)",
)
def create_storefront(
    request: HttpRequest,
    query: Query[TargetQuery],
    payload: StorefrontCreateIn | None = Body(None),  # noqa: B008
) -> Status:
    acting = acting_for(request, query.targetCustomerId, scope=WRITE)
    existing = Storefront.objects.filter(customer=acting.customer).first()
    if existing is not None:
        # Idempotent: the same request again gets the storefront back; asking for another
        # platformId or name is not silently ignored.
        _refuse_differences(existing, payload)
        return Status(200, ok(existing))
    if not acting.is_admin:
        raise ApiError(403, "FORBIDDEN", f"Only admins of {acting.customer.name} can create it.")
    storefront = Storefront.objects.for_customer(acting.customer)
    if payload is not None and (payload.platformId or payload.name):
        if payload.platformId:
            storefront.platform_id = payload.platformId
        if payload.name:
            storefront.name = payload.name
        try:
            storefront.full_clean()
        except ValidationError as exc:
            storefront.delete()
            raise _validation_error(exc) from None
        storefront.save()
    return Status(201, ok(storefront))


@router.put(
    "",
    response={200: Envelope[StorefrontOut], 409: ErrorEnvelope, **_STOREFRONT_ERRORS},
    summary="Update name or default currency; activate or disable",
)
def update_storefront(
    request: HttpRequest, query: Query[TargetQuery], payload: StorefrontUpdateIn
) -> dict[str, Any]:
    _, storefront = _storefront(request, query.targetCustomerId, WRITE)
    if payload.defaultCurrency is not None:
        try:
            validate_currency_code(payload.defaultCurrency)
        except ValidationError as exc:
            raise ApiError(
                400, "VALIDATION_ERROR", exc.messages[0], field="defaultCurrency"
            ) from None
        storefront.default_currency = payload.defaultCurrency
    if payload.name is not None:
        storefront.name = payload.name.strip()
    try:
        storefront.full_clean()
    except ValidationError as exc:
        raise _validation_error(exc) from None
    # One transaction: a refused activation (409) must not leave the name or currency changed.
    try:
        with transaction.atomic():
            storefront.save()
            # Status last, so `{"defaultCurrency": "USD", "status": "ACTIVE"}` counts the new
            # currency (readiness reads it inside this transaction).
            if payload.status is not None:
                storefront.change_status(payload.status)
    except LifecycleError as exc:
        raise _lifecycle_error(exc) from None
    storefront.refresh_from_db()
    return ok(storefront)


@router.get(
    "/readiness",
    response={200: Envelope[ReadinessOut], **_STOREFRONT_ERRORS},
    summary="Go-live checks and whether the storefront is ready or blocked",
)
def get_readiness(request: HttpRequest, query: Query[TargetQuery]) -> dict[str, Any]:
    _, storefront = _storefront(request, query.targetCustomerId, READ)
    return ok(storefront.readiness().as_api())


# Inventory sources


@router.get(
    "/inventory-sources",
    response={200: SourceList, **_STOREFRONT_ERRORS},
    summary="The storefront's inventory sources",
)
def list_sources(request: HttpRequest, query: Query[TargetQuery]) -> dict[str, Any]:
    _, storefront = _storefront(request, query.targetCustomerId, READ)
    sources = list(storefront.sources.all())
    return {"data": sources, "meta": {"count": len(sources)}, "error": None}


@router.post(
    "/inventory-sources",
    response={201: Envelope[SourceOut], 409: ErrorEnvelope, **_STOREFRONT_ERRORS},
    summary="Connect an AGENT inventory source",
)
def create_source(
    request: HttpRequest, query: Query[TargetQuery], payload: SourceCreateIn
) -> Status:
    _, storefront = _storefront(request, query.targetCustomerId, WRITE)
    fields = {
        "name": payload.name.strip(),
        "execution_type": payload.executionType,
        "type": payload.type,
        "endpoint_url": payload.endpointUrl.strip(),
        "protocol": payload.protocol,
        "authentication_type": payload.authenticationType,
        "description": payload.description,
        "supported_billing": payload.supportedBilling,
    }
    try:
        source = InventorySource.create_for(
            storefront,
            source_id=payload.sourceId,
            credentials=_credentials(payload.auth),
            **fields,
        )
    except ValidationError as exc:
        error = _validation_error(exc)
        if error.field == "sourceId" and "already has" in error.message:
            error.status, error.code = 409, "CONFLICT"
        raise error from None
    tasks.queue_check(source)
    return Status(201, ok(source))


@router.get(
    "/inventory-sources/{source_id}",
    response={200: Envelope[SourceOut], 404: ErrorEnvelope, **_STOREFRONT_ERRORS},
    summary="One inventory source",
)
def get_source(request: HttpRequest, source_id: str, query: Query[TargetQuery]) -> dict[str, Any]:
    _, storefront = _storefront(request, query.targetCustomerId, READ)
    return ok(_source(storefront, source_id))


@router.put(
    "/inventory-sources/{source_id}",
    response={
        200: Envelope[SourceOut],
        404: ErrorEnvelope,
        409: ErrorEnvelope,
        **_STOREFRONT_ERRORS,
    },
    summary="Change an inventory source, its credentials or its status",
)
def update_source(
    request: HttpRequest, source_id: str, query: Query[TargetQuery], payload: SourceUpdateIn
) -> dict[str, Any]:
    _, storefront = _storefront(request, query.targetCustomerId, WRITE)
    source = _source(storefront, source_id)
    given = payload.dict(exclude_unset=True)
    api_to_model = {
        "name": "name",
        "type": "type",
        "endpointUrl": "endpoint_url",
        "protocol": "protocol",
        "authenticationType": "authentication_type",
        "description": "description",
        "supportedBilling": "supported_billing",
    }
    changes = {
        model: given[api] for api, model in api_to_model.items() if given.get(api) is not None
    }
    credentials = _credentials(given.get("auth"))
    try:
        with transaction.atomic():  # a refused status change keeps the other fields as they were
            if changes or credentials is not None:
                source.update(credentials=credentials, **changes)
            if payload.status is not None:
                source.transition_to(payload.status)
    except ValidationError as exc:
        raise _validation_error(exc) from None
    except LifecycleError as exc:
        # Refused because its agent has not answered yet: check it (again) now.
        source.refresh_from_db()
        tasks.queue_check(source)
        raise _lifecycle_error(exc) from None
    source.refresh_from_db()
    tasks.queue_check(source)
    return ok(source)


@router.delete(
    "/inventory-sources/{source_id}",
    response={200: Envelope[Deleted], 404: ErrorEnvelope, **_STOREFRONT_ERRORS},
    summary="Remove an inventory source",
)
def delete_source(
    request: HttpRequest, source_id: str, query: Query[TargetQuery]
) -> dict[str, Any]:
    _, storefront = _storefront(request, query.targetCustomerId, WRITE)
    source = _source(storefront, source_id)
    source.delete()
    return ok({"sourceId": source_id, "deleted": True})


@csrf_exempt
def storefront_without_slash(request: HttpRequest) -> HttpResponse:
    """`/api/v2/storefront` exactly, as documented. The API is mounted at
    `/api/v2/storefront/`, so the bare path is answered by the same ninja view."""
    return resolve(reverse("api:storefront_get")).func(request)
