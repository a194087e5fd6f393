"""A ledger row as HTML: its payout trace in words, its fee breakdown, its currency
conversion, its status, and the whole row of the transactions page.

Built in Python because a page of 25 rows rendered them through about a hundred template
includes and some three hundred template variables, which was most of the page's cost. Every
value from the data goes through `escape` (the standard library's, which is what Django's
autoescaping applies); the results are marked safe only once assembled. The sentences are the
rule `billing.payout_trace` decides; the transactions page and a payout's page print them.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from functools import lru_cache
from html import escape
from typing import TYPE_CHECKING

from django.urls import reverse
from django.utils import timezone, translation
from django.utils.dates import MONTHS_3
from django.utils.safestring import SafeString, mark_safe

from billing.models import BalanceTransaction, Payout
from billing.money import format_money
from billing.payout_trace import Trace

if TYPE_CHECKING:
    from billing.dashboard import LedgerRow

STATUS_TONES = {
    "paid": "ok",
    "available": "ok",
    "in_transit": "warn",
    "pending": "warn",
    "open": "warn",
    "draft": "off",
    "failed": "bad",
    "canceled": "off",
    "void": "off",
    "uncollectible": "bad",
}

NO_VALUE = "—"
EMPTY = mark_safe("")


def day_text(moment: datetime | date, *, year: bool = True, zone: tzinfo | None = None) -> str:
    """What the `date:"j M Y"` filter prints ("3 Feb 2025"; "3 Feb" without the year): a
    moment in the current time zone (or `zone`), a date as it is; without the filter's
    format parsing."""
    if isinstance(moment, datetime):
        day: date = moment.astimezone(zone or timezone.get_current_timezone())
    else:
        day = moment
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
    tone = STATUS_TONES.get(status, "off")
    return mark_safe(f'<span class="pill {tone}">{escape(humanize(status))}</span>')


class PayoutLinks:
    """The payout pages of one acting customer; each URL reversed once per page."""

    def __init__(self, customer_id: int) -> None:
        self.customer_id = customer_id
        self._urls: dict[str, str] = {}

    def url(self, payout: Payout) -> str:
        """The payout's page, escaped for an attribute."""
        url = self._urls.get(payout.stripe_id)
        if url is None:
            url = escape(
                reverse(
                    "billing:payout_detail",
                    kwargs={"customer_id": self.customer_id, "payout_id": payout.stripe_id},
                )
            )
            self._urls[payout.stripe_id] = url
        return url


def trace_html(
    trace: Trace, txn: BalanceTransaction, links: PayoutLinks, *, only_origin: bool = False
) -> SafeString:
    """The row's trace: where its money went, after the payout it came back from if any
    (`only_origin`: just that payout, as a payout's own page lists its returned money)."""
    text = ""
    if trace.returned_from is not None:
        origin = trace.returned_from
        text = (
            f'Returned from the <a href="{links.url(origin)}">{escape(humanize(origin.status))}'
            f" payout of {day_text(origin.created)}</a>."
        )
        if not only_origin:
            text += "<br>"
    if not only_origin:
        text += where_html(trace, txn, links)
    return mark_safe(f'<small class="trace" data-testid="payout-trace">{text}</small>')


