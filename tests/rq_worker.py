"""With TASKS_BACKEND=rq: every task the code under test enqueues goes to Redis, and a real RQ
worker (a SimpleWorker, in burst mode) takes it from there and runs it in the enqueuing
thread, right away, like the immediate backend of the ordinary run. So the webhook and chaos
tests check the RQ path end to end: serialisation, the queue, RQ's job execution and
django-tasks-rq's result handling. (A worker in another process could not see the test's
uncommitted database transaction.)"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

RQ_BACKEND = "django_tasks_rq.RQBackend"
_local = threading.local()


def rq_mode() -> bool:
    return settings.TASKS["default"]["BACKEND"] == RQ_BACKEND


def _worker_class() -> type:
    from rq.timeouts import TimerDeathPenalty
    from rq.worker import SimpleWorker

    class InProcessWorker(SimpleWorker):
        # Signals and SIGALRM timeouts work only in the main thread; request threads of the
        # live server run workers too.
        death_penalty_class = TimerDeathPenalty

        def _install_signal_handlers(self) -> None:
            pass

    return InProcessWorker


def run_queued_jobs(sender: type, **_: Any) -> None:
    """Drain the queue with a burst worker (not re-entered by jobs that enqueue more: the
    running burst picks those up)."""
    from django_tasks_rq import Job, RQBackend

    if not issubclass(sender, RQBackend) or getattr(_local, "working", False):
        return
    import django_rq

    _local.working = True
    try:
        queue = django_rq.get_queue("default")
        worker = _worker_class()([queue], connection=queue.connection, job_class=Job)
        worker.work(burst=True, with_scheduler=False, logging_level="WARNING")
    finally:
        _local.working = False


@pytest.fixture(autouse=True, scope="session")
def rq_worker() -> Iterator[None]:
    if not rq_mode():
        yield
        return
    import django_rq
    from django_tasks.signals import task_enqueued

    django_rq.get_queue("default").connection.flushdb()
    task_enqueued.connect(run_queued_jobs, dispatch_uid="tests-rq-worker")
    yield
    task_enqueued.disconnect(dispatch_uid="tests-rq-worker")


@pytest.fixture(autouse=True)
def empty_rq_queue(rq_worker: None) -> None:
    """Every test starts with nothing queued or scheduled in Redis."""
    if rq_mode():
        import django_rq

        django_rq.get_queue("default").connection.flushdb()
