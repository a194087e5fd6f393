"""Background work of the storefront app, run by `manage.py db_worker` (django-tasks)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from storefront import agents
from storefront.models import InventorySource, SourceCheck

logger = logging.getLogger(__name__)


# A PENDING source whose agent does not answer is tried again after 2, 4, 8… minutes, up to
# this many attempts (where the task backend can defer work); changing its credential or
# endpoint starts over.
CHECK_ATTEMPTS = 8


@task()
def check_inventory_source(source_pk: int, attempt: int = 1) -> str:
    """Call the source's agent with its credential; a PENDING source that answers goes
    ACTIVE. The outcome and error are stored on the source (page and API show them)."""
    source = InventorySource.objects.filter(pk=source_pk).first()
    if source is None:
        return "missing"
    if attempt > 1 and not source.needs_check:
        return "settled"  # activated, disabled, or re-checked since this retry was queued
    try:
        agents.check(source)
    except agents.AgentCheckFailed as exc:
        logger.info("Inventory source %s: check failed: %s", source.pk, exc.message)
        source.record_check(exc.message)
        _retry_later(source, attempt)
    else:
        source.record_check(None)
    return source.check_outcome


def _retry_later(source: InventorySource, attempt: int) -> None:
    if attempt >= CHECK_ATTEMPTS or not check_inventory_source.get_backend().supports_defer:
        return
    check_inventory_source.using(run_after=timezone.now() + timedelta(minutes=2**attempt)).enqueue(
        source.pk, attempt + 1
    )


def queue_check(source: InventorySource) -> None:
    """Check the source's agent in the background once this transaction commits, if it is
    due one (a PENDING source with credentials)."""
    if not source.needs_check:
        return
    source.check_error = ""
    InventorySource.objects.filter(pk=source.pk).update(
        check_outcome=SourceCheck.QUEUED, check_error=""
    )
    source.check_outcome = SourceCheck.QUEUED
    transaction.on_commit(lambda: check_inventory_source.enqueue(source.pk))
