from __future__ import annotations

from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse

from storefront.models import Customer

register = template.Library()


@register.simple_tag(takes_context=True)
def switch_url(context: dict[str, Any], customer: Customer) -> str:
    """The current page for another customer; its overview when the page names an object
    (an invoice of one customer means nothing for another)."""
    match = getattr(context.get("request"), "resolver_match", None)
    if match is not None and match.url_name and set(match.kwargs) == {"customer_id"}:
        try:
            return reverse(match.view_name, kwargs={"customer_id": customer.pk})
        except NoReverseMatch:
            pass
    return reverse("overview", kwargs={"customer_id": customer.pk})


@register.filter
def customer_type_label(customer: Customer) -> str:
    return customer.customer_type.label
