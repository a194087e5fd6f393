"""The billing endpoints of the REST API (`/api/v2/storefront/billing...`; reference in docs/api.md).

Every endpoint resolves its acting customer with `acting_for()` (the key's customer, or a child
named by `?targetCustomerId=`), checks the key's scope there, and answers in the envelope.
Reads come from our own tables (the local mirror and the latest account/balance snapshot),
never from live Stripe calls; only provisioning and account sessions talk to Stripe.

Decisions where the public API contract leaves room:
- Status, ledger, payouts and invoices are those of the acting customer's *own* Stripe
  account. A child that inherits its parent's billing gets a 400 saying so: the parent's
  account carries the parent's and siblings' money too, which a child must not read.
- `PUT /billing` is for platform staff keys (`billing:admin`). A customer without billing of
  its own gets a billing account created (standalone or parent); a child that inherits is
  refused, because a billing account of its own would stop it inheriting.
- `POST /billing/connect` defaults `country` to the parent's account country for a child,
  else "US"; calling it again returns the same account with a fresh 24-hour URL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Annotated, Any, Literal, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Body, Router, Schema
from pydantic import BeforeValidator, Field, field_validator

from billing import dashboard, gateway, onboarding
from billing.models import (
    MAX_NET_DAYS,
    BalanceTransaction,
    BillingAccount,
    ConnectAccount,
    FeeScheduleVersion,
    Invoice,
    InvoiceItem,
    Payout,
)
from billing.pagination import DEFAULT_LIMIT, MAX_LIMIT, InvalidCursor, keyset_page
from billing.resolution import ResolvedBilling, resolve_billing
from storefront.access import Acting
from storefront.api import (
    ApiError,
    ApiInput,
    Envelope,
    ListEnvelope,
    ListMeta,
    NoBody,
    Query,
    TargetQuery,
    acting_for,
    error_responses,
    ok,
    ok_list,
)
from storefront.models import Customer, Scope

router = Router(tags=["billing"])
S = TypeVar("S", bound=Schema)

# Embedded onboarding renders these two components (only what the page renders).
ACCOUNT_SESSION_COMPONENTS = ["account_onboarding", "notification_banner"]
# Fee percentages are stored with four decimal places.
PERCENT_DECIMAL_PLACES = 4


# Errors: billing and gateway exceptions → the documented envelope codes.


def _billing_error(exc: onboarding.BillingError) -> ApiError:
    return ApiError(400, "VALIDATION_ERROR", exc.message, field=exc.field)


def _gateway_error(exc: gateway.GatewayError) -> ApiError:
    if isinstance(exc, gateway.StripeUnavailable):
        return ApiError(503, "SERVICE_UNAVAILABLE", exc.message, headers={"Retry-After": "30"})
    if isinstance(exc, gateway.StripeNotConfigured):
        return ApiError(400, "VALIDATION_ERROR", f"Stripe not configured. {exc.message}")
    return ApiError(400, "VALIDATION_ERROR", exc.message)


@contextmanager
def _envelope_errors() -> Iterator[None]:
    """Billing and gateway failures raised inside as their envelope errors: the onboarding
    endpoints all call into onboarding and Stripe, and answer those failures alike."""
    try:
        yield
    except onboarding.BillingError as exc:
        raise _billing_error(exc) from None
    except gateway.GatewayError as exc:
        raise _gateway_error(exc) from None


def _acting_to_provision(request: HttpRequest, target_customer_id: int | None) -> Acting:
    """The acting customer for an endpoint that provisions or onboards: a write key, an
    admin (403 otherwise), and never a child's own users (400)."""
    acting = acting_for(request, target_customer_id, scope=Scope.BILLING_WRITE)
    if not acting.is_admin:
        raise ApiError(403, "FORBIDDEN", f"Only an admin of {acting.customer.name} can do this.")
    refusal = acting.provisioning_refusal()
    if refusal:
        raise ApiError(400, "VALIDATION_ERROR", refusal)
    return acting


