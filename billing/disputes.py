"""What the overview tells a seller about disputes: the ones to answer, and recent outcomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from billing.models import DISPUTE_CLOSED, DISPUTE_NEEDS_RESPONSE, ConnectAccount, Dispute

# How long a closed dispute's outcome stays on the overview.
OUTCOME_SHOWN_FOR = timedelta(days=30)


@dataclass
class DisputeAlerts:
    needing_response: list[Dispute] = field(default_factory=list)
    recently_closed: list[Dispute] = field(default_factory=list)


def alerts(connect: ConnectAccount) -> DisputeAlerts:
    """Open disputes (soonest deadline first) and those closed in the last 30 days (newest
    first), with their invoice and buyer: one query, however many there are."""
    since = timezone.now() - OUTCOME_SHOWN_FOR
    rows = (
        Dispute.objects.filter(connect_account=connect)
        .filter(
            Q(status__in=DISPUTE_NEEDS_RESPONSE)
            | Q(status__in=DISPUTE_CLOSED, closed_at__gte=since)
        )
        .select_related("invoice__buyer")
    )
    found = DisputeAlerts()
    for dispute in rows:
        if dispute.needs_response:
            found.needing_response.append(dispute)
        else:
            found.recently_closed.append(dispute)
    found.needing_response.sort(key=lambda d: (d.evidence_due_by is None, d.evidence_due_by))
    found.recently_closed.sort(key=lambda d: d.closed_at or d.created, reverse=True)
    return found
