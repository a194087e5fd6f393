"""Running test code in several threads at once, for tests of races, leases and faults."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection


def in_threads(*targets: Callable[[], None], timeout: float = 300) -> None:
    """Run each target in its own thread and wait for them all (up to `timeout` seconds each).
    Each thread closes its own database connection (Django opens one per thread), and what a
    target raises fails the test here, in the test's thread."""
    errors: list[BaseException] = []

    def run(target: Callable[[], None]) -> None:
        try:
            target()
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not errors, errors