def _own_connect(acting: Acting) -> ConnectAccount:
    """The acting customer's own Stripe account, or 400 saying why there is none."""
    try:
        return onboarding.own_connect_account(acting)
    except onboarding.NotProvisioned as exc:
        raise _billing_error(exc) from None


def _epoch(value: datetime | int | None) -> int | None:
    if isinstance(value, datetime):
        return int(value.timestamp())
    return value


def _blank_is_null(value: str | None) -> str | None:
    return value or None


# Response field types: each resource's fields are declared once, in its schema, which reads
# the mirror's promoted columns (never Stripe's raw JSON); these convert as they read.
EpochSeconds = Annotated[int, BeforeValidator(_epoch)]
OptionalEpochSeconds = Annotated[int | None, BeforeValidator(_epoch)]
OptionalText = Annotated[str | None, BeforeValidator(_blank_is_null)]


# Setup: provision, onboarding links, account sessions


class ConnectIn(ApiInput):
    country: str | None = Field(
        None,
        min_length=2,
        max_length=2,
        pattern=r"^[A-Z]{2}$",
        description="ISO 3166-1 alpha-2 country of the business; permanent once set. "
        "Defaults to the parent's account country for a child, else US.",
        examples=["US"],
    )


ONBOARDING_URL_DESCRIPTION = (
    "A link the seller opens (no dashboard login needed) to continue on Stripe's hosted "
    "onboarding: each click mints a fresh Stripe account link and redirects to it. Valid for "
    "24 hours, for this account only; the next link issued replaces it, and it stops working "
    "once onboarding is complete."
)


class ConnectOut(Schema):
    stripeConnectedAccountId: str
    onboardingUrl: str = Field(description=ONBOARDING_URL_DESCRIPTION)


class OnboardOut(Schema):
    onboardingUrl: str = Field(description=ONBOARDING_URL_DESCRIPTION)


class AccountSessionOut(Schema):
    clientSecret: str = Field(description="For Stripe Connect.js; short-lived, never stored.")


def _default_country(customer: Customer) -> str:
    parent = customer.parent
    if parent is not None:
        parent_connect = resolve_billing(parent).connect
        if parent_connect is not None:
            return parent_connect.country
    return onboarding.DEFAULT_COUNTRY


def _no_store(response: HttpResponse) -> None:
    # Onboarding URLs and session secrets act for the account: never cache them anywhere.
    response["Cache-Control"] = "no-store"


def _onboarding_url(request: HttpRequest, acting: Acting) -> str:
    return onboarding.onboarding_url(acting, request.build_absolute_uri).url


@router.post(
    "/connect",
    response={200: Envelope[ConnectOut], **error_responses(400, 403, 503)},
    summary="Provision the Stripe Connect Express account (once) and get an onboarding URL",
)
def connect(
    request: HttpRequest,
    response: HttpResponse,
    query: Query[TargetQuery],
    body: ConnectIn | None = Body(None),  # noqa: B008 - ninja's parameter declaration
) -> dict[str, Any]:
    acting = _acting_to_provision(request, query.targetCustomerId)
    _no_store(response)
    country = body.country if body is not None else None
    if country is None and resolve_billing(acting.customer).own_connect is None:
        country = _default_country(acting.customer)
    with _envelope_errors():
        account, _ = onboarding.provision(acting, country=country)
        url = _onboarding_url(request, acting)
    return ok({"stripeConnectedAccountId": account.stripe_id, "onboardingUrl": url})


@router.get(
    "/onboard",
    response={200: Envelope[OnboardOut], **error_responses(400, 403)},
    summary="A fresh 24-hour onboarding URL for the provisioned account",
)
def onboard(
    request: HttpRequest, response: HttpResponse, query: Query[TargetQuery]
) -> dict[str, Any]:
    acting = _acting_to_provision(request, query.targetCustomerId)
    _no_store(response)
    with _envelope_errors():
        # The URL points at our own endpoint, which needs Stripe when it is opened.
        gateway.client()
        _own_connect(acting)
        url = _onboarding_url(request, acting)
    return ok({"onboardingUrl": url})


