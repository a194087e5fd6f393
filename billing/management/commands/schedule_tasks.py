from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone
from django_tasks.base import Task

from billing.tasks import (
    next_billing_run,
    reconcile_all_accounts,
    retry_failed_webhook_events,
    run_billing_for_all_accounts,
)

# Each recurring task queues its own next run; this starts the chains.
RECURRING: list[tuple[str, Task[Any, Any], Any]] = [
    ("Billing run (daily, 02:00 UTC)", run_billing_for_all_accounts, next_billing_run),
    ("Webhook retries (every minute)", retry_failed_webhook_events, timezone.now),
    ("Reconciliation with Stripe (every few hours)", reconcile_all_accounts, timezone.now),
]


class Command(BaseCommand):
    help = (
        "Queue the recurring tasks (billing run, webhook retries, reconciliation with Stripe) "
        "unless already queued. Safe to repeat."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        from django_tasks_db.models import DBTaskResult

        for label, task, first_run in RECURRING:
            queued = (
                DBTaskResult.objects.filter(task_path=task.module_path, status="READY")
                .order_by("run_after")
                .first()
            )
            if queued is not None:
                self.stdout.write(f"{label}: already queued for {_when(queued.run_after)}.")
                continue
            when = first_run()
            task.using(run_after=when).enqueue()
            self.stdout.write(f"{label}: queued for {_when(when)}; it re-queues itself.")


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "now"
