"""Django admin for platform staff: fee schedules, Connect accounts, webhooks and invoices.

Everything here except fee schedules mirrors Stripe, so those pages are read-only and change
things only by asking Stripe (actions and invoice line edits) and then re-reading what Stripe
holds into the mirror. Gateway errors always end up as admin messages, never as a 500.

Permissions are Django's own (superusers, or staff granted the billing model permissions);
actions that call Stripe need the model's *change* permission.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from babel.numbers import list_currencies
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import RegexValidator
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from billing import gateway, invoice_editing, invoicing, mirror, onboarding, webhooks
from billing.fee_history import FIELD_LABELS, describe_changes, display_value, fee_summary
from billing.fees import application_fee
from billing.models import (
    MAX_NET_DAYS,
    PLATFORM_DEFAULT,
    AdditionalFee,
    BalanceTransaction,
    BillingAccount,
    Buyer,
    ConnectAccount,
    FeeScheduleVersion,
    Invoice,
    InvoiceItem,
    OnboardingStatus,
    Payout,
    PlatformDefaultFeeSchedule,
    WebhookEvent,
    WebhookEventStatus,
)
from billing.money import format_money, minor_unit_exponent
from billing.status import explain

# Helpers shared by the admins


def _money(amount: int | None, currency: str) -> str:
    return "—" if amount is None else format_money(amount, currency)


def _pretty_json(value: Any) -> str:
    return format_html(
        '<pre class="raw-json">{}</pre>',
        json.dumps(value, indent=2, sort_keys=True, default=str),
    )


def _percent(value: Decimal | str | None) -> str:
    if value is None:
        return "—"
    return f"{format(Decimal(str(value)).normalize(), 'f')} %"


def to_minor(amount: Decimal, currency: str) -> int:
    """Major units typed by a person → integer minor units, refusing sub-minor precision."""
    scaled = amount.scaleb(minor_unit_exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValidationError(
            f"{currency.upper()} amounts have at most {minor_unit_exponent(currency)} decimals."
        )
    return int(scaled)


class ReadOnlyAdmin(admin.ModelAdmin):
    """A mirror of Stripe data: viewable, never added, edited or deleted here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_stripe_permission(self, request: HttpRequest) -> bool:
        """May run actions that call Stripe (the model's change permission in Django terms)."""
        return request.user.has_perm(f"{self.opts.app_label}.change_{self.opts.model_name}")


# Onboarding status as a query. It must agree with billing.status.derive_onboarding_status
# (tests compare the two on every combination that matters).


def onboarding_status_q(status: str) -> Q:
    """ConnectAccount rows whose derived onboarding status is `status`."""
    rejected = Q(disabled_reason__startswith="rejected.")
    no_past_due = Q(past_due=[])
    verifying = Q(disabled_reason="requirements.pending_verification") & no_past_due
    flagged = ~Q(disabled_reason="") | ~no_past_due
    submitted = Q(details_submitted=True)
    restricted = rejected | (submitted & ~verifying & flagged)
    complete = (
        submitted
        & Q(disabled_reason="")
        & no_past_due
        & Q(charges_enabled=True, payouts_enabled=True)
    )
    if status == OnboardingStatus.RESTRICTED:
        return restricted
    if status == OnboardingStatus.COMPLETE:
        return complete
    if status == OnboardingStatus.PENDING:
        return ~restricted & ~complete
    raise ValueError(f"Unknown onboarding status {status}")


class OnboardingStatusFilter(admin.SimpleListFilter):
    title = "onboarding status"
    parameter_name = "onboarding"
    # How to reach the ConnectAccount from the admin's model ("" when it is the model).
    connect_path = ""

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        statuses = [
            OnboardingStatus.COMPLETE,
            OnboardingStatus.PENDING,
            OnboardingStatus.RESTRICTED,
        ]
        choices = [(str(s.value), str(s.label)) for s in statuses]
        if self.connect_path:
            choices.append((OnboardingStatus.NONE.value, "No Stripe account"))
        return choices

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value or value not in OnboardingStatus.values:
            return queryset
        if not self.connect_path:
            if value == OnboardingStatus.NONE:
                return queryset.none()
            return queryset.filter(onboarding_status_q(value))
        if value == OnboardingStatus.NONE:
            return queryset.filter(**{f"{self.connect_path}__isnull": True})
        matching = ConnectAccount.objects.filter(onboarding_status_q(value)).values("pk")
        return queryset.filter(**{f"{self.connect_path}__pk__in": matching})


class BillingAccountOnboardingFilter(OnboardingStatusFilter):
    connect_path = "connect_account"


# Billing accounts and their fee schedules

EXAMPLE_AMOUNT = Decimal("1000.00")
ISO_CURRENCIES = frozenset(list_currencies())