@router.post(
    "/account-session",
    response={200: Envelope[AccountSessionOut], **error_responses(400, 403, 503)},
    summary="An account session client secret for embedded onboarding",
)
def account_session(
    request: HttpRequest,
    response: HttpResponse,
    query: Query[TargetQuery],
    body: NoBody | None = Body(None),  # noqa: B008 - ninja's parameter declaration
) -> dict[str, Any]:
    acting = _acting_to_provision(request, query.targetCustomerId)
    _no_store(response)
    _own_connect(acting)
    with _envelope_errors():
        secret = onboarding.account_session_secret(acting, ACCOUNT_SESSION_COMPONENTS)
    return ok({"clientSecret": secret})


# Billing configuration


OnboardingStatusName = Literal["none", "pending", "complete", "restricted"]


class FeeOut(Schema):
    name: str
    description: str
    feePercent: float = Field(validation_alias="fee_percent")


def _percent(value: Decimal | str | None) -> float | None:
    # A percentage for display in JSON; money itself never goes through floats.
    return float(value) if value is not None else None


class BillingConfig(Schema):
    """Read from the resolved billing (the customer's own, or its parent's when inherited)."""

    stripeConnectedAccountId: str | None
    onboardingStatus: OnboardingStatusName = Field(
        description="Of the Stripe account serving this customer (the parent's when inherited)."
    )
    country: str | None
    platformFeePercent: float | None
    fees: list[FeeOut] | None
    currency: str | None
    defaultNetDays: int | None
    inherited: bool
    createdAt: datetime
    updatedAt: datetime

    @staticmethod
    def resolve_stripeConnectedAccountId(billing: ResolvedBilling) -> str | None:  # noqa: N802
        return billing.connect.stripe_id if billing.connect else None

    @staticmethod
    def resolve_onboardingStatus(billing: ResolvedBilling) -> str:  # noqa: N802
        return str(billing.effective_status.value)

    @staticmethod
    def resolve_country(billing: ResolvedBilling) -> str | None:
        return billing.connect.country if billing.connect else None

    @staticmethod
    def resolve_platformFeePercent(billing: ResolvedBilling) -> float | None:  # noqa: N802
        schedule = _schedule(billing)
        return _percent(schedule.platform_fee_percent) if schedule else None

    @staticmethod
    def resolve_fees(billing: ResolvedBilling) -> list[Any] | None:
        schedule = _schedule(billing)
        return schedule.additional_fees if schedule and schedule.fees is not None else None

    @staticmethod
    def resolve_currency(billing: ResolvedBilling) -> str | None:
        schedule = _schedule(billing)
        return schedule.currency if schedule else None

    @staticmethod
    def resolve_defaultNetDays(billing: ResolvedBilling) -> int | None:  # noqa: N802
        schedule = _schedule(billing)
        return schedule.default_net_days if schedule else None

    @staticmethod
    def resolve_createdAt(billing: ResolvedBilling) -> datetime:  # noqa: N802
        assert billing.account is not None
        return billing.account.created_at

    @staticmethod
    def resolve_updatedAt(billing: ResolvedBilling) -> datetime:  # noqa: N802
        assert billing.account is not None
        schedule = _schedule(billing)
        updated = billing.account.updated_at
        return max(updated, schedule.created_at) if schedule else updated


def _schedule(billing: ResolvedBilling) -> FeeScheduleVersion | None:
    assert billing.account is not None
    return billing.account.fee_schedule()


class BillingOut(Schema):
    billing: BillingConfig | None


def _billing_out(billing: ResolvedBilling) -> dict[str, Any]:
    # `billing` is null when the storefront has no billing configuration at all.
    return {"billing": billing if billing.account is not None else None}


