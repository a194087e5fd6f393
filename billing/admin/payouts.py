"""Payouts: the read-only mirror."""

from __future__ import annotations

from django.contrib import admin

from billing.admin.common import ReadOnlyAdmin, money_or_dash, pretty_json
from billing.models import Payout


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
        return money_or_dash(obj.amount, obj.currency)

    @admin.display(description="Stripe payout object")
    def raw_json(self, obj: Payout) -> str:
        return pretty_json(obj.raw)
