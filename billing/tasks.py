"""Background work, run by `manage.py db_worker` (django-tasks' database backend).

Tests use the immediate backend, so enqueueing runs the task at once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.dispatch import receiver
from django.utils import timezone
from django_tasks import task

from billing import gateway, invoicing, mirror, webhooks
from billing.models import ConnectAccount, WebhookEvent


@task()
def process_webhook_event(event_pk: int) -> str:
    event = WebhookEvent.objects.filter(pk=event_pk).first()
    if event is None:
        return "missing"
    return webhooks.process(event).status


@receiver(webhooks.event_stored)
def _queue_processing(sender: Any, event_pk: int, **kwargs: Any) -> None:
    process_webhook_event.enqueue(event_pk)


logger = logging.getLogger(__name__)


def _report_failure(work: str, connect: Any, exc: Exception) -> None:
    if isinstance(exc, gateway.GatewayError):
        logger.warning("%s for %s failed: %s", work, connect.stripe_id, exc.message)
    else:
        logger.exception("%s for %s failed", work, connect.stripe_id)


@task()
def retry_failed_webhook_events(reschedule: bool = True) -> int:
    """Process again the failed webhook events that are due, then look again in a minute."""
    try:
        return webhooks.retry_due_events()
    finally:
        if reschedule:
            retry_failed_webhook_events.using(
                run_after=timezone.now() + timedelta(minutes=1)
            ).enqueue()


def reconcile_every() -> timedelta:
    return timedelta(hours=getattr(settings, "BILLING_RECONCILE_EVERY_HOURS", 6))


@task()
def reconcile_all_accounts(reschedule: bool = True) -> int:
    """Re-read every connected account from Stripe (status, requirements, balance, money
    still moving), so the mirror converges even when webhook events were lost. Returns how
    many accounts were brought up to date; one account's failure never stops the others."""
    done = 0
    try:
        for connect in ConnectAccount.objects.order_by("id"):
            try:
                mirror.reconcile_account(connect)
                done += 1
            except Exception as exc:
                _report_failure("Reconciliation", connect, exc)
    finally:
        if reschedule:
            reconcile_all_accounts.using(run_after=timezone.now() + reconcile_every()).enqueue()
    return done


BILLING_RUN_HOUR_UTC = 2


def next_billing_run(now: datetime | None = None) -> datetime:
    """The next daily billing run: 02:00 UTC, when buyers are least likely to be looking."""
    now = now or timezone.now()
    run = now.astimezone(UTC).replace(hour=BILLING_RUN_HOUR_UTC, minute=0, second=0, microsecond=0)
    return run if run > now else run + timedelta(days=1)


@task()
def run_billing_for_all_accounts(reschedule: bool = True) -> int:
    """The scheduled billing run: invoice every enabled account's pending items, then queue
    tomorrow's run (the task schedules itself; `manage.py schedule_tasks` starts the chain)."""
    invoices = 0
    try:
        for connect in ConnectAccount.objects.filter(charges_enabled=True).order_by("id"):
            try:
                invoices += len(invoicing.run_billing(connect).invoices)
            except Exception as exc:
                # One account's failure never stops the night's run for the others; the next
                # run picks it up, and re-running never double-invoices.
                _report_failure("Billing run", connect, exc)
    finally:
        if reschedule:
            run_billing_for_all_accounts.using(run_after=next_billing_run()).enqueue()
    return invoices


@task()
def sync_account(connect_pk: int) -> dict[str, int]:
    return mirror.sync_account(ConnectAccount.objects.get(pk=connect_pk))