@router.get(
    "",
    response={200: Envelope[BillingOut], **error_responses(400, 403)},
    summary="The billing configuration (own, or inherited from the parent)",
)
def get_billing(request: HttpRequest, query: Query[TargetQuery]) -> dict[str, Any]:
    acting = acting_for(request, query.targetCustomerId, scope=Scope.BILLING_READ)
    return ok(_billing_out(resolve_billing(acting.customer)))


def _exact_percent(value: float | None) -> float | None:
    if value is None:
        return None
    try:
        exponent = Decimal(str(value)).as_tuple().exponent
    except InvalidOperation:  # pragma: no cover - pydantic already refused non-numbers
        raise ValueError("must be a number") from None
    if not isinstance(exponent, int) or exponent < -PERCENT_DECIMAL_PLACES:
        raise ValueError(f"must have at most {PERCENT_DECIMAL_PLACES} decimal places")
    return value


def _printable(value: str | None) -> str | None:
    if value is not None and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


class FeeIn(ApiInput):
    name: str = Field(min_length=1, max_length=255, examples=["Ad serving"])
    feePercent: float = Field(ge=0, le=100, examples=[2])
    description: str | None = Field(None, max_length=500, examples=["Third-party ad serving"])

    _percent = field_validator("feePercent")(_exact_percent)
    _text = field_validator("name", "description")(_printable)


class BillingUpdate(ApiInput):
    """Send only the fields to change; `fees` replaces the whole list; null clears a field."""

    platformFeePercent: float | None = Field(None, ge=0, le=100, examples=[12.5])
    fees: list[FeeIn] | None = None
    currency: str | None = Field(
        None, min_length=3, max_length=3, pattern=r"^[A-Z]{3}$", examples=["USD"]
    )
    defaultNetDays: int | None = Field(None, ge=0, le=MAX_NET_DAYS, examples=[30])

    _percent = field_validator("platformFeePercent")(_exact_percent)


_UPDATE_FIELDS = {
    "platformFeePercent": "platform_fee_percent",
    "fees": "fees",
    "currency": "currency",
    "defaultNetDays": "default_net_days",
}


def _schedule_changes(update: BillingUpdate) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name in update.model_fields_set:
        value = getattr(update, name)
        if name == "platformFeePercent" and value is not None:
            value = Decimal(str(value))
        elif name == "fees" and value is not None:
            value = [
                {
                    "name": fee.name,
                    "feePercent": str(Decimal(str(fee.feePercent))),
                    "description": fee.description or "",
                }
                for fee in value
            ]
        changes[_UPDATE_FIELDS[name]] = value
    return changes


def _own_billing_account(acting: Acting) -> BillingAccount:
    billing = resolve_billing(acting.customer)
    if billing.account is not None and not billing.inherited:
        return billing.account
    if acting.customer.parent_id is not None:
        parent = acting.customer.parent
        assert parent is not None
        raise ApiError(
            400,
            "VALIDATION_ERROR",
            f"{acting.customer.name} inherits the billing of {parent.name}. Change the fees of "
            f"{parent.name} (customer {parent.pk}), or provision a separate Stripe account "
            f"for {acting.customer.name} first.",
            field="targetCustomerId",
        )
    return BillingAccount.objects.open_for(acting.customer, opened_by=acting.user)


@router.put(
    "",
    response={200: Envelope[BillingOut], **error_responses(400, 403)},
    summary="Change fees, currency and net days (platform staff keys)",
)
def update_billing(
    request: HttpRequest, query: Query[TargetQuery], body: BillingUpdate
) -> dict[str, Any]:
    acting = acting_for(request, query.targetCustomerId, scope=Scope.BILLING_ADMIN)
    if not acting.is_platform_staff:
        raise ApiError(403, "FORBIDDEN", "Only platform staff can change billing configuration.")
    account = _own_billing_account(acting)
    changes = _schedule_changes(body)
    if changes:
        try:
            account.change_fee_schedule(changed_by=acting.user, note="REST API", **changes)
        except DjangoValidationError as exc:
            field, messages = next(iter(exc.message_dict.items()))
            api_field = {v: k for k, v in _UPDATE_FIELDS.items()}.get(field, field)
            raise ApiError(400, "VALIDATION_ERROR", messages[0], field=api_field) from None
    return ok(_billing_out(resolve_billing(acting.customer)))


