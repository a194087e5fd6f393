from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import template

from billing import notifications

if TYPE_CHECKING:
    from storefront.access import Acting

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notices(context: dict[str, Any]) -> int:
    """How many of the user's notices about the acting customer are unread (the header's bell)."""
    # Set by acting_customer_required; pages without an acting customer have no bell count.
    acting: Acting | None = getattr(context.get("request"), "acting", None)
    if acting is None:
        return 0
    return notifications.unread_count(acting.user, acting.customer)
