"""Webhook events as received, and reprocessing them."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from billing import webhooks
from billing.admin.common import ReadOnlyAdmin, pretty_json
from billing.models import WebhookEvent, WebhookEventStatus


class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = [
        "stripe_id",
        "type",
        "account",
        "status",
        "attempts",
        "next_attempt_at",
        "received_at",
    ]
    list_filter = ["status", "type"]
    search_fields = ["stripe_id", "account"]
    date_hierarchy = "received_at"
    actions = ["reprocess"]
    readonly_fields = ["error_text", "payload_json"]
    exclude = ["payload", "error"]

    @admin.display(description="Error")
    def error_text(self, obj: WebhookEvent) -> str:
        return format_html("<pre>{}</pre>", obj.error) if obj.error else "—"

    @admin.display(description="Payload")
    def payload_json(self, obj: WebhookEvent) -> str:
        return pretty_json(obj.payload)

    @admin.action(description="Reprocess selected events", permissions=["stripe"])
    def reprocess(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        outcomes: dict[str, list[str]] = {}
        for event in queryset:
            # Holding the event's account, like the workers (a busy one stays failed, due soon).
            event = webhooks.process_holding_account(event)
            outcomes.setdefault(event.status, []).append(event.stripe_id)
            if event.status == WebhookEventStatus.FAILED:
                first_line = event.error.splitlines()[0] if event.error else "unknown error"
                messages.error(request, f"{event.stripe_id} failed again: {first_line}")
        summary = "; ".join(
            f"{len(ids)} {WebhookEventStatus(status).label.lower()}"
            for status, ids in outcomes.items()
        )
        level = messages.WARNING if WebhookEventStatus.FAILED in outcomes else messages.SUCCESS
        messages.add_message(
            request, level, f"Reprocessed {sum(map(len, outcomes.values()))} event(s): {summary}."
        )