# Status and child accounts


class Requirements(Schema):
    currentlyDue: list[str]
    eventuallyDue: list[str]


class BalanceAmount(Schema):
    amount: int = Field(description="Minor units of the currency.")
    currency: str


class Balance(Schema):
    available: list[BalanceAmount]
    pending: list[BalanceAmount]


class AccountStatus(Schema):
    """Read from the Connect account's latest snapshot."""

    accountId: str = Field(validation_alias="stripe_id")
    chargesEnabled: bool = Field(validation_alias="charges_enabled")
    payoutsEnabled: bool = Field(validation_alias="payouts_enabled")
    requirements: Requirements
    balance: Balance
    asOf: datetime | None = Field(
        description="When the oldest part of this snapshot (account or balance) was read from "
        "Stripe; null if never."
    )

    @staticmethod
    def resolve_requirements(connect: ConnectAccount) -> dict[str, list[str]]:
        return {"currentlyDue": connect.currently_due, "eventuallyDue": connect.eventually_due}

    @staticmethod
    def resolve_balance(connect: ConnectAccount) -> dict[str, list[Any]]:
        return {"available": connect.balance_available, "pending": connect.balance_pending}

    @staticmethod
    def resolve_asOf(connect: ConnectAccount) -> datetime | None:  # noqa: N802
        times = [t for t in (connect.refreshed_at, connect.balance_as_of) if t is not None]
        return min(times) if times else None


@router.get(
    "/status",
    response={200: Envelope[AccountStatus], **error_responses(400, 403)},
    summary="Verification state, requirements and balance, from the latest snapshot",
)
def status(request: HttpRequest, query: Query[TargetQuery]) -> dict[str, Any]:
    acting = acting_for(request, query.targetCustomerId, scope=Scope.BILLING_READ)
    return ok(_own_connect(acting))


class ChildAccount(Schema):
    """Read from a row of `billing.dashboard.child_rows`."""

    customerId: int
    name: str
    company: str
    inherited: bool
    onboardingStatus: OnboardingStatusName

    @staticmethod
    def resolve_customerId(row: dashboard.ChildRow) -> int:  # noqa: N802
        return int(row.customer.pk)

    @staticmethod
    def resolve_name(row: dashboard.ChildRow) -> str:
        return row.customer.name

    @staticmethod
    def resolve_company(row: dashboard.ChildRow) -> str:
        return row.customer.company

    @staticmethod
    def resolve_onboardingStatus(row: dashboard.ChildRow) -> str:  # noqa: N802
        # An inheriting child reports "none" (the page shows the parent's).
        return "none" if row.inherited else str(row.status.value)


class AccountsOut(Schema):
    accounts: list[ChildAccount]


@router.get(
    "/accounts",
    response={200: Envelope[AccountsOut], **error_responses(400, 403)},
    summary="Each child's billing: inherited or its own account and its status (parents)",
)
def accounts(request: HttpRequest, query: Query[TargetQuery]) -> dict[str, Any]:
    acting = acting_for(request, query.targetCustomerId, scope=Scope.BILLING_READ)
    children = list(Customer.objects.filter(parent=acting.customer).order_by("name", "id"))
    if not children:
        raise ApiError(
            400,
            "VALIDATION_ERROR",
            f"{acting.customer.name} is not a parent account: it has no child accounts.",
        )
    rows = dashboard.child_rows(acting.customer, children)
    return ok({"accounts": rows})


# Lists from the local mirror, newest first, keyset-paginated


class ListQuery(TargetQuery):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Page size, 1–100.")
    # Our opaque cursors are URL-safe base64 behind a prefix; Stripe ids use the same alphabet.
    starting_after: str | None = Field(
        None,
        max_length=255,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The `meta.cursor` of the previous page (or the id of its last item).",
    )


