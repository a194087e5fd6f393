"""The Connect webhook endpoint and the processing of stored events.

Intake (the view) does as little as possible, in this order: verify the signature on the raw
body (400 and nothing stored if it fails), store the event once by its id (a duplicate is
acknowledged and ignored), enqueue processing, answer 200. Processing re-reads state-bearing
objects from Stripe, so events may arrive late, twice or out of order without harm.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.dispatch import Signal
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing import account_lease, gateway, mirror, onboarding
from billing.models import ConnectAccount, WebhookEvent, WebhookEventStatus

logger = logging.getLogger(__name__)


@csrf_exempt  # Stripe cannot send our CSRF token; the signature authenticates the request.
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    try:
        event = gateway.verify_webhook(request.body, request.headers.get("Stripe-Signature", ""))
    except gateway.WebhookSignatureInvalid as exc:
        return JsonResponse({"error": f"Invalid signature: {exc}"}, status=400)
    stored = store_event(event)
    if stored is None:
        return JsonResponse({"received": True, "duplicate": True})
    return JsonResponse({"received": True})


# Sent (with `event_pk`) once a new event is stored and committed; `billing.tasks` queues its
# processing. So the dependency points one way: tasks use this module, never the reverse.
event_stored = Signal()


def store_event(event: dict[str, Any]) -> WebhookEvent | None:
    """Store a verified event and enqueue its processing; None if we already had it."""
    obj = (event.get("data") or {}).get("object") or {}
    try:
        with transaction.atomic():
            stored = WebhookEvent.objects.create(
                stripe_id=event["id"],
                type=event["type"],
                account=event.get("account") or obj.get("account") or "",
                created=datetime.fromtimestamp(int(event.get("created") or 0), tz=UTC),
                payload=event,
            )
            transaction.on_commit(
                lambda: event_stored.send(sender=WebhookEvent, event_pk=stored.pk)
            )
    except IntegrityError:
        return None
    return stored


# Processing


def _connect_for(event: WebhookEvent) -> ConnectAccount | None:
    obj = event.payload.get("data", {}).get("object", {})
    account_id = event.account or (obj.get("id") if obj.get("object") == "account" else "")
    if not account_id and obj.get("object") == "fee_refund" and obj.get("fee"):
        # Application fee events are the platform's own (no `account`); the fee names the
        # seller it was taken from, and a fee refund only names its fee.
        account_id = gateway.retrieve_application_fee(obj["fee"]).get("account") or ""
    if not account_id:
        return None
    return ConnectAccount.objects.filter(stripe_id=account_id).first()


def _on_account(event: WebhookEvent, connect: ConnectAccount) -> None:
    # Never trust the payload's snapshot: a late older event would roll status back.
    onboarding.refresh(connect)
    mirror.fill_payout_destinations(connect)


def _on_payout(event: WebhookEvent, connect: ConnectAccount) -> None:
    obj = event.payload["data"]["object"]
    payout = mirror.upsert_payout(
        connect, gateway.retrieve("payouts", obj["id"], connect.stripe_id)
    )
    if payout.status in mirror.RECONCILABLE_STATUSES:
        mirror.reconcile_payout(connect, payout)
    mirror.sync_ledger(connect, covering=event.pk)


def _on_money_moved(event: WebhookEvent, connect: ConnectAccount) -> None:
    # Coalesced: of a burst of money events on one account, the first syncs the ledger and
    # reads the balance; the others, stored before that sync began, are covered by it.
    mirror.sync_ledger(connect, covering=event.pk)


def _on_refund(event: WebhookEvent, connect: ConnectAccount) -> None:
    """A refund was made, updated or failed: the charge's refunded amount and the ledger."""
    obj = event.payload["data"]["object"]
    charge_id = obj.get("charge") if obj.get("object") == "refund" else obj.get("id")
    if isinstance(charge_id, dict):
        charge_id = charge_id.get("id")
    if charge_id:
        mirror.refresh_charge(connect, charge_id)
    _on_money_moved(event, connect)


def _on_dispute(event: WebhookEvent, connect: ConnectAccount) -> None:
    obj = event.payload["data"]["object"]
    closed_at = event.created if event.type == "charge.dispute.closed" else None
    mirror.upsert_dispute(
        connect, gateway.retrieve("disputes", obj["id"], connect.stripe_id), closed_at=closed_at
    )
    _on_money_moved(event, connect)


def _on_invoice(event: WebhookEvent, connect: ConnectAccount) -> None:
    obj = event.payload["data"]["object"]
    mirror.upsert_invoice(connect, gateway.retrieve("invoices", obj["id"], connect.stripe_id))


def _on_invoice_payment_failed(event: WebhookEvent, connect: ConnectAccount) -> None:
    obj = event.payload["data"]["object"]
    invoice = gateway.retrieve("invoices", obj["id"], connect.stripe_id)
    mirror.upsert_invoice(connect, invoice)
    mirror.record_payment_failure(connect, invoice)


def _on_invoice_item(event: WebhookEvent, connect: ConnectAccount) -> None:
    obj = event.payload["data"]["object"]
    mirror.upsert_invoice_item(
        connect, gateway.retrieve("invoice_items", obj["id"], connect.stripe_id)
    )


