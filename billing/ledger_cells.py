"""A ledger row's cells as HTML: its payout trace in words, its fee breakdown, its currency
conversion and its status.

Built in Python, escaped with `format_html`, because a page of 25 rows rendered them through
about a hundred template includes and that was most of the page's cost. The transactions page
and a payout's page print these; the sentences are the rule `billing.payout_trace` decides.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

from django.urls import reverse
from django.utils import timezone, translation
from django.utils.dates import MONTHS_3
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from billing.models import BalanceTransaction, Payout
from billing.money import format_money
from billing.payout_trace import Trace

STATUS_TONES = {
    "paid": "ok", "available": "ok", "in_transit": "warn", "pending": "warn", "open": "warn",
    "draft": "off", "failed": "bad", "canceled": "off", "void": "off", "uncollectible": "bad",
}  # fmt: skip

NO_VALUE = "—"


def day_text(moment: datetime | date, *, year: bool = True) -> str:
    """What the `date:"j M Y"` filter prints ("3 Feb 2025"; "3 Feb" without the year): a
    moment in the current time zone, a date as it is; without the filter's format parsing."""
    day = timezone.localtime(moment) if isinstance(moment, datetime) else moment
    month = _month_abbreviation(translation.get_language(), day.month)
    return f"{day.day} {month} {day.year}" if year else f"{day.day} {month}"


@lru_cache(maxsize=256)
def _month_abbreviation(language: str | None, month: int) -> str:
    """ "Feb" in the active language, translated once (the lazy name translates on each use)."""
    with translation.override(language):
        return str(MONTHS_3[month]).title()


def humanize(status: str) -> str:
    """Stripe's snake_case states for people: "in_transit" → "in transit"."""
    return (status or "").replace("_", " ")


def status_pill(status: str) -> SafeString:
    return format_html(
        '<span class="pill {}">{}</span>', STATUS_TONES.get(status, "off"), humanize(status)
    )


class PayoutLinks:
    """The payout pages of one acting customer; each URL reversed once per page."""

    def __init__(self, customer_id: int) -> None:
        self.customer_id = customer_id
        self._urls: dict[str, str] = {}

    def url(self, payout: Payout) -> str:
        url = self._urls.get(payout.stripe_id)
        if url is None:
            url = reverse(
                "billing:payout_detail",
                kwargs={"customer_id": self.customer_id, "payout_id": payout.stripe_id},
            )
            self._urls[payout.stripe_id] = url
        return url


def trace_html(
    trace: Trace, txn: BalanceTransaction, links: PayoutLinks, *, only_origin: bool = False
) -> SafeString:
    """The row's trace: where its money went, after the payout it came back from if any
    (`only_origin`: just that payout, as a payout's own page lists its returned money)."""
    parts: list[SafeString] = []
    if trace.returned_from is not None:
        origin = trace.returned_from
        parts.append(
            format_html(
                'Returned from the <a href="{}">{} payout of {}</a>.',
                links.url(origin),
                humanize(origin.status),
                day_text(origin.created),
            )
        )
        if not only_origin:
            parts.append(mark_safe("<br>"))
    if not only_origin:
        parts.append(where_html(trace, txn, links))
    return format_html(
        '<small class="trace" data-testid="payout-trace">{}</small>', mark_safe("".join(parts))
    )


def where_html(trace: Trace, txn: BalanceTransaction | None, links: PayoutLinks) -> SafeString:
    """Where the money is, in one sentence (without a full stop), by the trace's kind."""
    payout = trace.payout
    kind = trace.kind
    if kind == "is_payout":
        if payout is None:
            return mark_safe("Payout to your bank")
        return format_html(
            '<a href="{}">Payout to your bank</a>, {}',
            links.url(payout),
            humanize(payout.status).lower(),
        )
    if kind == "in_payout":
        if payout is None:
            return format_html("In payout <code>{}</code>", txn.payout_stripe_id if txn else "")
        sentence = format_html(
            'In the <a href="{}">payout of {}</a>', links.url(payout), day_text(payout.created)
        )
        if payout.status != "paid":
            sentence = format_html("{} ({})", sentence, humanize(payout.status))
        return sentence
    if kind == "in_failed_payout" and payout is not None:
        sentence = format_html(
            'Its <a href="{}">payout of {}</a> failed; the money returned to your balance.',
            links.url(payout),
            day_text(payout.created),
        )
        if trace.then is not None:
            sentence = format_html("{} {}", sentence, where_html(trace.then, txn, links))
        return sentence
    if kind == "on_its_way" and payout is not None:
        return format_html(
            'On its way in the <a href="{}">payout of {}</a> (itemised when it lands)',
            links.url(payout),
            day_text(payout.created),
        )
    if kind == "expected":
        return format_html(
            "In your balance — {} the payout of {}",
            "to be deducted from" if trace.outgoing else "expected in",
            day_text(trace.expected_on) if trace.expected_on else "",
        )
    if kind == "paused":
        return mark_safe("In your balance — not paid out: payouts are paused")
    if kind == "negative":
        return format_html(
            "In your balance — not paid out: it goes towards your negative {} balance",
            txn.currency.upper() if txn else "",
        )
    if kind == "manual":
        return mark_safe(
            "In your balance — you are paid out manually, and Stripe does not itemise manual"
            " payouts"
        )
    return mark_safe("")


def fee_cell_html(txn: BalanceTransaction, fee_lines: list[tuple[str, str]]) -> SafeString:
    """The fee breakdown as charged (names and formatted amounts), or why there is none."""
    if fee_lines:
        return format_html(
            '<ul class="fee-parts">{}</ul>',
            format_html_join("", '<li><span>{}</span> <span class="num">{}</span></li>', fee_lines),
        )
    if txn.type == "application_fee_refund":
        return mark_safe('<span class="muted">Platform fees returned to you</span>')
    return format_html('<span class="muted">{}</span>', NO_VALUE)


def conversion_html(txn: BalanceTransaction, locale: str) -> SafeString:
    """What the buyer paid in their currency and Stripe's rate; "" when not converted."""
    if not txn.is_converted or txn.exchange_rate is None:
        return mark_safe("")
    presented = txn.presented_amount
    return format_html(
        '<small class="conversion" data-testid="conversion">buyer paid {}<br>at {} {}/{}</small>',
        NO_VALUE if presented is None else format_money(presented, txn.presented_currency, locale),
        format(txn.exchange_rate.normalize(), "f"),
        txn.currency.upper(),
        txn.presented_currency.upper(),
    )


def status_html(txn: BalanceTransaction, available_day: str) -> SafeString:
    """The status pill, with the day pending money becomes available."""
    pill = status_pill(txn.status)
    if txn.status == "pending" and available_day:
        return format_html('{}<br><small class="muted">available {}</small>', pill, available_day)
    return pill
