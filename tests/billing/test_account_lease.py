"""One worker at a time per Stripe account (billing.account_lease), across threads, processes
and machines: the lease is a row in the shared database, and every task holds it."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from billing import account_lease, tasks, webhooks
from billing.models import AccountLease, WebhookEvent, WebhookEventStatus
from tests.concurrency import in_threads
from tests.rq_worker import rq_mode

pytestmark = pytest.mark.django_db


def test_a_held_account_cannot_be_taken_until_released():
    assert account_lease.try_acquire("acct_1", "worker-a")
    assert not account_lease.try_acquire("acct_1", "worker-b")
    assert account_lease.try_acquire("acct_2", "worker-b"), "other accounts stay free"
    account_lease.release("acct_1", "worker-a")
    assert account_lease.try_acquire("acct_1", "worker-b")


def test_a_lapsed_lease_is_taken_over_and_its_old_holder_cannot_release_it():
    assert account_lease.try_acquire("acct_1", "crashed")
    AccountLease.objects.filter(account="acct_1").update(
        until=timezone.now() - timedelta(seconds=1)
    )
    assert account_lease.try_acquire("acct_1", "worker-b")
    account_lease.release("acct_1", "crashed")  # late, after its lease lapsed
    assert not account_lease.try_acquire("acct_1", "worker-c"), "worker-b still holds it"


def test_hold_waits_for_a_busy_account_then_gives_up():
    assert account_lease.try_acquire("acct_1", "someone-else")
    started = time.monotonic()
    with pytest.raises(account_lease.AccountBusy), account_lease.hold("acct_1", wait=0.2):
        raise AssertionError("must not run while another worker holds the account")
    assert time.monotonic() - started >= 0.2


def test_hold_is_reentrant_within_a_thread_and_releases_at_the_end():
    with account_lease.hold("acct_1"), account_lease.hold("acct_1", wait=0):
        assert not account_lease.try_acquire("acct_1", "worker-b")
    assert account_lease.try_acquire("acct_1", "worker-b")


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_never_work_on_one_account_at_the_same_time():
    inside, overlaps, done = [0], [], []
    guard = threading.Lock()

    def worker() -> None:
        for _ in range(5):
            with account_lease.hold("acct_busy"):
                with guard:
                    inside[0] += 1
                    overlaps.append(inside[0])
                time.sleep(0.01)
                with guard:
                    inside[0] -= 1
        done.append(True)

    in_threads(*[worker] * 4, timeout=60)
    assert len(done) == 4
    assert max(overlaps) == 1, "two workers held the account at once"


def _event(account: str = "acct_1") -> WebhookEvent:
    return WebhookEvent.objects.create(
        stripe_id="evt_lease",
        type="no.such_type",
        account=account,
        created=timezone.now(),
        payload={"id": "evt_lease", "type": "no.such_type", "data": {"object": {}}},
    )


def test_an_event_of_a_busy_account_is_retried_soon_without_counting_an_attempt(monkeypatch):
    monkeypatch.setattr(account_lease, "WAIT_SECONDS", 0.1)
    event = _event()
    assert account_lease.try_acquire("acct_1", "another-worker")

    webhooks.process_holding_account(event)

    event.refresh_from_db()
    assert event.status == WebhookEventStatus.FAILED
    assert event.attempts == 0
    assert "Another worker" in event.error
    assert timezone.now() < event.next_attempt_at <= timezone.now() + webhooks.BUSY_RETRY
    # Once the account is free, the retry loop processes it.
    account_lease.release("acct_1", "another-worker")
    assert webhooks.retry_due_events(now=event.next_attempt_at) == 1
    event.refresh_from_db()
    assert (event.status, event.attempts) == (WebhookEventStatus.IGNORED, 1)


def test_the_processing_task_holds_the_events_account(monkeypatch):
    seen = []

    def process(event: WebhookEvent) -> WebhookEvent:
        seen.append(account_lease.try_acquire(event.account, "intruder"))
        event.status = WebhookEventStatus.PROCESSED
        return event

    monkeypatch.setattr(webhooks, "process", process)
    result = tasks.process_webhook_event.enqueue(_event().pk)
    if rq_mode():  # the in-process RQ worker ran it through Redis
        result = tasks.process_webhook_event.get_backend().get_result(result.id)
        assert result.worker_ids
    assert result.return_value == WebhookEventStatus.PROCESSED
    assert seen == [False], "another worker could take the account during processing"
    assert account_lease.try_acquire("acct_1", "next-worker"), "released afterwards"


def test_a_sync_of_a_busy_account_is_queued_again_for_later(settings, monkeypatch, seller):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    monkeypatch.setattr(account_lease, "WAIT_SECONDS", 0.1)
    assert account_lease.try_acquire(seller.stripe_id, "a-webhook-worker")

    assert tasks.sync_account.call(seller.pk) == {}

    [again] = DBTaskResult.objects.filter(task_path="billing.tasks.sync_account")
    assert again.args_kwargs["args"] == [seller.pk]
    assert again.run_after > timezone.now()