# Validators interpolate their params into these, hence %% for a literal percent sign.
_percent_errors = {
    "invalid": "Enter a percentage such as 12.5.",
    "min_value": "A percentage cannot be below 0 %%.",
    "max_value": "A percentage cannot be above 100 %%.",
    "max_decimal_places": "Use at most 4 decimal places.",
    "max_digits": "Use at most 4 decimal places.",
    "max_whole_digits": "A percentage cannot be above 100 %%.",
}


def _percent_field(label: str) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        min_value=Decimal(0),
        max_value=Decimal(100),
        max_digits=7,
        decimal_places=4,
        error_messages=_percent_errors,
    )


class FeeScheduleForm(forms.Form):
    platform_fee_percent = _percent_field("Platform fee (%)")
    currency = forms.CharField(
        max_length=3,
        validators=[
            RegexValidator(
                r"^[A-Z]{3}$",
                "Use a three-letter ISO 4217 currency code in capitals, e.g. USD.",
            )
        ],
        error_messages={
            "max_length": "Use a three-letter ISO 4217 currency code in capitals, e.g. USD."
        },
    )
    default_net_days = forms.IntegerField(
        label="Default net days",
        min_value=0,
        max_value=MAX_NET_DAYS,
        help_text=f"Days a buyer has to pay an invoice (0–{MAX_NET_DAYS}).",
        error_messages={
            "min_value": "Net days cannot be negative.",
            "max_value": f"Net days cannot be more than {MAX_NET_DAYS}.",
            "invalid": "Enter a whole number of days.",
        },
    )
    note = forms.CharField(
        required=False, max_length=200, help_text="Why this change (kept in the history)."
    )
    example_amount = forms.DecimalField(
        required=False,
        min_value=Decimal(0),
        decimal_places=3,
        initial=EXAMPLE_AMOUNT,
        help_text="For the preview only; not saved.",
        error_messages={"min_value": "The example amount cannot be negative."},
    )
    # The version this form was filled from, so two staff editing at once never silently
    # overwrite each other (every save sends all fields).
    based_on = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_currency(self) -> str:
        currency = self.cleaned_data["currency"]
        if currency not in ISO_CURRENCIES:
            raise ValidationError(f"{currency} is not an ISO 4217 currency code.")
        return currency


class AdditionalFeeForm(forms.Form):
    name = forms.CharField(max_length=100)
    fee_percent = _percent_field("Fee (%)")
    description = forms.CharField(required=False, max_length=200)


class BaseFeeFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        names = [fee.name.casefold() for fee in self.fees()]
        if len(names) != len(set(names)):
            raise ValidationError("Each additional fee needs a different name.")

    def fees(self) -> list[AdditionalFee]:
        return [
            AdditionalFee(
                name=form.cleaned_data["name"],
                fee_percent=form.cleaned_data["fee_percent"],
                description=form.cleaned_data.get("description") or "",
            )
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]


FeeFormSet = forms.formset_factory(
    AdditionalFeeForm, formset=BaseFeeFormSet, extra=1, can_delete=True
)


@dataclass(frozen=True)
class FeePreview:
    sentence: str
    components: list[tuple[str, str, str]]  # (name, percent, amount)


def fee_preview(
    platform_fee_percent: Decimal | None,
    fees: Iterable[AdditionalFee],
    currency: str,
    amount: int,
) -> FeePreview:
    """What a schedule does to one example payment, in words staff can check at a glance."""
    breakdown = application_fee(
        amount, platform_fee_percent, [(fee.name, fee.fee_percent) for fee in fees]
    )
    sentence = (
        f"On {format_money(amount, currency)} the seller receives "
        f"{format_money(breakdown.net, currency)} and the platform keeps "
        f"{format_money(breakdown.total, currency)}."
    )
    components = [
        (c.name, _percent(c.percent), format_money(c.amount, currency))
        for c in breakdown.components
    ]
    return FeePreview(sentence, components)


