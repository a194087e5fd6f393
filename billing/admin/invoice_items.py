"""Invoice items: the read-only mirror, pending or on an invoice."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from billing.admin.common import ReadOnlyAdmin, money_or_dash, pretty_json
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
        return money_or_dash(obj.amount, obj.currency)

    @admin.display(description="Pending", boolean=True)
    def pending(self, obj: InvoiceItem) -> bool:
        return obj.is_pending

    @admin.display(description="Stripe invoice item object")
    def raw_json(self, obj: InvoiceItem) -> str:
        return pretty_json(obj.raw)
