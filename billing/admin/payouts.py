"""Payouts: the read-only mirror."""

from __future__ import annotations

from billing.admin.common import StripeListAdmin, stripe_object_display


class PayoutAdmin(StripeListAdmin):
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
    raw_json = stripe_object_display("Stripe payout object")