@admin.register(BillingAccount)
class BillingAccountAdmin(admin.ModelAdmin):
    list_display = ["customer", "parent", "onboarding", "fees"]
    list_filter = [BillingAccountOnboardingFilter, ("customer__parent", admin.EmptyFieldListFilter)]
    search_fields = ["customer__name", "customer__company", "connect_account__stripe_id"]
    list_select_related = ["customer", "customer__parent", "connect_account"]
    ordering = ["customer__name"]
    object_history_template = "admin/billing/billingaccount/object_history.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Billing accounts come into being when a seller provisions billing.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(ordering="customer__parent__name")
    def parent(self, obj: BillingAccount) -> str:
        return obj.customer.parent.name if obj.customer.parent else "—"

    @admin.display(description="Onboarding status")
    def onboarding(self, obj: BillingAccount) -> str:
        connect = obj.connect
        return str(connect.onboarding_status.label if connect else OnboardingStatus.NONE.label)

    def get_queryset(self, request: HttpRequest) -> QuerySet[BillingAccount]:
        # Each row shows its current schedule: fetch every account's versions in one query.
        versions = FeeScheduleVersion.objects.order_by("-effective_from", "-id")
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch(
                    "fee_schedule_versions", queryset=versions, to_attr="versions_newest_first"
                )
            )
        )

    @admin.display(description="Current fee schedule")
    def fees(self, obj: BillingAccount) -> str:
        versions = getattr(obj, "versions_newest_first", None)
        now = timezone.now()
        if versions is None:
            return fee_summary(obj.fee_schedule())
        return fee_summary(next((v for v in versions if v.effective_from <= now), None))

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # Versions written outside admin (e.g. a staff API key) have no log entry; show them too.
        account = self.get_object(request, unquote(object_id))
        context = {**(extra_context or {}), "versions": _version_rows(account) if account else []}
        return super().history_view(request, object_id, extra_context=context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """The fee schedule editor: preview, add a fee row, or save a new version."""
        account = self.get_object(request, unquote(object_id))
        if account is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, account):
            raise PermissionDenied
        context = {
            **(extra_context or {}),
            "title": f"Fee schedule of {account.customer}",
            "original": account,
            "connect": account.connect,
        }
        return fee_schedule_editor(
            self,
            request,
            account,
            context,
            can_change=self.has_change_permission(request, account),
            saved_url=reverse(
                f"{self.admin_site.name}:billing_billingaccount_change", args=[account.pk]
            ),
        )


class FeeScheduleOwner(Protocol):
    """A billing account, or the platform default: what the fee schedule editor edits."""

    @property
    def fee_schedule_versions(self) -> QuerySet[FeeScheduleVersion]: ...

    def fee_schedule(self, at: Any = None) -> FeeScheduleVersion | None: ...

    def change_fee_schedule(self, **fields: Any) -> FeeScheduleVersion: ...


