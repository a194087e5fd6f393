"""Keyset pagination over mirrored Stripe objects, newest first on (created, id).

The cursor handed to clients is the Stripe id of the last object on a page (API.md: pass it
back as `starting_after`). Resolving it is one unique-index lookup, and the next page is a
range scan on the (account, created, id) index, so page 1,000 costs what page 1 costs —
unlike OFFSET, which reads and discards every earlier row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from django.db.models import Model, Q, QuerySet

M = TypeVar("M", bound=Model)

DEFAULT_LIMIT = 25
MAX_LIMIT = 100


class InvalidCursor(ValueError):
    pass


@dataclass(frozen=True)
class Page(Generic[M]):
    items: list[M]
    has_more: bool
    limit: int

    @property
    def cursor(self) -> str | None:
        """Pass as `starting_after` for the next page; None on the last page."""
        if not self.has_more or not self.items:
            return None
        return self.items[-1].stripe_id  # type: ignore[attr-defined]


def keyset_page(
    queryset: QuerySet[M], *, limit: int = DEFAULT_LIMIT, starting_after: str | None = None
) -> Page[M]:
    """One page of `queryset` (already filtered to one account), newest first.

    `starting_after` must be the Stripe id of an object in the same queryset; anything else
    raises InvalidCursor (never silently restarts at page 1).
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
    ordered = queryset.order_by("-created", "-id")
    if starting_after:
        anchor = queryset.filter(stripe_id=starting_after).values("created", "id").first()
        if anchor is None:
            raise InvalidCursor(f"starting_after {starting_after!r} is not an item of this list")
        ordered = ordered.filter(
            Q(created__lt=anchor["created"]) | Q(created=anchor["created"], id__lt=anchor["id"])
        )
    rows = list(ordered[: limit + 1])
    return Page(items=rows[:limit], has_more=len(rows) > limit, limit=limit)
