"""Background work, run by `manage.py db_worker` (django-tasks' database backend).

Tests use the immediate backend, so enqueueing runs the task at once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timezone
from django_tasks import task

from billing.models import WebhookEvent


@task()
def process_webhook_event(event_pk: int) -> str:
    from billing import webhooks

    event = WebhookEvent.objects.filter(pk=event_pk).first()
    if event is None:
        return "missing"
    return webhooks.process(event).status


BILLING_RUN_HOUR_UTC = 2


def next_billing_run(now: datetime | None = None) -> datetime:
    """The next daily billing run: 02:00 UTC, when buyers are least likely to be looking."""
    now = now or timezone.now()
    run = now.astimezone(UTC).replace(hour=BILLING_RUN_HOUR_UTC, minute=0, second=0, microsecond=0)
    return run if run > now else run + timedelta(days=1)


@task()
def run_billing_for_all_accounts(reschedule: bool = True) -> int:
    """The scheduled billing run: invoice every enabled account's pending items, then queue
    tomorrow's run (the task schedules itself; `manage.py schedule_billing` starts the chain)."""
    from billing import gateway, invoicing
    from billing.models import ConnectAccount

    invoices = 0
    try:
        for connect in ConnectAccount.objects.filter(charges_enabled=True).order_by("id"):
            try:
                invoices += len(invoicing.run_billing(connect).invoices)
            except gateway.GatewayError:
                continue  # the next run picks it up; re-running never double-invoices
    finally:
        if reschedule:
            run_billing_for_all_accounts.using(run_after=next_billing_run()).enqueue()
    return invoices


@task()
def sync_account(connect_pk: int) -> dict[str, int]:
    from billing import mirror
    from billing.models import ConnectAccount

    return mirror.sync_account(ConnectAccount.objects.get(pk=connect_pk))