def fee_schedule_editor(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    owner: FeeScheduleOwner,
    context: dict[str, Any],
    *,
    can_change: bool,
    saved_url: str,
) -> HttpResponse:
    """Preview, add a fee row, or save a new version of `owner`'s schedule (one editor for
    account schedules and the platform default, so both follow the same rules)."""
    current = owner.fee_schedule()
    proposed: FeePreview | None = None
    proposed_changes: list[tuple[str, str, str]] = []

    if request.method != "POST":
        form = FeeScheduleForm(initial=_initial(current))
        fees = FeeFormSet(prefix="fees", initial=_initial_fees(current))
    else:
        if not can_change:
            raise PermissionDenied
        data = request.POST.copy()
        if "_addfee" in data:
            total = int(data.get("fees-TOTAL_FORMS") or 0)
            data["fees-TOTAL_FORMS"] = str(min(total + 1, 50))
        form, fees = FeeScheduleForm(data), FeeFormSet(data, prefix="fees")
        if "_addfee" not in data and form.is_valid() and fees.is_valid():
            values = _proposal(form, fees)
            total_percent = values["platform_fee_percent"] + sum(
                (fee.fee_percent for fee in values["fees"]), Decimal(0)
            )
            if total_percent > 100:
                form.add_error(
                    None,
                    f"The fees add up to {_percent(total_percent)}; together they cannot "
                    "exceed 100 %.",
                )
            elif "_preview" in data:
                proposed = _preview_of(values, form.cleaned_data.get("example_amount"))
                proposed_changes = _pending_changes(current, values)
            elif form.cleaned_data["based_on"] != _version_key(current):
                # Re-bind on the version now current, so saving again is a conscious overwrite.
                data["based_on"] = _version_key(current)
                form = FeeScheduleForm(data)
                form.is_valid()
                form.add_error(
                    None,
                    "Someone changed this fee schedule while you were editing it. Review "
                    "the current version below and save again to replace it.",
                )
            else:
                try:
                    _save_fee_schedule(model_admin, request, owner, current, form, values)
                    return redirect(saved_url)
                except ValidationError as exc:
                    # The model's rules (shared with the API) have the last word.
                    for field, errors in exc.message_dict.items():
                        form.add_error(field if field in form.fields else None, errors)

    opts = model_admin.opts
    context = {
        **model_admin.admin_site.each_context(request),
        "subtitle": None,
        "opts": opts,
        "app_label": opts.app_label,
        "has_view_permission": True,
        "has_change_permission": can_change,
        **context,
        "form": form,
        "fees": fees,
        "current": current,
        "current_summary": fee_summary(current),
        "current_preview": _preview_of(_values_of(current), None) if current else None,
        "proposed": proposed,
        "proposed_changes": proposed_changes,
        "versions": _version_rows(owner),
        "media": model_admin.media + form.media,
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/billing/billingaccount/fee_schedule.html", context)


def _save_fee_schedule(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    owner: FeeScheduleOwner,
    current: FeeScheduleVersion | None,
    form: FeeScheduleForm,
    values: dict[str, Any],
) -> None:
    version = owner.change_fee_schedule(
        changed_by=request.user, note=form.cleaned_data["note"], **values
    )
    if current is not None and version.pk == current.pk:
        messages.info(request, "Nothing changed, so no new fee schedule version was written.")
        return
    changes = "; ".join(
        f"{label} {old} → {new}" for label, old, new in describe_changes(version.changes)
    )
    note = form.cleaned_data["note"]
    message = f"Changed the fee schedule: {changes}." + (f" Note: {note}" if note else "")
    # The admin log names an object: the account, or the new version of the default.
    logged = owner if isinstance(owner, BillingAccount) else version
    model_admin.log_change(request, logged, message)
    messages.success(request, message)


@admin.register(PlatformDefaultFeeSchedule)
class PlatformDefaultFeeScheduleAdmin(admin.ModelAdmin):
    """The schedule every new billing account starts on: one editor page, with its history."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        view = self.admin_site.admin_view(self.changelist_view)
        return [path("", view, name=f"{name}_changelist")]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        # Make sure there is one to edit (the migration writes it; an emptied table may not).
        PLATFORM_DEFAULT.fee_schedule_or_built_in()
        return fee_schedule_editor(
            self,
            request,
            PLATFORM_DEFAULT,
            {**(extra_context or {}), "title": "Platform default fee schedule", "original": None},
            can_change=self.has_change_permission(request),
            saved_url=reverse(
                f"{self.admin_site.name}:billing_platformdefaultfeeschedule_changelist"
            ),
        )


def _version_key(version: FeeScheduleVersion | None) -> str:
    return str(version.pk) if version else ""


def _initial(current: FeeScheduleVersion | None) -> dict[str, Any]:
    initial: dict[str, Any] = {"example_amount": EXAMPLE_AMOUNT, "based_on": _version_key(current)}
    if current is not None:
        percent = current.platform_fee_percent
        initial.update(
            # "12.5", not the column's "12.5000".
            platform_fee_percent=format(percent.normalize(), "f") if percent is not None else None,
            currency=current.currency,
            default_net_days=current.default_net_days,
        )
    return initial


def _initial_fees(current: FeeScheduleVersion | None) -> list[dict[str, Any]]:
    if current is None:
        return []
    return [
        {"name": fee.name, "fee_percent": fee.fee_percent, "description": fee.description}
        for fee in current.additional_fees
    ]


def _proposal(form: FeeScheduleForm, fees: BaseFeeFormSet) -> dict[str, Any]:
    return {
        "platform_fee_percent": form.cleaned_data["platform_fee_percent"],
        "fees": fees.fees(),
        "currency": form.cleaned_data["currency"],
        "default_net_days": form.cleaned_data["default_net_days"],
    }


def _values_of(version: FeeScheduleVersion) -> dict[str, Any]:
    return {
        "platform_fee_percent": version.platform_fee_percent,
        "fees": version.additional_fees,
        "currency": version.currency,
        "default_net_days": version.default_net_days,
    }


def _preview_of(values: dict[str, Any], example: Decimal | None) -> FeePreview:
    currency = values["currency"] or "USD"
    example = EXAMPLE_AMOUNT if example is None else example
    # Rounded to the currency's minor unit: a preview never refuses an example amount.
    minor = int(example.scaleb(minor_unit_exponent(currency)).to_integral_value())
    return fee_preview(values["platform_fee_percent"], values["fees"], currency, minor)


def _comparable(field: str, value: Any) -> Any:
    if field == "fees":
        return [
            (fee.name, Decimal(fee.fee_percent).normalize(), fee.description)
            for fee in (value or [])
        ]
    if field == "platform_fee_percent" and value is not None:
        return Decimal(value).normalize()
    return value


def _pending_changes(
    current: FeeScheduleVersion | None, values: dict[str, Any]
) -> list[tuple[str, str, str]]:
    """What saving `values` would change, for the preview (the saved version records its own)."""
    before = _values_of(current) if current else dict.fromkeys(values)
    rows = []
    for field, new in values.items():
        old = before[field]
        if _comparable(field, old) != _comparable(field, new):
            as_json = [fee.as_json() for fee in new] if field == "fees" else new
            old_json = [fee.as_json() for fee in old] if field == "fees" and old else old
            rows.append(
                (FIELD_LABELS[field], display_value(field, old_json), display_value(field, as_json))
            )
    return rows


def _version_rows(owner: FeeScheduleOwner) -> list[dict[str, Any]]:
    versions = owner.fee_schedule_versions.select_related("changed_by").order_by(
        "-effective_from", "-id"
    )
    return [
        {
            "version": version,
            "changed_by": version.changed_by or "—",
            "changes": describe_changes(version.changes),
            "summary": fee_summary(version),
        }
        for version in versions
    ]


# Connect accounts


@admin.register(ConnectAccount)
class ConnectAccountAdmin(ReadOnlyAdmin):
    list_display = [
        "stripe_id",
        "customer",
        "email",
        "onboarding",
        "charges_enabled",
        "payouts_enabled",
        "refreshed_at",
    ]
    list_filter = [OnboardingStatusFilter, "charges_enabled", "payouts_enabled", "country"]
    search_fields = ["stripe_id", "billing_account__customer__name", "email"]
    list_select_related = ["billing_account__customer"]
    ordering = ["-created_at"]
    actions = ["refresh_from_stripe", "resync_mirror"]
    readonly_fields = ["status_explained", "raw_json"]
    exclude = ["raw"]

    @admin.display(ordering="billing_account__customer__name")
    def customer(self, obj: ConnectAccount) -> str:
        return str(obj.billing_account.customer)

    @admin.display(description="Onboarding status")
    def onboarding(self, obj: ConnectAccount) -> str:
        return str(obj.onboarding_status.label)

    @admin.display(description="Status")
    def status_explained(self, obj: ConnectAccount) -> str:
        return f"{obj.onboarding_status.label}: {explain(obj)}"

    @admin.display(description="Stripe account object")
    def raw_json(self, obj: ConnectAccount) -> str:
        return _pretty_json(obj.raw)

    @admin.action(description="Refresh from Stripe", permissions=["stripe"])
    def refresh_from_stripe(self, request: HttpRequest, queryset: QuerySet[ConnectAccount]) -> None:
        _run_per_object(request, queryset, "Refreshed", onboarding.refresh)

    @admin.action(description="Resync mirror", permissions=["stripe"])
    def resync_mirror(self, request: HttpRequest, queryset: QuerySet[ConnectAccount]) -> None:
        def sync(connect: ConnectAccount) -> str:
            counts = mirror.sync_account(connect)
            return ", ".join(f"{count} {name.replace('_', ' ')}" for name, count in counts.items())

        _run_per_object(request, queryset, "Resynced", sync)


def _run_per_object(
    request: HttpRequest,
    queryset: Iterable[Any],
    verb: str,
    operation: Callable[[Any], Any],
) -> None:
    """Run a Stripe operation per object; one message per failure and one for the successes."""
    done = []
    for obj in queryset:
        try:
            result = operation(obj)
        except (gateway.GatewayError, invoicing.BillingRunBusy) as exc:
            messages.error(request, f"{obj}: {exc.message}")
            continue
        done.append(f"{obj} ({result})" if isinstance(result, str) else str(obj))
    if done:
        messages.success(request, f"{verb} {', '.join(done)}.")


# Webhook events


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = [
        "stripe_id", "type", "account", "status", "attempts", "next_attempt_at", "received_at",
    ]  # fmt: skip
    list_filter = ["status", "type"]
    search_fields = ["stripe_id", "account"]
    date_hierarchy = "received_at"
    actions = ["reprocess"]
    readonly_fields = ["error_text", "payload_json"]
    exclude = ["payload", "error"]

    @admin.display(description="Error")
    def error_text(self, obj: WebhookEvent) -> str:
        return format_html("<pre>{}</pre>", obj.error) if obj.error else "—"

    @admin.display(description="Payload")
    def payload_json(self, obj: WebhookEvent) -> str:
        return _pretty_json(obj.payload)

    @admin.action(description="Reprocess selected events", permissions=["stripe"])
    def reprocess(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        outcomes: dict[str, list[str]] = {}
        for event in queryset:
            event = webhooks.process(event)
            outcomes.setdefault(event.status, []).append(event.stripe_id)
            if event.status == WebhookEventStatus.FAILED:
                first_line = event.error.splitlines()[0] if event.error else "unknown error"
                messages.error(request, f"{event.stripe_id} failed again: {first_line}")
        summary = "; ".join(
            f"{len(ids)} {WebhookEventStatus(status).label.lower()}"
            for status, ids in outcomes.items()
        )
        level = messages.WARNING if WebhookEventStatus.FAILED in outcomes else messages.SUCCESS
        messages.add_message(
            request, level, f"Reprocessed {sum(map(len, outcomes.values()))} event(s): {summary}."
        )


# Invoices


@dataclass(frozen=True)
class InvoiceTransition:
    stripe_action: str
    verb: str
    past: str
    consequence: str


TRANSITIONS = {
    "finalize": InvoiceTransition(
        "finalize_invoice",
        "Finalize",
        "Finalized",
        "The invoice gets its number and can no longer be edited.",
    ),
    "void": InvoiceTransition(
        "void_invoice",
        "Void",
        "Voided",
        "The invoice is cancelled for good; the buyer no longer owes it.",
    ),
    "mark_uncollectible": InvoiceTransition(
        "mark_uncollectible",
        "Mark uncollectible",
        "Marked uncollectible",
        "The invoice is written off as bad debt; it can still be paid or voided later.",
    ),
}


class LineForm(forms.Form):
    description = forms.CharField(max_length=500)
    amount = forms.DecimalField(
        max_digits=15,
        decimal_places=3,
        help_text="In the invoice's currency, e.g. 125.50.",
        error_messages={"invalid": "Enter an amount such as 125.50."},
    )

    def __init__(self, *args: Any, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.currency = currency

    def clean_amount(self) -> int:
        return to_minor(self.cleaned_data["amount"], self.currency)


class RemoveLineForm(forms.Form):
    behavior = forms.ChoiceField(
        choices=[
            ("delete", "Delete the line"),
            ("unassign", "Return it to the buyer's pending items"),
        ],
        initial="delete",
    )


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = [
        "display_number",
        "buyer",
        "status",
        "formatted_total",
        "due_date",
        "origin",
        "connect_account",
    ]
    list_filter = ["status", "origin", "currency"]
    search_fields = ["number", "stripe_id", "buyer__name"]
    list_select_related = ["buyer", "connect_account"]
    ordering = ["-created", "-id"]
    date_hierarchy = "created"
    actions = ["finalize", "void", "mark_uncollectible"]
    change_form_template = "admin/billing/invoice/change_form.html"
    # Listed as read-only so no form field is built for them (URLField warns on Django 5.x).
    readonly_fields = [
        "hosted_invoice_url",
        "invoice_pdf",
        "formatted_total",
        "formatted_amounts",
        "status_timeline",
        "raw_json",
    ]
    exclude = ["raw", "status_history"]

    @admin.display(description="Number", ordering="number")
    def display_number(self, obj: Invoice) -> str:
        return obj.number or f"(draft) {obj.stripe_id}"

    @admin.display(description="Total", ordering="total")
    def formatted_total(self, obj: Invoice) -> str:
        return _money(obj.total, obj.currency)

    @admin.display(description="Amounts")
    def formatted_amounts(self, obj: Invoice) -> str:
        return (
            f"due {_money(obj.amount_due, obj.currency)}, "
            f"paid {_money(obj.amount_paid, obj.currency)}, "
            f"remaining {_money(obj.amount_remaining, obj.currency)}, "
            f"application fee {_money(obj.application_fee_amount, obj.currency)}"
        )

    @admin.display(description="Status history")
    def status_timeline(self, obj: Invoice) -> str:
        from datetime import UTC, datetime

        return (
            format_html_join(
                ", ",
                "{} ({})",
                (
                    (
                        entry["status"],
                        f"{datetime.fromtimestamp(entry['at'], tz=UTC):%Y-%m-%d %H:%M} UTC",
                    )
                    for entry in obj.status_history
                ),
            )
            or "—"
        )

    @admin.display(description="Stripe invoice object")
    def raw_json(self, obj: Invoice) -> str:
        return _pretty_json(obj.raw)

    # Actions (from the list) and the same operations from an invoice's page

    @admin.action(description="Finalize selected draft invoices", permissions=["stripe"])
    def finalize(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> HttpResponse | None:
        return self._transition(request, queryset, "finalize")

    @admin.action(description="Void selected invoices", permissions=["stripe"])
    def void(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> HttpResponse | None:
        return self._transition(request, queryset, "void")

    @admin.action(description="Mark selected invoices uncollectible", permissions=["stripe"])
    def mark_uncollectible(
        self, request: HttpRequest, queryset: QuerySet[Invoice]
    ) -> HttpResponse | None:
        return self._transition(request, queryset, "mark_uncollectible")

    def _transition(
        self,
        request: HttpRequest,
        queryset: QuerySet[Invoice],
        key: str,
        single: bool = False,
    ) -> HttpResponse | None:
        """Ask for confirmation (like Django's delete), then run it in Stripe per invoice."""
        transition = TRANSITIONS[key]
        invoices = list(queryset.select_related("connect_account", "buyer"))
        if request.POST.get("post") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": f"{transition.verb}: are you sure?",
                "subtitle": None,
                "opts": self.opts,
                "app_label": self.opts.app_label,
                "transition": transition,
                "action": key,
                "invoices": invoices,
                "single": single,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            }
            request.current_app = self.admin_site.name
            return TemplateResponse(request, "admin/billing/invoice/confirm_action.html", context)

        def run(invoice: Invoice) -> str:
            obj = gateway.invoice_action(
                transition.stripe_action, invoice.connect_account.stripe_id, invoice.stripe_id
            )
            updated = mirror.upsert_invoice(invoice.connect_account, obj)
            # A finalized draft gets its number only now: name it as it is called from now on.
            return f"{updated}, now {updated.status}"

        _run_per_object(request, invoices, transition.past, run)
        return None

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("<path:object_id>/do/<str:key>/", view(self.transition_view), name=f"{name}_do"),
            path("<path:object_id>/lines/add/", view(self.add_line_view), name=f"{name}_add_line"),
            path(
                "<path:object_id>/lines/<str:line_id>/update/",
                view(self.update_line_view),
                name=f"{name}_update_line",
            ),
            path(
                "<path:object_id>/lines/<str:line_id>/remove/",
                view(self.remove_line_view),
                name=f"{name}_remove_line",
            ),
            *super().get_urls(),
        ]

    def _invoice_for_stripe_change(self, request: HttpRequest, object_id: str) -> Invoice:
        if not self.has_stripe_permission(request):
            raise PermissionDenied
        invoice = self.get_queryset(request).filter(pk=unquote(object_id)).first()
        if invoice is None:
            raise Http404("No such invoice.")
        return invoice

    def _change_url(self, invoice: Invoice) -> str:
        return reverse(f"{self.admin_site.name}:billing_invoice_change", args=[invoice.pk])

    def transition_view(self, request: HttpRequest, object_id: str, key: str) -> HttpResponse:
        invoice = self._invoice_for_stripe_change(request, object_id)
        if key not in TRANSITIONS:
            raise Http404("No such invoice action.")
        response = self._transition(
            request, Invoice.objects.filter(pk=invoice.pk), key, single=True
        )
        return response or HttpResponseRedirect(self._change_url(invoice))

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        invoice = self.get_object(request, unquote(object_id))
        context = dict(extra_context or {})
        if invoice is not None:
            currency = invoice.currency
            context.update(
                lines=[_line_row(line) for line in invoice.lines],
                can_operate=self.has_stripe_permission(request),
                editable_lines=invoice.status == "draft",
                add_line_form=LineForm(currency=currency, prefix="add"),
                remove_line_form=RemoveLineForm(),
                transitions=TRANSITIONS,
            )
        return super().change_view(request, object_id, form_url, context)

    def _edit_lines(
        self, request: HttpRequest, invoice: Invoice, edit: Callable[[], Any], done: str
    ) -> HttpResponse:
        """Run a line edit (billing.invoice_editing) and say how it went."""
        try:
            edit()
        except (gateway.GatewayError, invoice_editing.NotADraft, invoice_editing.NoSuchLine) as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, done)
        return HttpResponseRedirect(self._change_url(invoice))

    def add_line_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        invoice = self._invoice_for_stripe_change(request, object_id)
        if request.method != "POST":
            return HttpResponseRedirect(self._change_url(invoice))
        form = LineForm(request.POST, currency=invoice.currency, prefix="add")
        if not form.is_valid():
            return self._form_errors(request, invoice, form)
        description = form.cleaned_data["description"]
        return self._edit_lines(
            request,
            invoice,
            lambda: invoice_editing.add_line(
                invoice, description=description, amount=form.cleaned_data["amount"]
            ),
            f"Added “{description}” to {invoice}.",
        )

    def update_line_view(self, request: HttpRequest, object_id: str, line_id: str) -> HttpResponse:
        invoice = self._invoice_for_stripe_change(request, object_id)
        if request.method != "POST":
            return HttpResponseRedirect(self._change_url(invoice))
        form = LineForm(request.POST, currency=invoice.currency, prefix=line_id)
        if not form.is_valid():
            return self._form_errors(request, invoice, form)
        return self._edit_lines(
            request,
            invoice,
            lambda: invoice_editing.update_line(
                invoice,
                line_id,
                description=form.cleaned_data["description"],
                amount=form.cleaned_data["amount"],
            ),
            f"Updated a line of {invoice}.",
        )

    def remove_line_view(self, request: HttpRequest, object_id: str, line_id: str) -> HttpResponse:
        invoice = self._invoice_for_stripe_change(request, object_id)
        if request.method != "POST":
            return HttpResponseRedirect(self._change_url(invoice))
        form = RemoveLineForm(request.POST)
        if not form.is_valid():
            return self._form_errors(request, invoice, form)
        behavior = form.cleaned_data["behavior"]
        return self._edit_lines(
            request,
            invoice,
            lambda: invoice_editing.remove_line(invoice, line_id, behavior),
            f"Removed a line from {invoice}"
            + (" (back in the buyer's pending items)." if behavior == "unassign" else "."),
        )

    def _form_errors(
        self, request: HttpRequest, invoice: Invoice, form: forms.Form
    ) -> HttpResponse:
        for field, errors in form.errors.items():
            label = ""
            if field in form.fields:
                label = form.fields[field].label or field.replace("_", " ").capitalize()
            for error in errors:
                messages.error(request, f"{label}: {error}" if label else error)
        return HttpResponseRedirect(self._change_url(invoice))