def _page(
    request: HttpRequest,
    query: ListQuery,
    queryset: Callable[[ConnectAccount], QuerySet[Any]],
) -> dict[str, Any]:
    acting = acting_for(request, query.targetCustomerId, scope=Scope.BILLING_READ)
    connect = _own_connect(acting)
    try:
        page = keyset_page(
            queryset(connect), limit=query.limit, starting_after=query.starting_after
        )
    except InvalidCursor as exc:
        raise ApiError(400, "VALIDATION_ERROR", str(exc), field="starting_after") from None
    return ok_list(list(page.items), limit=page.limit, has_more=page.has_more, cursor=page.cursor)


# A list of a plain schema (every field a column, converted only by its BeforeValidators: no
# resolvers, no other validators) is read as column values and built without validating each
# row again: the columns are the schema's own types, and django-ninja passes an envelope that
# is already its response model through as it is (`model_dump`, no re-validation). The
# response and its OpenAPI schema are those of the declared schema; validating rows we had
# just read was most of a list's serialisation.

PlainField = tuple[str, str, tuple[Callable[..., Any], ...]]


@cache
def plain_fields(schema: type[Schema]) -> tuple[PlainField, ...]:
    """(field, column, converters) of each field of a plain schema; TypeError otherwise."""
    decorators = schema.__pydantic_decorators__
    own_validators = [name for name in decorators.model_validators if name != "_run_root_validator"]
    resolvers = getattr(schema, "_ninja_resolvers", None)
    if resolvers or decorators.field_validators or own_validators:
        raise TypeError(f"{schema.__name__} is not a plain schema: it needs validating")
    fields: list[PlainField] = []
    for name, info in schema.model_fields.items():
        alias = info.validation_alias
        column = alias if isinstance(alias, str) else name
        converters = tuple(m.func for m in info.metadata if isinstance(m, BeforeValidator))
        fields.append((name, column, converters))
    return tuple(fields)


def _plain_page(
    request: HttpRequest,
    query: ListQuery,
    schema: type[S],
    queryset: Callable[[Customer], QuerySet[Any]],
) -> ListEnvelope[S]:
    """`_page` for a plain schema (see `plain_fields`), its rows read through the acting
    customer's own account in the page's one query (`queryset` of the customer); only a page
    that is empty or a cursor that leads nowhere asks whether there is an account at all, so
    a customer without one gets the same 400 as from `_page`."""
    acting = acting_for(request, query.targetCustomerId, scope=Scope.BILLING_READ)
    fields = plain_fields(schema)
    columns = {column for _, column, _ in fields} | {"created", "id"}  # the keyset's
    try:
        page = keyset_page(
            queryset(acting.customer).values(*columns),
            limit=query.limit,
            starting_after=query.starting_after,
        )
    except InvalidCursor as exc:
        _own_connect(acting)  # no account of its own: that is the error
        raise ApiError(400, "VALIDATION_ERROR", str(exc), field="starting_after") from None
    if not page.items:
        _own_connect(acting)
    items = []
    for row in page.items:
        values = {}
        for name, column, converters in fields:
            value = row[column]
            for convert in converters:
                value = convert(value)
            values[name] = value
        items.append(schema.model_construct(**values))
    meta = ListMeta.model_construct(
        count=len(items), limit=page.limit, hasMore=page.has_more, cursor=page.cursor
    )
    return ListEnvelope[schema].model_construct(data=items, meta=meta, error=None)  # type: ignore[valid-type]


class Transaction(Schema):
    id: str = Field(validation_alias="stripe_id")
    type: str
    amount: int
    currency: str
    created: EpochSeconds
    description: OptionalText
    status: str
    fee: int
    net: int


@router.get(
    "/transactions",
    response={200: ListEnvelope[Transaction], **error_responses(400, 403)},
    summary="The balance-transaction ledger, newest first",
)
def transactions(request: HttpRequest, query: Query[ListQuery]) -> ListEnvelope[Transaction]:
    return _plain_page(
        request,
        query,
        Transaction,
        lambda customer: BalanceTransaction.objects.filter(
            connect_account__billing_account__customer=customer
        ),
    )


