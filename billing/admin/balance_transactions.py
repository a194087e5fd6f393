"""Balance transactions: the read-only mirror."""

from __future__ import annotations

from django.contrib import admin

from billing.admin.common import StripeListAdmin, money_or_dash, stripe_object_display
from billing.models import BalanceTransaction


class BalanceTransactionAdmin(StripeListAdmin):
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
    raw_json = stripe_object_display("Stripe balance transaction object")

    @admin.display(description="Fee", ordering="fee")
    def formatted_fee(self, obj: BalanceTransaction) -> str:
        return money_or_dash(obj.fee, obj.currency)

    @admin.display(description="Net", ordering="net")
    def formatted_net(self, obj: BalanceTransaction) -> str:
        return money_or_dash(obj.net, obj.currency)