def _line_row(line: dict[str, Any]) -> dict[str, Any]:
    currency = line.get("currency") or "usd"
    amount = int(line.get("amount") or 0)
    return {
        "id": line["id"],
        "description": line.get("description") or "",
        "quantity": line.get("quantity"),
        "amount": amount,
        "formatted_amount": format_money(amount, currency),
        "major_amount": Decimal(amount).scaleb(-minor_unit_exponent(currency)),
        "invoice_item": invoice_editing.line_invoice_item(line),
    }


# The rest of the mirror: read-only lists


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdmin):
    list_display = [
        "stripe_id",
        "connect_account",
        "formatted_amount",
        "status",
        "method",
        "automatic",
        "arrival_date",
        "created",
    ]
    list_filter = ["status", "method", "automatic", "currency"]
    search_fields = ["stripe_id", "connect_account__stripe_id", "failure_code"]
    list_select_related = ["connect_account"]
    ordering = ["-created", "-id"]
    date_hierarchy = "created"
    readonly_fields = ["raw_json"]
    exclude = ["raw"]

    @admin.display(description="Amount", ordering="amount")
    def formatted_amount(self, obj: Payout) -> str:
        return _money(obj.amount, obj.currency)

    @admin.display(description="Stripe payout object")
    def raw_json(self, obj: Payout) -> str:
        return _pretty_json(obj.raw)