class PayoutOut(Schema):
    id: str = Field(validation_alias="stripe_id")
    amount: int
    currency: str
    created: EpochSeconds
    arrivalDate: OptionalEpochSeconds = Field(validation_alias="arrival_date")
    status: str
    method: OptionalText
    description: OptionalText


@router.get(
    "/payouts",
    response={200: ListEnvelope[PayoutOut], **error_responses(400, 403)},
    summary="Payouts to the bank, newest first",
)
def payouts(request: HttpRequest, query: Query[ListQuery]) -> ListEnvelope[PayoutOut]:
    return _plain_page(
        request,
        query,
        PayoutOut,
        lambda customer: Payout.objects.filter(connect_account__billing_account__customer=customer),
    )


class InvoiceOut(Schema):
    id: str = Field(validation_alias="stripe_id")
    number: OptionalText
    status: OptionalText
    currency: str
    amountDue: int = Field(validation_alias="amount_due")
    amountPaid: int = Field(validation_alias="amount_paid")
    amountRemaining: int = Field(validation_alias="amount_remaining")
    total: int
    created: EpochSeconds
    dueDate: OptionalEpochSeconds = Field(validation_alias="due_date")
    periodStart: OptionalEpochSeconds = Field(validation_alias="period_start")
    periodEnd: OptionalEpochSeconds = Field(validation_alias="period_end")
    hostedInvoiceUrl: OptionalText = Field(validation_alias="hosted_invoice_url")
    invoicePdf: OptionalText = Field(validation_alias="invoice_pdf")
    description: OptionalText
    customerEmail: str | None
    customerName: str | None

    @staticmethod
    def resolve_customerEmail(invoice: Invoice) -> str | None:  # noqa: N802
        return invoice.customer_email or (invoice.buyer.email if invoice.buyer else "") or None

    @staticmethod
    def resolve_customerName(invoice: Invoice) -> str | None:  # noqa: N802
        return invoice.customer_name or (invoice.buyer.name if invoice.buyer else "") or None


@router.get(
    "/invoices",
    response={200: ListEnvelope[InvoiceOut], **error_responses(400, 403)},
    summary="Invoices issued to buyers on the connected account, newest first",
)
def invoices(request: HttpRequest, query: Query[ListQuery]) -> dict[str, Any]:
    return _page(
        request,
        query,
        lambda connect: Invoice.objects.filter(connect_account=connect).select_related("buyer"),
    )


class Period(Schema):
    start: int
    end: int


class PendingItem(Schema):
    id: str = Field(validation_alias="stripe_id")
    description: str
    currency: str
    amount: int
    quantity: int
    unitAmount: int | None = Field(validation_alias="unit_amount")
    date: EpochSeconds = Field(validation_alias="created")
    period: Period
    proration: bool
    customerId: str | None

    @staticmethod
    def resolve_period(item: InvoiceItem) -> dict[str, int | None]:
        # An item without a period of its own covers the moment it was created.
        date = _epoch(item.created)
        return {
            "start": _epoch(item.period_start) or date,
            "end": _epoch(item.period_end) or date,
        }

    @staticmethod
    def resolve_customerId(item: InvoiceItem) -> str | None:  # noqa: N802
        return item.buyer.stripe_customer_id or None


@router.get(
    "/pending-invoice-items",
    response={200: ListEnvelope[PendingItem], **error_responses(400, 403)},
    summary="Invoice items not yet on an invoice (what the next invoice will contain)",
)
def pending_invoice_items(request: HttpRequest, query: Query[ListQuery]) -> dict[str, Any]:
    return _page(
        request,
        query,
        lambda connect: InvoiceItem.objects.filter(
            connect_account=connect, invoice_stripe_id=""
        ).select_related("buyer"),
    )
