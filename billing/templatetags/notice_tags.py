from __future__ import annotations

from typing import Any

from django import template

from billing import notifications

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notices(context: dict[str, Any]) -> int:
    """How many of the user's notices about the acting customer are unread (the header's bell)."""
    request = context.get("request")
    acting = getattr(request, "acting", None)
    if acting is None:
        return 0
    return notifications.unread_count(request.user, acting.customer)  # type: ignore[union-attr]
