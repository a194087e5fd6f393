"""Connect accounts: read-only copies of Stripe's, refreshed or resynced on request."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from billing import account_lease, mirror, onboarding
from billing.admin.common import (
    OnboardingStatusFilter,
    ReadOnlyAdmin,
    run_per_object,
    stripe_object_display,
)
from billing.models import ConnectAccount, OnboardingStatus
from billing.status import onboarding_state


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
        return str(OnboardingStatus(obj.onboarding_status).label)

    @admin.display(description="Status")
    def status_explained(self, obj: ConnectAccount) -> str:
        state = onboarding_state(obj)
        return f"{OnboardingStatus(obj.onboarding_status).label}: {state.summary}"

    raw_json = stripe_object_display("Stripe account object")

    @admin.action(description="Refresh from Stripe", permissions=["stripe"])
    def refresh_from_stripe(self, request: HttpRequest, queryset: QuerySet[ConnectAccount]) -> None:
        run_per_object(request, queryset, "Refreshed", onboarding.refresh)

    @admin.action(description="Resync mirror", permissions=["stripe"])
    def resync_mirror(self, request: HttpRequest, queryset: QuerySet[ConnectAccount]) -> None:
        def sync(connect: ConnectAccount) -> str:
            # Holding the account's lease, like the workers: never two syncs of one account.
            with account_lease.hold(connect.stripe_id, wait=5):
                counts = mirror.sync_account(connect)
            return ", ".join(f"{count} {name.replace('_', ' ')}" for name, count in counts.items())

        run_per_object(request, queryset, "Resynced", sync)
