"""What the billing admins share: read-only mirror admins, money and JSON display, the
onboarding status filter, and running a Stripe operation per selected object."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from billing import account_lease, gateway, invoicing
from billing.models import OnboardingStatus
from billing.money import format_money


def money_or_dash(amount: int | None, currency: str) -> str:
    return "—" if amount is None else format_money(amount, currency)


def pretty_json(value: Any) -> str:
    return format_html(
        '<pre class="raw-json">{}</pre>',
        json.dumps(value, indent=2, sort_keys=True, default=str),
    )


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


def stripe_object_display(label: str) -> Callable[[Any, Any], str]:
    """An admin display of a mirror row's stored Stripe object (its `raw` field) as JSON,
    named `label`: each mirror admin shows it under its own object's name."""

    @admin.display(description=label)
    def raw_json(model_admin: Any, obj: Any) -> str:
        return pretty_json(obj.raw)

    return raw_json


class StripeListAdmin(ReadOnlyAdmin):
    """A mirrored Stripe list with an amount per row (balance transactions, payouts, invoice
    items): newest first by Stripe's creation time, the stored object shown as JSON in place
    of the raw field. Subclasses set `raw_json = stripe_object_display("Stripe … object")`."""

    ordering = ["-created", "-id"]
    date_hierarchy = "created"
    readonly_fields = ["raw_json"]
    exclude = ["raw"]

    @admin.display(description="Amount", ordering="amount")
    def formatted_amount(self, obj: Any) -> str:
        return money_or_dash(obj.amount, obj.currency)


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
        """Reads the stored (indexed) `ConnectAccount.onboarding_status`."""
        value = self.value()
        if not value or value not in OnboardingStatus.values:
            return queryset
        if not self.connect_path:
            if value == OnboardingStatus.NONE:
                return queryset.none()
            return queryset.filter(onboarding_status=value)
        if value == OnboardingStatus.NONE:
            return queryset.filter(**{f"{self.connect_path}__isnull": True})
        return queryset.filter(**{f"{self.connect_path}__onboarding_status": value})


class BillingAccountOnboardingFilter(OnboardingStatusFilter):
    connect_path = "connect_account"


def run_per_object(
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
        except account_lease.AccountBusy:
            messages.error(
                request, f"{obj}: a worker is busy with this account; try again in a minute."
            )
            continue
        done.append(f"{obj} ({result})" if isinstance(result, str) else str(obj))
    if done:
        messages.success(request, f"{verb} {', '.join(done)}.")
