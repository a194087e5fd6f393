"""One worker at a time per Stripe account, across processes and machines.

Background work on an account (processing its webhook events, syncing, reconciling, billing)
takes the account's lease first: a conditional UPDATE on its `AccountLease` row that succeeds
only while nobody else holds it. Why a database lease rather than a Redis lock: it works the
same with either task backend (the database worker of `make demo` has no Redis), on
PostgreSQL and SQLite alike; it lives beside the data it protects; and unlike a row lock
(SELECT … FOR UPDATE) it holds no transaction or connection open over slow Stripe calls. A
worker that dies keeps the account only until its lease lapses (LEASE).

Holding is re-entrant within one thread: work that calls other leased work does not wait for
itself.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from billing.models import AccountLease

# Longer than any one piece of work on an account (a backfill pages at Stripe's rate limit).
LEASE = timedelta(minutes=30)
# How long work waits for a busy account before giving up (the caller then tries later).
WAIT_SECONDS = 30.0
POLL_SECONDS = 0.05

_held = threading.local()


class AccountBusy(Exception):
    """Another worker held the account for longer than we waited."""


def _holding() -> set[str]:
    if not hasattr(_held, "accounts"):
        _held.accounts = set()
    return _held.accounts


def try_acquire(account: str, holder: str) -> bool:
    """Take the account's lease for `holder` if it is free; True if taken."""
    now = timezone.now()
    free = Q(until__isnull=True) | Q(until__lt=now)
    if AccountLease.objects.filter(free, account=account).update(holder=holder, until=now + LEASE):
        return True
    try:
        with transaction.atomic():
            AccountLease.objects.create(account=account, holder=holder, until=now + LEASE)
    except IntegrityError:
        return False  # the row exists (held, or just taken by someone else)
    return True


def release(account: str, holder: str) -> None:
    """Give the lease back, only if it is still ours (a lapsed lease may have a new holder)."""
    AccountLease.objects.filter(account=account, holder=holder).update(holder="", until=None)


@contextmanager
def hold(account: str, *, wait: float | None = None) -> Iterator[None]:
    """Run the block holding `account` (a Stripe account id); waits up to `wait` seconds
    (WAIT_SECONDS unless given) for another holder to finish, then raises AccountBusy."""
    held = _holding()
    if not account or account in held:
        yield
        return
    holder = uuid.uuid4().hex
    give_up = time.monotonic() + (WAIT_SECONDS if wait is None else wait)
    while not try_acquire(account, holder):
        if time.monotonic() >= give_up:
            raise AccountBusy(f"Another worker is processing {account}.")
        time.sleep(POLL_SECONDS)
    held.add(account)
    try:
        yield
    finally:
        held.discard(account)
        release(account, holder)