@admin.register(BalanceTransaction)
class BalanceTransactionAdmin(ReadOnlyAdmin):
    list_display = [
        "stripe_id",
        "connect_account",
        "type",
        "formatted_amount",
        "formatted_fee",
        "formatted_net",
        "status",
        "created",
        "available_on",
        "payout_stripe_id",
    ]
    list_filter = ["type", "status", "reporting_category", "currency"]
    search_fields = [
        "stripe_id",
        "source_id",
        "payout_stripe_id",
        "description",
        "connect_account__stripe_id",
    ]
    list_select_related = ["connect_account"]
    ordering = ["-created", "-id"]
    date_hierarchy = "created"
    readonly_fields = ["raw_json"]
    exclude = ["raw"]

    @admin.display(description="Amount", ordering="amount")
    def formatted_amount(self, obj: BalanceTransaction) -> str:
        return _money(obj.amount, obj.currency)

    @admin.display(description="Fee", ordering="fee")
    def formatted_fee(self, obj: BalanceTransaction) -> str:
        return _money(obj.fee, obj.currency)

    @admin.display(description="Net", ordering="net")
    def formatted_net(self, obj: BalanceTransaction) -> str:
        return _money(obj.net, obj.currency)

    @admin.display(description="Stripe balance transaction object")
    def raw_json(self, obj: BalanceTransaction) -> str:
        return _pretty_json(obj.raw)


