"""Background work, run by `manage.py db_worker` (django-tasks' database backend).

Tests use the immediate backend, so enqueueing runs the task at once.
"""

from __future__ import annotations

from django_tasks import task

from billing.models import WebhookEvent


@task()
def process_webhook_event(event_pk: int) -> str:
    from billing import webhooks

    event = WebhookEvent.objects.filter(pk=event_pk).first()
    if event is None:
        return "missing"
    return webhooks.process(event).status


@task()
def run_billing_for_all_accounts() -> int:
    """The scheduled billing run: invoice every enabled account's pending items."""
    from billing import gateway, invoicing
    from billing.models import ConnectAccount

    invoices = 0
    for connect in ConnectAccount.objects.filter(charges_enabled=True).order_by("id"):
        try:
            invoices += len(invoicing.run_billing(connect).invoices)
        except gateway.GatewayError:
            continue  # the next scheduled run picks it up
    return invoices


@task()
def sync_account(connect_pk: int) -> dict[str, int]:
    from billing import mirror
    from billing.models import ConnectAccount

    return mirror.sync_account(ConnectAccount.objects.get(pk=connect_pk))
