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

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Body, Query, Router, Schema
from pydantic import ConfigDict, Field, field_validator

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
    Envelope,
    ListEnvelope,
    TargetQuery,
    acting_for,
    error_responses,
    ok,
    ok_list,
)
from storefront.models import Customer, Scope

router = Router(tags=["billing"])

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


def _epoch(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


# Setup: provision, onboarding links, account sessions


class ConnectIn(Schema):
    model_config = ConfigDict(extra="forbid")

    country: str | None = Field(
        None,
        min_length=2,
        max_length=2,
        pattern=r"^[A-Z]{2}$",
        description="ISO 3166-1 alpha-2 country of the business; permanent once set. "
        "Defaults to the parent's account country for a child, else US.",
        examples=["US"],
    )


class ConnectOut(Schema):
    stripeConnectedAccountId: str
    onboardingUrl: str = Field(description="Stripe-hosted onboarding, valid for 24 hours.")


class OnboardOut(Schema):
    onboardingUrl: str = Field(description="Stripe-hosted onboarding, valid for 24 hours.")


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
    try:
        account, _ = onboarding.provision(acting, country=country)
        url = _onboarding_url(request, acting)
    except onboarding.BillingError as exc:
        raise _billing_error(exc) from None
    except gateway.GatewayError as exc:
        raise _gateway_error(exc) from None
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
    try:
        # The URL points at our own endpoint, which needs Stripe when it is opened.
        gateway.client()
        _own_connect(acting)
        url = _onboarding_url(request, acting)
    except onboarding.BillingError as exc:
        raise _billing_error(exc) from None
    except gateway.GatewayError as exc:
        raise _gateway_error(exc) from None
    return ok({"onboardingUrl": url})


@router.post(
    "/account-session",
    response={200: Envelope[AccountSessionOut], **error_responses(400, 403, 503)},
    summary="An account session client secret for embedded onboarding",
)
def account_session(
    request: HttpRequest, response: HttpResponse, query: Query[TargetQuery]
) -> dict[str, Any]:
    acting = _acting_to_provision(request, query.targetCustomerId)
    _no_store(response)
    _own_connect(acting)
    try:
        secret = onboarding.account_session_secret(acting, ACCOUNT_SESSION_COMPONENTS)
    except onboarding.BillingError as exc:
        raise _billing_error(exc) from None
    except gateway.GatewayError as exc:
        raise _gateway_error(exc) from None
    return ok({"clientSecret": secret})


# Billing configuration


OnboardingStatusName = Literal["none", "pending", "complete", "restricted"]


class FeeOut(Schema):
    name: str
    description: str
    feePercent: float


class BillingConfig(Schema):
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


class BillingOut(Schema):
    billing: BillingConfig | None


def _percent(value: Decimal | str | None) -> float | None:
    # A percentage for display in JSON; money itself never goes through floats.
    return float(value) if value is not None else None


def _billing_config(billing: ResolvedBilling) -> dict[str, Any] | None:
    account = billing.account
    if account is None:
        return None
    connect = billing.connect
    schedule: FeeScheduleVersion | None = account.fee_schedule()
    updated = max(account.updated_at, schedule.created_at) if schedule else account.updated_at
    return {
        "stripeConnectedAccountId": connect.stripe_id if connect else None,
        "onboardingStatus": billing.effective_status.value,
        "country": connect.country if connect else None,
        "platformFeePercent": _percent(schedule.platform_fee_percent) if schedule else None,
        "fees": (
            [
                {
                    "name": f.name,
                    "description": f.description,
                    "feePercent": _percent(f.fee_percent),
                }
                for f in schedule.additional_fees
            ]
            if schedule and schedule.fees is not None
            else None
        ),
        "currency": schedule.currency if schedule else None,
        "defaultNetDays": schedule.default_net_days if schedule else None,
        "inherited": billing.inherited,
        "createdAt": account.created_at,
        "updatedAt": updated,
    }


@router.get(
    "",
    response={200: Envelope[BillingOut], **error_responses(400, 403)},
    summary="The billing configuration (own, or inherited from the parent)",
)
def get_billing(request: HttpRequest, query: Query[TargetQuery]) -> dict[str, Any]:
    acting = acting_for(request, query.targetCustomerId, scope=Scope.BILLING_READ)
    return ok({"billing": _billing_config(resolve_billing(acting.customer))})


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


class FeeIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255, examples=["Ad serving"])
    feePercent: float = Field(ge=0, le=100, examples=[2])
    description: str | None = Field(None, max_length=500, examples=["Third-party ad serving"])

    _percent = field_validator("feePercent")(_exact_percent)
    _text = field_validator("name", "description")(_printable)


class BillingUpdate(Schema):
    """Send only the fields to change; `fees` replaces the whole list; null clears a field."""

    model_config = ConfigDict(extra="forbid")

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
    return ok({"billing": _billing_config(resolve_billing(acting.customer))})


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
    accountId: str
    chargesEnabled: bool
    payoutsEnabled: bool
    requirements: Requirements
    balance: Balance
    asOf: datetime | None = Field(
        description="When the oldest part of this snapshot (account or balance) was read from "
        "Stripe; null if never."
    )


@router.get(
    "/status",
    response={200: Envelope[AccountStatus], **error_responses(400, 403)},
    summary="Verification state, requirements and balance, from the latest snapshot",
)
def status(request: HttpRequest, query: Query[TargetQuery]) -> dict[str, Any]:
    acting = acting_for(request, query.targetCustomerId, scope=Scope.BILLING_READ)
    connect = _own_connect(acting)
    times = [t for t in (connect.refreshed_at, connect.balance_as_of) if t is not None]
    return ok(
        {
            "accountId": connect.stripe_id,
            "chargesEnabled": connect.charges_enabled,
            "payoutsEnabled": connect.payouts_enabled,
            "requirements": {
                "currentlyDue": list(connect.currently_due),
                "eventuallyDue": list(connect.eventually_due),
            },
            "balance": {
                "available": list(connect.balance_available),
                "pending": list(connect.balance_pending),
            },
            "asOf": min(times) if times else None,
        }
    )


