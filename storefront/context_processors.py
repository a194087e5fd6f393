from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from storefront.access import switcher_customers


def acting_customer(request: HttpRequest) -> dict[str, Any]:
    """`acting` and the header's customer `switcher`, on pages that act as a customer."""
    acting = getattr(request, "acting", None)
    if acting is None:
        return {}
    return {
        "acting": acting,
        "switcher": SimpleLazyObject(lambda: switcher_customers(acting)),
        "acting_has_children": SimpleLazyObject(lambda: acting.has_children),
    }