HANDLERS: dict[str, Callable[[WebhookEvent, ConnectAccount], None]] = {
    "account.updated": _on_account,
    "capability.updated": _on_account,
    "payout.created": _on_payout,
    "payout.updated": _on_payout,
    "payout.paid": _on_payout,
    "payout.failed": _on_payout,
    "payout.canceled": _on_payout,
    "payout.reconciliation_completed": _on_payout,
    "balance.available": _on_money_moved,
    "charge.succeeded": _on_money_moved,
    # Money that goes back out: refunds (and refunds that fail), disputes, fee refunds.
    "charge.refunded": _on_refund,
    "charge.refund.updated": _on_refund,
    "refund.created": _on_refund,
    "refund.updated": _on_refund,
    "refund.failed": _on_refund,
    "charge.dispute.created": _on_dispute,
    "charge.dispute.updated": _on_dispute,
    "charge.dispute.closed": _on_dispute,
    "charge.dispute.funds_withdrawn": _on_dispute,
    "charge.dispute.funds_reinstated": _on_dispute,
    "application_fee.created": _on_money_moved,
    "application_fee.refunded": _on_money_moved,
    "application_fee.refund.updated": _on_money_moved,
    "invoice.payment_failed": _on_invoice_payment_failed,
    "invoice.created": _on_invoice,
    "invoice.finalized": _on_invoice,
    "invoice.sent": _on_invoice,
    "invoice.paid": _on_invoice,
    "invoice.payment_succeeded": _on_invoice,
    "invoice.voided": _on_invoice,
    "invoice.marked_uncollectible": _on_invoice,
    "invoice.updated": _on_invoice,
    "invoice.overdue": _on_invoice,
    "invoiceitem.created": _on_invoice_item,
    "invoiceitem.updated": _on_invoice_item,
}


# Like Stripe's own webhook delivery: the first retry within a minute, then backing off, for
# about four days in all (a Stripe outage, a bug fixed by a deploy). After the last one the
# event waits in admin for "Reprocess"; the periodic reconciliation repairs the mirror anyway.
RETRY_DELAYS = [
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(hours=12),
    timedelta(days=1),
    timedelta(days=1),
    timedelta(days=1),
]


def process(event: WebhookEvent) -> WebhookEvent:
    """Process one stored event; failures are recorded on the event (with when to try it
    again), never raised."""
    event.attempts += 1
    handler = HANDLERS.get(event.type)
    try:
        connect = _connect_for(event) if handler else None
        if handler is None:
            event.status = WebhookEventStatus.IGNORED
        elif connect is None:
            # An account we do not (yet) know: nothing of ours to update.
            event.status = WebhookEventStatus.IGNORED
            event.error = f"No connected account {event.account or '(none)'} in our database."
        else:
            handler(event, connect)
            event.status, event.error = WebhookEventStatus.PROCESSED, ""
    except Exception as exc:
        logger.exception("Processing webhook event %s (%s) failed", event.stripe_id, event.type)
        event.status = WebhookEventStatus.FAILED
        message = (
            exc.message if isinstance(exc, gateway.GatewayError) else f"{type(exc).__name__}: {exc}"
        )
        event.error = f"{message}\n\n{traceback.format_exc(limit=8)}"
    event.processed_at = timezone.now()
    event.next_attempt_at = None
    if event.status == WebhookEventStatus.FAILED and event.attempts <= len(RETRY_DELAYS):
        event.next_attempt_at = event.processed_at + RETRY_DELAYS[event.attempts - 1]
    event.save(update_fields=["status", "error", "attempts", "processed_at", "next_attempt_at"])
    return event


def retry_due_events(now: datetime | None = None, limit: int = 500) -> int:
    """Process again the failed events whose next attempt is due; returns how many.

    Each event is claimed with a conditional update first, so two workers running this at
    once never process the same event twice.
    """
    now = now or timezone.now()
    due = list(
        WebhookEvent.objects.filter(status=WebhookEventStatus.FAILED, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("pk", "next_attempt_at")[:limit]
    )
    retried = 0
    for pk, next_attempt_at in due:
        claimed = WebhookEvent.objects.filter(
            pk=pk, status=WebhookEventStatus.FAILED, next_attempt_at=next_attempt_at
        ).update(status=WebhookEventStatus.PENDING, next_attempt_at=None)
        if claimed:
            process_holding_account(WebhookEvent.objects.get(pk=pk))
            retried += 1
    return retried


# While another worker keeps the event's account busy, try the event again this much later.
BUSY_RETRY = timedelta(seconds=30)


def process_holding_account(event: WebhookEvent) -> WebhookEvent:
    """`process()` while holding the event's account (billing.account_lease), so no other
    worker, on any machine, works on that account at the same time. An account that stays
    busy leaves the event failed with an early next attempt (not counted as an attempt)."""
    try:
        with account_lease.hold(event.account):
            return process(event)
    except account_lease.AccountBusy as exc:
        event.status, event.error = WebhookEventStatus.FAILED, str(exc)
        event.next_attempt_at = timezone.now() + BUSY_RETRY
        event.save(update_fields=["status", "error", "next_attempt_at"])
        return event
