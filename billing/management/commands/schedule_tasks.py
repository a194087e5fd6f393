from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
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
        for label, task, first_run in RECURRING:
            queued, at = _queued(task)
            if queued:
                self.stdout.write(f"{label}: already queued for {_when(at)}.")
                continue
            when = first_run()
            task.using(run_after=when).enqueue()
            self.stdout.write(f"{label}: queued for {_when(when)}; it re-queues itself.")


def _queued(task: Task[Any, Any]) -> tuple[bool, datetime | None]:
    """Whether `task` waits in the queue already, and for when: in the database (the db
    backend) or in Redis, scheduled or due (the rq backend)."""
    if settings.TASKS[task.backend]["BACKEND"] == "django_tasks_rq.RQBackend":
        import django_rq

        queue = django_rq.get_queue(task.queue_name)
        registry = queue.scheduled_job_registry
        for job in queue.job_class.fetch_many(registry.get_job_ids(), connection=queue.connection):
            if job is not None and job.func_name == task.module_path:
                return True, registry.get_scheduled_time(job)
        if any(job.func_name == task.module_path for job in queue.get_jobs()):
            return True, None
        return False, None
    from django_tasks_db.models import DBTaskResult

    row = (
        DBTaskResult.objects.filter(task_path=task.module_path, status="READY")
        .order_by("run_after")
        .first()
    )
    return (True, row.run_after) if row is not None else (False, None)


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "now"
