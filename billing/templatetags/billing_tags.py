from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django import template
from django.utils.html import format_html

from billing import ledger_cells, status
from billing.models import BalanceTransaction
from billing.money import format_money, request_locale
from billing.payout_trace import Trace
from billing.status import OnboardingState

register = template.Library()


@register.simple_tag(takes_context=True)
def money(context: dict[str, Any], amount: int | None, currency: str) -> str:
    if amount is None:
        return "—"
    return format_money(int(amount), currency, request_locale(context.get("request")))


@register.filter
def epoch(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=UTC) if value else None


@register.filter
def requirement_labels(keys: list[str]) -> list[str]:
    return status.requirement_labels(list(keys or []))


@register.filter
def percent(value: Decimal | None) -> str:
    """12.5000 → "12.5", 10.0000 → "10" (Decimal.normalize alone would print "1E+1")."""
    if value is None:
        return "—"
    return format(Decimal(value).normalize(), "f")


@register.filter
def humanize(value: str) -> str:
    """Stripe's snake_case states for people: "in_progress" → "in progress"."""
    return (value or "").replace("_", " ")


@register.simple_tag
def onboarding_badge(state: OnboardingState) -> str:
    """The one badge for where onboarding stands (billing.status.onboarding_state)."""
    return format_html(
        '<span class="pill {}" data-testid="onboarding-badge">{}</span>', state.tone, state.label
    )


@register.simple_tag
def stripe_status(status: str, overdue: bool = False) -> str:
    if overdue:
        return format_html('<span class="pill bad">{}</span>', "overdue")
    return ledger_cells.status_pill(status)


@register.simple_tag(takes_context=True)
def payout_trace_where(
    context: dict[str, Any], trace: Trace, txn: BalanceTransaction | None
) -> str:
    """Where money is now, in the words of the ledger's rows (billing.ledger_cells)."""
    links = ledger_cells.PayoutLinks(context["acting"].customer.pk)
    return ledger_cells.where_html(trace, txn, links)