class ChildAccount(Schema):
    customerId: int
    name: str
    company: str
    inherited: bool
    onboardingStatus: OnboardingStatusName


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
    rows = [
        {
            "customerId": row.customer.pk,
            "name": row.customer.name,
            "company": row.customer.company,
            "inherited": row.inherited,
            # The contract: an inheriting child reports "none" (the page shows the parent's).
            "onboardingStatus": "none" if row.inherited else row.status.value,
        }
        for row in dashboard.child_rows(acting.customer, children)
    ]
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
    serialize: Callable[[Any], dict[str, Any]],
) -> dict[str, Any]:
    acting = acting_for(request, query.targetCustomerId, scope=Scope.BILLING_READ)
    connect = _own_connect(acting)
    try:
        page = keyset_page(
            queryset(connect), limit=query.limit, starting_after=query.starting_after
        )
    except InvalidCursor as exc:
        raise ApiError(400, "VALIDATION_ERROR", str(exc), field="starting_after") from None
    return ok_list(
        [serialize(item) for item in page.items],
        limit=page.limit,
        has_more=page.has_more,
        cursor=page.cursor,
    )


class Transaction(Schema):
    id: str
    type: str
    amount: int
    currency: str
    created: int
    description: str | None
    status: str
    fee: int
    net: int


def _transaction(row: BalanceTransaction) -> dict[str, Any]:
    return {
        "id": row.stripe_id,
        "type": row.type,
        "amount": row.amount,
        "currency": row.currency,
        "created": _epoch(row.created),
        "description": row.description or None,
        "status": row.status,
        "fee": row.fee,
        "net": row.net,
    }


@router.get(
    "/transactions",
    response={200: ListEnvelope[Transaction], **error_responses(400, 403)},
    summary="The balance-transaction ledger, newest first",
)
def transactions(request: HttpRequest, query: Query[ListQuery]) -> dict[str, Any]:
    return _page(
        request,
        query,
        lambda connect: BalanceTransaction.objects.filter(connect_account=connect),
        _transaction,
    )


class PayoutOut(Schema):
    id: str
    amount: int
    currency: str
    created: int
    arrivalDate: int | None
    status: str
    method: str | None
    description: str | None


def _payout(row: Payout) -> dict[str, Any]:
    return {
        "id": row.stripe_id,
        "amount": row.amount,
        "currency": row.currency,
        "created": _epoch(row.created),
        "arrivalDate": _epoch(row.arrival_date),
        "status": row.status,
        "method": row.method or None,
        "description": row.raw.get("description") or None,
    }


@router.get(
    "/payouts",
    response={200: ListEnvelope[PayoutOut], **error_responses(400, 403)},
    summary="Payouts to the bank, newest first",
)
def payouts(request: HttpRequest, query: Query[ListQuery]) -> dict[str, Any]:
    return _page(
        request, query, lambda connect: Payout.objects.filter(connect_account=connect), _payout
    )


class InvoiceOut(Schema):
    id: str
    number: str | None
    status: str | None
    currency: str
    amountDue: int
    amountPaid: int
    amountRemaining: int
    total: int
    created: int
    dueDate: int | None
    periodStart: int | None
    periodEnd: int | None
    hostedInvoiceUrl: str | None
    invoicePdf: str | None
    description: str | None
    customerEmail: str | None
    customerName: str | None


def _invoice(row: Invoice) -> dict[str, Any]:
    raw = row.raw
    buyer = row.buyer
    return {
        "id": row.stripe_id,
        "number": row.number or None,
        "status": row.status or None,
        "currency": row.currency,
        "amountDue": row.amount_due,
        "amountPaid": row.amount_paid,
        "amountRemaining": row.amount_remaining,
        "total": row.total,
        "created": _epoch(row.created),
        "dueDate": _epoch(row.due_date),
        "periodStart": raw.get("period_start") or None,
        "periodEnd": raw.get("period_end") or None,
        "hostedInvoiceUrl": row.hosted_invoice_url or None,
        "invoicePdf": row.invoice_pdf or None,
        "description": raw.get("description") or None,
        "customerEmail": raw.get("customer_email") or (buyer.email if buyer else None) or None,
        "customerName": raw.get("customer_name") or (buyer.name if buyer else None) or None,
    }


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
        _invoice,
    )


class Period(Schema):
    start: int
    end: int


class PendingItem(Schema):
    id: str
    description: str
    currency: str
    amount: int
    quantity: int
    unitAmount: int | None
    date: int
    period: Period
    proration: bool
    customerId: str | None


def _pending_item(row: InvoiceItem) -> dict[str, Any]:
    date = _epoch(row.created)
    customer = row.raw.get("customer")
    customer_id = customer.get("id") if isinstance(customer, dict) else customer
    return {
        "id": row.stripe_id,
        "description": row.description,
        "currency": row.currency,
        "amount": row.amount,
        "quantity": row.quantity,
        "unitAmount": row.unit_amount,
        "date": date,
        "period": {
            "start": _epoch(row.period_start) or date,
            "end": _epoch(row.period_end) or date,
        },
        "proration": bool(row.raw.get("proration", False)),
        "customerId": (row.buyer.stripe_customer_id if row.buyer else None) or customer_id,
    }


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
        _pending_item,
    )