@admin.register(Buyer)
class BuyerAdmin(ReadOnlyAdmin):
    list_display = ["name", "email", "reference", "stripe_customer_id", "connect_account"]
    list_filter = [("stripe_customer_id", admin.EmptyFieldListFilter)]
    search_fields = [
        "name",
        "email",
        "reference",
        "stripe_customer_id",
        "connect_account__stripe_id",
    ]
    list_select_related = ["connect_account"]
    ordering = ["name"]
    actions = ["invoice_now"]

    @admin.action(description="Invoice pending items now (manual invoice)", permissions=["stripe"])
    def invoice_now(self, request: HttpRequest, queryset: QuerySet[Buyer]) -> None:
        def invoice(buyer: Buyer) -> str:
            invoices = invoicing.invoice_now(buyer)
            if not invoices:
                return "nothing pending"
            return ", ".join(str(invoice) for invoice in invoices)

        _run_per_object(
            request,
            queryset.select_related("connect_account__billing_account"),
            "Invoiced",
            invoice,
        )


class PendingFilter(admin.SimpleListFilter):
    title = "invoiced"
    parameter_name = "pending"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Pending (not invoiced yet)"), ("no", "On an invoice")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(invoice_stripe_id="")
        if self.value() == "no":
            return queryset.exclude(invoice_stripe_id="")
        return queryset


@admin.register(InvoiceItem)
class InvoiceItemAdmin(ReadOnlyAdmin):
    list_display = [
        "description",
        "buyer",
        "kind",
        "formatted_amount",
        "pending",
        "invoice_stripe_id",
        "created",
    ]
    list_filter = [PendingFilter, "kind", "currency"]
    search_fields = [
        "stripe_id",
        "description",
        "buyer__name",
        "invoice_stripe_id",
        "contract",
        "metric",
    ]
    list_select_related = ["buyer"]
    ordering = ["-created", "-id"]
    date_hierarchy = "created"
    readonly_fields = ["raw_json"]
    exclude = ["raw"]

    @admin.display(description="Amount", ordering="amount")
    def formatted_amount(self, obj: InvoiceItem) -> str:
        return _money(obj.amount, obj.currency)

    @admin.display(description="Pending", boolean=True)
    def pending(self, obj: InvoiceItem) -> bool:
        return obj.is_pending

    @admin.display(description="Stripe invoice item object")
    def raw_json(self, obj: InvoiceItem) -> str:
        return _pretty_json(obj.raw)