def where_html(trace: Trace, txn: BalanceTransaction | None, links: PayoutLinks) -> SafeString:
    """Where the money is, in one sentence (without a full stop), by the trace's kind."""
    payout, kind = trace.payout, trace.kind
    if kind == "is_payout":
        if payout is None:
            return mark_safe("Payout to your bank")
        status = escape(humanize(payout.status).lower())
        return mark_safe(f'<a href="{links.url(payout)}">Payout to your bank</a>, {status}')
    if kind == "in_payout":
        if payout is None:
            return mark_safe(
                f"In payout <code>{escape(txn.payout_stripe_id if txn else '')}</code>"
            )
        text = f'In the <a href="{links.url(payout)}">payout of {day_text(payout.created)}</a>'
        if payout.status != "paid":
            text += f" ({escape(humanize(payout.status))})"
        return mark_safe(text)
    if kind == "in_failed_payout" and payout is not None:
        text = (
            f'Its <a href="{links.url(payout)}">payout of {day_text(payout.created)}</a> failed;'
            " the money returned to your balance."
        )
        if trace.then is not None:
            text += f" {where_html(trace.then, txn, links)}"
        return mark_safe(text)
    if kind == "on_its_way" and payout is not None:
        return mark_safe(
            f'On its way in the <a href="{links.url(payout)}">payout of'
            f" {day_text(payout.created)}</a> (itemised when it lands)"
        )
    if kind == "expected":
        how = "to be deducted from" if trace.outgoing else "expected in"
        on = day_text(trace.expected_on) if trace.expected_on else ""
        return mark_safe(f"In your balance — {how} the payout of {on}")
    if kind == "paused":
        return mark_safe("In your balance — not paid out: payouts are paused")
    if kind == "negative":
        currency = escape(txn.currency.upper() if txn else "")
        return mark_safe(
            f"In your balance — not paid out: it goes towards your negative {currency} balance"
        )
    if kind == "manual":
        return mark_safe(
            "In your balance — you are paid out manually, and Stripe does not itemise manual"
            " payouts"
        )
    return EMPTY


def fee_cell_html(txn: BalanceTransaction, fee_lines: list[tuple[str, str]]) -> SafeString:
    """The fee breakdown as charged (names and formatted amounts), or why there is none."""
    if fee_lines:
        items = "".join(
            f'<li><span>{escape(name)}</span> <span class="num">{escape(amount)}</span></li>'
            for name, amount in fee_lines
        )
        return mark_safe(f'<ul class="fee-parts">{items}</ul>')
    if txn.type == "application_fee_refund":
        return mark_safe('<span class="muted">Platform fees returned to you</span>')
    return mark_safe(f'<span class="muted">{NO_VALUE}</span>')


def conversion_html(txn: BalanceTransaction, locale: str) -> SafeString:
    """What the buyer paid in their currency and Stripe's rate; "" when not converted."""
    if not txn.is_converted or txn.exchange_rate is None:
        return EMPTY
    presented = txn.presented_amount
    paid = (
        NO_VALUE if presented is None else format_money(presented, txn.presented_currency, locale)
    )
    rate = format(txn.exchange_rate.normalize(), "f")
    pair = f"{txn.currency.upper()}/{txn.presented_currency.upper()}"
    return mark_safe(
        f'<small class="conversion" data-testid="conversion">buyer paid {escape(paid)}'
        f"<br>at {escape(rate)} {escape(pair)}</small>"
    )


def status_html(txn: BalanceTransaction, available_day: str) -> SafeString:
    """The status pill, with the day pending money becomes available."""
    pill = status_pill(txn.status)
    if txn.status == "pending" and available_day:
        return mark_safe(
            f'{pill}<br><small class="muted">available {escape(available_day)}</small>'
        )
    return pill


def transactions_row_html(row: LedgerRow) -> SafeString:
    """One `<tr>` of the transactions page; its cells follow the page's header row (phones
    label them from it, and carry the gross and fee in the net cell)."""
    txn = row.txn
    trace = f"<br>{row.trace_cell}" if row.trace is not None and row.links is not None else ""
    conversion = f"<br>{row.conversion}" if row.conversion else ""
    return mark_safe(
        f'<tr data-testid="txn-row" data-txn="{escape(txn.stripe_id)}">'
        f'<td>{escape(row.day)}<br><small class="muted">{escape(row.time)}</small></td>'
        f'<td class="hide-sm">{escape(row.type_name)}</td>'
        f"<td>{escape(row.description)}{trace}</td>"
        f'<td class="num hide-sm">{escape(row.amount)}{conversion}</td>'
        f'<td class="hide-sm">{row.fee_cell}</td>'
        f'<td class="num net"><strong>{escape(row.net)}</strong>'
        f' <span class="sm-only muted" data-testid="phone-amount">amount {escape(row.amount)}</span>'
        f' <span class="sm-only muted" data-testid="phone-fee">fee {escape(row.fee)}</span></td>'
        f"<td>{row.status}</td></tr>"
    )
