"""Invoice items: the read-only mirror, pending or on an invoice."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from billing.admin.common import StripeListAdmin, stripe_object_display
from billing.models import InvoiceItem


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


class InvoiceItemAdmin(StripeListAdmin):
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
    raw_json = stripe_object_display("Stripe invoice item object")

    @admin.display(description="Pending", boolean=True)
    def pending(self, obj: InvoiceItem) -> bool:
        return obj.is_pending
