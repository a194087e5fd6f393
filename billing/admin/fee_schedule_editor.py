"""One fee schedule editor for a billing account's schedule and the platform default: preview,
add a fee row, or save a new version. Saving goes through the model's own rules
(`change_fee_schedule`), the same as the API's."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Manager, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from billing.admin.fee_schedule_forms import (
    EXAMPLE_AMOUNT,
    BaseFeeFormSet,
    FeeFormSet,
    FeeScheduleForm,
)
from billing.fee_history import describe_changes, fee_summary, percent_text
from billing.fees import application_fee
from billing.models import (
    AdditionalFee,
    BillingAccount,
    FeeScheduleVersion,
    schedule_changes,
    validate_fee_schedule,
)
from billing.money import format_money, to_minor_rounded


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
        (c.name, percent_text(c.percent), format_money(c.amount, currency))
        for c in breakdown.components
    ]
    return FeePreview(sentence, components)


class FeeScheduleOwner(Protocol):
    """A billing account, or the platform default: what the fee schedule editor edits."""

    @property  # an account's related manager, or the platform default's queryset
    def fee_schedule_versions(
        self,
    ) -> Manager[FeeScheduleVersion] | QuerySet[FeeScheduleVersion]: ...

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
        valid = "_addfee" not in data and form.is_valid() and fees.is_valid()
        values = _proposal(form, fees) if valid else {}
        # The model's rules on the whole schedule, before previewing or saving it (a preview
        # of fees over 100 % would show the seller receiving less than nothing).
        if valid and _valid_schedule(form, values):
            if "_preview" in data:
                proposed = _preview_of(values, form.cleaned_data.get("example_amount"))
                proposed_changes = describe_changes(schedule_changes(current, values))
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
                    _add_model_errors(form, exc)

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
        "versions": version_rows(owner),
        "media": model_admin.media + form.media,
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/billing/billingaccount/fee_schedule.html", context)


def _add_model_errors(form: FeeScheduleForm, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def _valid_schedule(form: FeeScheduleForm, values: dict[str, Any]) -> bool:
    """Whether the proposed schedule keeps the model's rules; if not, the reasons go on the form."""
    try:
        validate_fee_schedule({**values, "fees": [fee.as_json() for fee in values["fees"]]})
    except ValidationError as exc:
        _add_model_errors(form, exc)
        return False
    return True


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
    minor = to_minor_rounded(example, currency)
    return fee_preview(values["platform_fee_percent"], values["fees"], currency, minor)


def version_rows(owner: FeeScheduleOwner) -> list[dict[str, Any]]:
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
