"""Billing accounts: the list with onboarding status and current fees; each account's page is
its fee schedule editor."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone

from billing.admin.common import OnboardingStatusFilter
from billing.admin.fee_schedule_editor import fee_schedule_editor, version_rows
from billing.fee_history import fee_summary
from billing.models import BillingAccount, FeeScheduleVersion, OnboardingStatus


class BillingAccountOnboardingFilter(OnboardingStatusFilter):
    connect_path = "connect_account"


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
        status = connect.onboarding_status if connect else OnboardingStatus.NONE
        return str(OnboardingStatus(status).label)

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
        account: BillingAccount | None = self.get_object(request, unquote(object_id))
        context = {**(extra_context or {}), "versions": version_rows(account) if account else []}
        return super().history_view(request, object_id, extra_context=context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """The fee schedule editor: preview, add a fee row, or save a new version."""
        account: BillingAccount | None = self.get_object(request, unquote(object_id))
        if account is None:
            # Django's own answer to a missing object: a warning and the admin's index.
            return super().change_view(request, object_id, form_url, extra_context)
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
