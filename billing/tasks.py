"""Background work, run by `manage.py db_worker` (django-tasks' database backend) or, with
TASKS_BACKEND=rq, by `manage.py rqworker --with-scheduler` on any number of machines.

Work on one Stripe account is never done by two workers at once: each task holds the
account's lease (billing.account_lease) while it works on it.

Tests use the immediate backend, so enqueueing runs the task at once (or, with
TASKS_BACKEND=rq, an in-process RQ worker runs it through Redis).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.dispatch import receiver
from django.utils import timezone
from django_tasks import task

from billing import account_lease, gateway, invoicing, mirror, webhooks
from billing.models import ConnectAccount, WebhookEvent


@task()
def process_webhook_event(event_pk: int) -> str:
    event = WebhookEvent.objects.filter(pk=event_pk).first()
    if event is None:
        return "missing"
    return webhooks.process_holding_account(event).status


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
                with account_lease.hold(connect.stripe_id):
                    mirror.reconcile_account(connect)
                done += 1
            except Exception as exc:  # AccountBusy too: the next reconciliation catches up
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
                with account_lease.hold(connect.stripe_id):
                    invoices += len(invoicing.run_billing(connect).invoices)
            except account_lease.AccountBusy as exc:
                if not _later(run_billing_for_account, connect.pk):
                    _report_failure("Billing run", connect, exc)
            except Exception as exc:
                # One account's failure never stops the night's run for the others; the next
                # run picks it up, and re-running never double-invoices.
                _report_failure("Billing run", connect, exc)
    finally:
        if reschedule:
            run_billing_for_all_accounts.using(run_after=next_billing_run()).enqueue()
    return invoices


@task()
def run_billing_for_account(connect_pk: int) -> int:
    """One account's share of the billing run, when the run found the account busy."""
    from billing import invoicing
    from billing.models import ConnectAccount

    connect = ConnectAccount.objects.get(pk=connect_pk)
    try:
        with account_lease.hold(connect.stripe_id):
            return len(invoicing.run_billing(connect).invoices)
    except account_lease.AccountBusy:
        if not _later(run_billing_for_account, connect_pk):
            raise
        return 0


@task()
def sync_account(connect_pk: int) -> dict[str, int]:
    connect = ConnectAccount.objects.get(pk=connect_pk)
    try:
        with account_lease.hold(connect.stripe_id):
            return mirror.sync_account(connect)
    except account_lease.AccountBusy:
        if not _later(sync_account, connect_pk):
            raise
        return {}


# A task that found its account busy tries again this much later.
BUSY_RETRY = timedelta(seconds=30)


def _later(work: Any, *args: Any) -> bool:
    """Queue `work` again a little later; False if the backend cannot defer (the tests'
    immediate one would run it at once and find the account busy again)."""
    if not work.get_backend().supports_defer:
        return False
    work.using(run_after=timezone.now() + BUSY_RETRY).enqueue(*args)
    return True
