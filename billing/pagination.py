"""Keyset pagination over mirrored Stripe objects, newest first on (created, id).

The cursor handed to clients is opaque: it encodes the (created, id) of the last object on a
page, so the next page is one range scan on the (account, created, id) index — page 1,000
costs what page 1 costs, in the same single query, unlike OFFSET which reads and discards
every earlier row. As the public API documents `starting_after` as "the id of the last item", a
Stripe id is accepted too (one extra unique-index lookup).

A cursor only ever narrows a queryset the caller already scoped to one account, so a cursor
taken from another list can reorder nothing it may not see.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, Protocol, TypeVar

from django.db.models import Model, Q, QuerySet

M = TypeVar("M", bound=Model)
T = TypeVar("T")


class Keyed(Protocol):
    """What a page's items are ordered by: every mirrored Stripe object has both."""

    created: datetime
    pk: int


K = TypeVar("K", bound=Keyed)

DEFAULT_LIMIT = 25
MAX_LIMIT = 100


class InvalidCursor(ValueError):
    pass


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    has_more: bool
    limit: int
    # Asked for a cursor that no longer leads anywhere, so this is the first page instead.
    restarted: bool = False

    @property
    def cursor(self: Page[K]) -> str | None:
        """Pass as `starting_after` for the next page; None on the last page."""
        if not self.has_more or not self.items:
            return None
        last = self.items[-1]
        if isinstance(last, dict):  # a page read as values: the keyset's columns among them
            return encode_cursor(last["created"], last["id"])
        return encode_cursor(last.created, last.pk)


_PREFIX = "cur_"


def encode_cursor(created: datetime, pk: int) -> str:
    micros = int(created.timestamp() * 1_000_000)
    token = base64.urlsafe_b64encode(f"{micros}:{pk}".encode()).decode().rstrip("=")
    return _PREFIX + token


def decode_cursor(value: str) -> tuple[datetime, int] | None:
    """(created, pk) from one of our cursors, or None if `value` is not one."""
    if not value.startswith(_PREFIX):
        return None
    token = value[len(_PREFIX) :]
    try:
        micros, pk = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().split(":")
        created, row_id = datetime.fromtimestamp(int(micros) / 1_000_000, tz=UTC), int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError, OSError):
        raise InvalidCursor("starting_after is not a cursor this API issued") from None
    if not 1 <= row_id < 2**63:
        raise InvalidCursor("starting_after is not a cursor this API issued")
    return created, row_id


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
        decoded = decode_cursor(starting_after)
        if decoded is None:
            row = queryset.filter(stripe_id=starting_after).values("created", "id").first()
            if row is None:
                raise InvalidCursor(
                    f"starting_after {starting_after!r} is not an item of this list"
                )
            decoded = (row["created"], row["id"])
        created, pk = decoded
        # `created <= c` first gives the database an index range to start from; the OR then
        # only breaks ties within that one timestamp. (A bare OR makes SQLite scan.)
        ordered = ordered.filter(created__lte=created).filter(Q(created__lt=created) | Q(id__lt=pk))
    rows = list(ordered[: limit + 1])
    return Page(items=rows[:limit], has_more=len(rows) > limit, limit=limit)


def keyset_page_or_first(
    queryset: QuerySet[M], *, limit: int = DEFAULT_LIMIT, starting_after: str | None = None
) -> Page[M]:
    """Like `keyset_page`, for pages people browse: a cursor that no longer leads anywhere
    (a stale bookmark, a hand-edited URL) gives the first page, marked `restarted`, rather
    than an error. The API keeps refusing bad cursors (`keyset_page`)."""
    try:
        return keyset_page(queryset, limit=limit, starting_after=starting_after)
    except InvalidCursor:
        first = keyset_page(queryset, limit=limit)
        return Page(items=first.items, has_more=first.has_more, limit=first.limit, restarted=True)
