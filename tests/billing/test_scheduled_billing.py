from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from django.core.management import call_command

from billing import invoicing
from billing.models import Invoice
from billing.tasks import next_billing_run, run_billing_for_all_accounts
from tests.billing_fixtures import record_plan
from tests.rq_worker import rq_mode


def test_the_next_run_is_the_coming_2am_utc():
    assert next_billing_run(datetime(2026, 5, 1, 1, 0, tzinfo=UTC)) == datetime(
        2026, 5, 1, 2, 0, tzinfo=UTC
    )
    assert next_billing_run(datetime(2026, 5, 1, 2, 0, tzinfo=UTC)) == datetime(
        2026, 5, 2, 2, 0, tzinfo=UTC
    )
    assert next_billing_run(datetime(2026, 12, 31, 23, 0, tzinfo=UTC)) == datetime(
        2027, 1, 1, 2, 0, tzinfo=UTC
    )


def test_the_scheduled_run_invoices_every_enabled_account(seller):
    buyer = invoicing.buyer_for(seller, reference="b", name="Buyer")
    record_plan(seller, buyer, 5_000, usage_id="u")
    assert run_billing_for_all_accounts.call(reschedule=False) == 1
    assert Invoice.objects.get().status == "open"


@pytest.fixture
def database_tasks(settings):
    # django-tasks resets its backends when TASKS changes (a setting_changed receiver).
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def test_schedule_tasks_queues_each_recurring_task_once(db, database_tasks):
    from django_tasks_db.models import DBTaskResult

    first, second = io.StringIO(), io.StringIO()
    call_command("schedule_tasks", stdout=first)
    call_command("schedule_tasks", stdout=second)
    assert first.getvalue().count("queued for") == 3
    assert second.getvalue().count("already queued") == 3
    queued = {row.task_path.rsplit(".", 1)[-1]: row for row in DBTaskResult.objects.all()}
    assert set(queued) == {
        "run_billing_for_all_accounts",
        "retry_failed_webhook_events",
        "reconcile_all_accounts",
    }
    assert queued["run_billing_for_all_accounts"].run_after.hour == 2


def test_schedule_tasks_sees_what_the_deployments_backend_has_queued(db, settings):
    """The database backend normally; Redis and RQ's scheduler in the TASKS_BACKEND=rq run."""
    if not rq_mode():
        settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    first, second = io.StringIO(), io.StringIO()
    call_command("schedule_tasks", stdout=first)
    call_command("schedule_tasks", stdout=second)
    assert first.getvalue().count("queued for") == 3
    assert second.getvalue().count("already queued") == 3
    assert "already queued for 20" in second.getvalue()  # the billing run's time, not "now"
