"""Buyers: the read-only mirror, and invoicing a buyer's pending items now."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from billing import invoicing
from billing.admin.common import ReadOnlyAdmin, run_per_object
from billing.models import Buyer


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

        run_per_object(
            request,
            queryset.select_related("connect_account__billing_account"),
            "Invoiced",
            invoice,
        )
