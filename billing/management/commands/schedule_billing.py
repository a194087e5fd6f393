from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from billing.tasks import next_billing_run, run_billing_for_all_accounts


class Command(BaseCommand):
    help = "Queue the daily billing run (02:00 UTC) unless one is already queued. Safe to repeat."

    def handle(self, *args: Any, **options: Any) -> None:
        from django_tasks_db.models import DBTaskResult

        path = run_billing_for_all_accounts.module_path
        queued = (
            DBTaskResult.objects.filter(task_path=path, status="READY")
            .order_by("run_after")
            .first()
        )
        if queued is not None:
            self.stdout.write(
                f"Billing run already queued for {queued.run_after:%Y-%m-%d %H:%M} UTC."
            )
            return
        when = next_billing_run()
        run_billing_for_all_accounts.using(run_after=when).enqueue()
        self.stdout.write(
            f"Billing run queued for {when:%Y-%m-%d %H:%M} UTC; it re-queues itself daily."
        )
