"""Read models for the dashboard pages: a fixed number of queries each, whatever the data size."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import BigIntegerField, Count, Max, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from billing import ledger_cells
from billing.charged_fees import ChargedFees, schedule_history
from billing.ledger import kind_condition, type_name
from billing.models import (
    BalanceTransaction,
    BillingAccount,
    ConnectAccount,
    Invoice,
    InvoiceItem,
    OnboardingStatus,
    Payout,
)
from billing.money import format_money, to_major
from billing.payout_trace import Trace, expected_payout_day, schedule_of, trace_transactions
from billing.resolution import stored_status
from billing.status import OnboardingState, onboarding_state
from storefront.models import Customer

# Ledger rows


@dataclass
class LedgerRow:
    txn: BalanceTransaction
    # The fee on the balance transaction, component by component (billing.charged_fees).
    fee_parts: list[tuple[str, int]] = field(default_factory=list)
    trace: Trace | None = None  # which payout it went into, or why not yet
    # The invoice the charge paid, if it paid one.
    invoice: Invoice | None = None
    # Prepared for the page, so the template only prints: dates in the site's time zone,
    # amounts in the reader's locale, and the cells that took a template include each
    # (billing.ledger_cells): formatting in the template cost most of the render.
    day: str = ""
    time: str = ""
    available_day: str = ""
    amount: str = ""
    fee: str = ""
    net: str = ""
    type_name: str = ""
    description: str = ""
    fee_cell: SafeString = field(default_factory=lambda: mark_safe(""))
    conversion: SafeString = field(default_factory=lambda: mark_safe(""))
    status: SafeString = field(default_factory=lambda: mark_safe(""))
    links: ledger_cells.PayoutLinks | None = None

    @property
    def trace_cell(self) -> SafeString:
        """Where the money went, in words with links (only on pages that show it)."""
        if self.trace is None or self.links is None:
            return mark_safe("")
        return ledger_cells.trace_html(self.trace, self.txn, self.links)

    @property
    def html(self) -> SafeString:
        """The row of the transactions page (billing.ledger_cells)."""
        return ledger_cells.transactions_row_html(self)

    @property
    def trace_origin(self) -> SafeString:
        """The payout a returned transaction came back from, for that payout's page."""
        if self.trace is None or self.trace.returned_from is None or self.links is None:
            return mark_safe("")
        return ledger_cells.trace_html(self.trace, self.txn, self.links, only_origin=True)


def ledger_rows(
    connect: ConnectAccount,
    transactions: Iterable[BalanceTransaction],
    locale: str = "en_US",
    customer_id: int | None = None,
) -> list[LedgerRow]:
    """Rows with their fee breakdown as charged and their payout trace: two queries (the
    schedule history, and the invoices the page's charges paid) plus at most three for the
    traces, whatever the page size. Dates and amounts come formatted (`locale` for money),
    and the cells as HTML. The traces link to the payout pages of `customer_id` (the acting
    customer); without it rows show no trace (a child's share of its parent's account: the
    payouts are the parent's)."""
    transactions = list(transactions)
    fees = ChargedFees.for_batch(connect, [(t.source_id, t.fee_details) for t in transactions])
    traces = trace_transactions(connect, transactions)
    links = ledger_cells.PayoutLinks(customer_id) if customer_id is not None else None
    zone = timezone.get_current_timezone()
    day_text = ledger_cells.day_text
    rows = []
    for txn in transactions:
        currency = txn.currency
        fee_parts = fees.parts(txn.fee_details, txn.source_id, txn.created)
        fee_lines = [(name, format_money(amount, currency, locale)) for name, amount in fee_parts]
        available_day = (
            day_text(txn.available_on, year=False, zone=zone) if txn.available_on else ""
        )
        created = txn.created.astimezone(zone)
        rows.append(
            LedgerRow(
                txn=txn,
                fee_parts=fee_parts,
                invoice=fees.invoice(txn.source_id),
                trace=traces.get(txn.stripe_id),
                day=day_text(created, zone=zone),
                time=f"{created:%H:%M}",
                available_day=available_day,
                amount=format_money(txn.amount, currency, locale),
                fee=format_money(txn.fee, currency, locale),
                net=format_money(txn.net, currency, locale),
                type_name=txn.type_name,
                description=txn.description or ledger_cells.NO_VALUE,
                fee_cell=ledger_cells.fee_cell_html(txn, fee_lines),
                conversion=ledger_cells.conversion_html(txn, locale),
                status=ledger_cells.status_html(txn, available_day),
                links=links,
            )
        )
    return rows


class _Echo:
    def write(self, value: str) -> str:
        return value


CSV_HEADER = [
    "id",
    "created",
    "type",
    "kind",
    "reporting_category",
    "status",
    "description",
    "currency",
    "amount",
    "fee",
    "net",
    "available_on",
    "payout",
    "source",
    "invoice",
    "fee_breakdown",
    "presented_amount",
    "presented_currency",
    "exchange_rate",
]
CSV_CHUNK = 2000


def _spreadsheet_safe(text: str) -> str:
    """Stop a description like "=HYPERLINK(...)" from running as a formula in a spreadsheet."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _chunks(rows: Iterator[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def fee_breakdown_text(parts: list[tuple[str, int]], currency: str) -> str:
    """ "Platform fee 10 %: 12.34; Ad serving 2 %: 2.47", the page's breakdown in a cell."""
    return "; ".join(f"{name}: {to_major(amount, currency)}" for name, amount in parts)


def ledger_csv(connect: ConnectAccount, queryset: QuerySet[BalanceTransaction]) -> Iterator[str]:
    """CSV lines for a filtered ledger, streamed: rows are read in chunks, never all at once.

    Amounts are exact decimals in major units (e.g. 1234.56), with the currency beside them;
    ``type`` is Stripe's own, for machines, and ``kind`` names it in a seller's words. The fee
    breakdown and the invoice number are derived as on the page, with one query per chunk for
    the chunk's invoices (and one for the schedule history), never one per row.
    """
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(CSV_HEADER)  # BOM: spreadsheets then read UTF-8
    columns = [
        "stripe_id",
        "created",
        "type",
        "reporting_category",
        "status",
        "description",
        "currency",
        "amount",
        "fee",
        "net",
        "available_on",
        "payout_stripe_id",
        "source_id",
        "fee_details",
        "presented_amount",
        "presented_currency",
        "exchange_rate",
    ]
    schedules = schedule_history(connect)
    rows = queryset.values_list(*columns).iterator(chunk_size=CSV_CHUNK)
    for chunk in _chunks(rows, CSV_CHUNK):
        records = [dict(zip(columns, row, strict=True)) for row in chunk]
        fees = ChargedFees.for_batch(
            connect, [(r["source_id"], r["fee_details"]) for r in records], schedules
        )
        for values in records:
            currency = values["currency"]
            invoice = fees.invoice(values["source_id"])
            parts = fees.parts(values["fee_details"], values["source_id"], values["created"])
            yield writer.writerow(
                [
                    values["stripe_id"],
                    values["created"].isoformat(),
                    values["type"],
                    type_name(values["type"], values["reporting_category"]),
                    values["reporting_category"],
                    values["status"],
                    _spreadsheet_safe(values["description"]),
                    currency.upper(),
                    to_major(values["amount"], currency),
                    to_major(values["fee"], currency),
                    to_major(values["net"], currency),
                    values["available_on"].date().isoformat() if values["available_on"] else "",
                    values["payout_stripe_id"],
                    values["source_id"],
                    (invoice.number or invoice.stripe_id) if invoice else "",
                    _spreadsheet_safe(fee_breakdown_text(parts, currency)),
                    *_presented_columns(values),
                ]
            )


def _presented_columns(values: dict[str, Any]) -> list[Any]:
    """What the buyer was charged and the rate, for a converted transaction; blanks otherwise."""
    currency = values["presented_currency"]
    if values["presented_amount"] is None or not currency:
        return ["", "", ""]
    rate = values["exchange_rate"]
    return [
        to_major(values["presented_amount"], currency),
        currency.upper(),
        format(rate.normalize(), "f") if rate is not None else "",
    ]


# Overview


@dataclass
class CurrencyBalance:
    currency: str
    available: int = 0
    pending: int = 0
    soon: list[tuple[date, int]] = field(default_factory=list)

    @property
    def owed(self) -> int:
        """What the seller owes Stripe in this currency (available + pending below zero)."""
        return max(0, -(self.available + self.pending))


def balances(connect: ConnectAccount) -> list[CurrencyBalance]:
    """Balance per currency from the latest snapshot, with pending funds by the day they
    become available (from the mirror)."""
    by_currency: dict[str, CurrencyBalance] = {}
    for bucket, entries in (
        ("available", connect.balance_available),
        ("pending", connect.balance_pending),
    ):
        for entry in entries or []:
            balance = by_currency.setdefault(entry["currency"], CurrencyBalance(entry["currency"]))
            setattr(balance, bucket, getattr(balance, bucket) + int(entry["amount"]))
    soon = (
        BalanceTransaction.objects.filter(
            connect_account=connect, status="pending", available_on__isnull=False
        )
        .annotate(day=TruncDate("available_on"))
        .values("currency", "day")
        .annotate(total=Sum("net"))
        .order_by("day")
    )
    for entry in soon:
        balance = by_currency.setdefault(entry["currency"], CurrencyBalance(entry["currency"]))
        balance.soon.append((entry["day"], int(entry["total"])))
    return sorted(by_currency.values(), key=lambda b: (-(b.available + b.pending), b.currency))


@dataclass
class PayoutSummary:
    currency: str
    next: Payout | None = None
    last: Payout | None = None
    # On their way past their arrival date: never "next", flagged so the seller acts.
    late: list[Payout] = field(default_factory=list)
    # With no payout on its way: the day the schedule next pays out the available balance.
    expected_on: date | None = None
    schedule: str = ""


def payout_summary(connect: ConnectAccount) -> list[PayoutSummary]:
    """Per currency: the soonest payout on its way that is not late, the late ones, and the
    latest one paid.

    Two queries per currency the account pays out in (a handful), whatever the payout count.
    """
    payouts = Payout.objects.filter(connect_account=connect).defer("raw")  # never read here
    available: dict[str, int] = defaultdict(int)
    for entry in connect.balance_available or []:
        available[entry["currency"]] += int(entry["amount"])
    schedule = schedule_of(connect)
    summaries = []
    for currency in sorted(set(payouts.values_list("currency", flat=True).distinct())):
        in_currency = payouts.filter(currency=currency)
        on_the_way = list(
            in_currency.filter(status__in=["pending", "in_transit"]).order_by("arrival_date", "id")
        )
        upcoming = next((p for p in on_the_way if not p.is_late), None)
        # Stripe creates a scheduled payout on its day: until then, say when that will be.
        expected_on = (
            expected_payout_day(schedule, timezone.now())
            if upcoming is None and available[currency] > 0 and connect.payouts_enabled
            else None
        )
        summaries.append(
            PayoutSummary(
                currency,
                next=upcoming,
                last=in_currency.filter(status="paid").order_by("-arrival_date", "-id").first(),
                late=[p for p in on_the_way if p.is_late],
                expected_on=expected_on,
                schedule=payout_schedule(connect) if expected_on else "",
            )
        )
    return summaries


# Net volume: what selling brought in, per currency and month. Payouts only move money to the
# bank, and adjustments and "other" (reserves, top-ups, transfers) are not sales: none of
# them is volume.
VOLUME_KINDS = ("sales", "refunds", "disputes", "fees")


@dataclass
class MonthVolume:
    """One month in one currency, each part signed as it moved the balance.

    ``fees`` is the fees charged on sales, refunds and chargebacks (the application fee, and
    Stripe's fees when the seller pays them) plus fee transactions of their own (fee refunds
    credit, Stripe fee debits), so ``net`` is the sum of the nets of every volume row.
    """

    month: date
    gross: int = 0
    refunds: int = 0
    chargebacks: int = 0
    fees: int = 0

    @property
    def net(self) -> int:
        return self.gross + self.refunds + self.chargebacks + self.fees

    @property
    def label(self) -> str:
        return self.month.strftime("%b")


@dataclass
class Bar:
    label: str
    amount: int
    x: int
    y: int
    height: int

    @property
    def negative(self) -> bool:
        return self.amount < 0


@dataclass
class Chart:
    currency: str
    months: list[MonthVolume]
    bars: list[Bar]
    zero_y: int
    width: int
    height: int

    @property
    def total(self) -> MonthVolume:
        """The whole period (``month`` is its first month)."""
        return MonthVolume(
            self.months[0].month,
            gross=sum(m.gross for m in self.months),
            refunds=sum(m.refunds for m in self.months),
            chargebacks=sum(m.chargebacks for m in self.months),
            fees=sum(m.fees for m in self.months),
        )


def _month_after(first: date) -> date:
    return (first + timedelta(days=32)).replace(day=1)


def _month_starts(today: date, months: int) -> list[date]:
    first = today.replace(day=1)
    for _ in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    starts = [first]
    while len(starts) < months:
        starts.append((starts[-1] + timedelta(days=32)).replace(day=1))
    return starts


def chart_bars(months: list[MonthVolume], *, height: int = 140) -> tuple[list[Bar], int]:
    """Bars for each month's net around a zero axis (returned with the axis's y).

    Positive and negative months share one scale: the plot spans the highest month above
    the axis and the lowest below it, so a bad month is as tall as its money.
    """
    top, labels, bar_width, gap = 6, 20, 40, 20
    plot = height - top - labels
    highest = max([0, *(m.net for m in months)])
    lowest = min([0, *(m.net for m in months)])
    span = (highest - lowest) or 1

    def y_of(amount: int) -> int:
        # Whole pixels, rounded half up, in integers (amounts are money: no floats).
        return top + (2 * (highest - amount) * plot + span) // (2 * span)

    zero_y = y_of(0)
    bars = []
    for index, month in enumerate(months):
        upper, lower = y_of(max(month.net, 0)), y_of(min(month.net, 0))
        bars.append(
            Bar(
                label=month.label,
                amount=month.net,
                x=index * (bar_width + gap) + gap // 2,
                y=upper,
                height=lower - upper,
            )
        )
    return bars, zero_y


def net_volume(connect: ConnectAccount, months: int = 6, today: date | None = None) -> list[Chart]:
    """Net volume by month, one chart per currency: gross, refunds, chargebacks, fees, net.

    One aggregate query, whatever the number of transactions, and cached: a mirrored balance
    transaction never changes its amount, fee, net, kind or date, so the sums change only when
    a transaction is added, i.e. when the account's highest transaction id moves (one index
    look-up).
    """
    starts = _month_starts(today or timezone.now().date(), months)
    newest_id = BalanceTransaction.objects.filter(connect_account=connect).aggregate(
        newest=Max("id")
    )["newest"]
    key = f"billing:net-volume:{connect.pk}:{starts[0]}:{months}:{newest_id}"
    charts = cache.get(key)
    if charts is None:
        charts = _net_volume(connect, starts)
        cache.set(key, charts, NET_VOLUME_CACHE_SECONDS)
    return charts


# The chart's months roll over at midnight UTC and the key names its first month; the timeout
# only clears out entries nobody asks for any more.
NET_VOLUME_CACHE_SECONDS = 24 * 60 * 60


def _net_volume(connect: ConnectAccount, starts: list[date]) -> list[Chart]:
    months = len(starts)
    sales, refunds, disputes, fees = (kind_condition(kind) for kind in VOLUME_KINDS)
    zero = Value(0, output_field=BigIntegerField())
    # Each month is a range of `created` (no per-row date truncation, which SQLite runs as a
    # Python function on every row): its sums are conditional aggregates of one query.
    bounds = [datetime.combine(start, time.min, UTC) for start in starts]
    bounds.append(datetime.combine(_month_after(starts[-1]), time.min, UTC))
    sums: dict[str, Any] = {}
    for index in range(months):
        within = Q(created__gte=bounds[index], created__lt=bounds[index + 1])
        sums |= {
            f"gross_{index}": Coalesce(Sum("amount", filter=within & sales), zero),
            f"refunds_{index}": Coalesce(Sum("amount", filter=within & refunds), zero),
            f"chargebacks_{index}": Coalesce(Sum("amount", filter=within & disputes), zero),
            f"fee_rows_{index}": Coalesce(Sum("net", filter=within & fees), zero),
            f"fees_charged_{index}": Coalesce(Sum("fee", filter=within & ~fees), zero),
            f"count_{index}": Count("id", filter=within),
        }
    rows = (
        BalanceTransaction.objects.filter(
            connect_account=connect,
            created__gte=bounds[0],
            created__lt=bounds[-1],
            kind__in=VOLUME_KINDS,
        )
        .values("currency")
        .annotate(**sums)
        .order_by()
    )
    by_currency: dict[str, dict[date, MonthVolume]] = defaultdict(dict)
    for row in rows:
        for index, month in enumerate(starts):
            if not row[f"count_{index}"]:
                continue
            by_currency[row["currency"]][month] = MonthVolume(
                month,
                gross=int(row[f"gross_{index}"]),
                refunds=int(row[f"refunds_{index}"]),
                chargebacks=int(row[f"chargebacks_{index}"]),
                fees=int(row[f"fee_rows_{index}"]) - int(row[f"fees_charged_{index}"]),
            )
    charts = []
    height = 140
    for currency, per_month in sorted(by_currency.items()):
        volumes = [per_month.get(start, MonthVolume(start)) for start in starts]
        bars, zero_y = chart_bars(volumes, height=height)
        charts.append(Chart(currency, volumes, bars, zero_y, 60 * months, height))
    return charts


# Totals of a filtered ledger


@dataclass
class CurrencyTotal:
    currency: str
    count: int
    amount: int
    fee: int
    net: int


@dataclass
class LedgerTotals:
    count: int
    currencies: list[CurrencyTotal]


def ledger_totals(queryset: QuerySet[BalanceTransaction]) -> LedgerTotals:
    """How many rows a (filtered) ledger holds and, per currency, their amount, fee and net
    as Stripe signs them (a refund or chargeback subtracts). One aggregate query."""
    rows = (
        queryset.order_by()
        .values("currency")
        .annotate(count=Count("id"), amount=Sum("amount"), fee=Sum("fee"), net=Sum("net"))
        .order_by("currency")
    )
    currencies = [
        CurrencyTotal(
            row["currency"], row["count"], int(row["amount"]), int(row["fee"]), int(row["net"])
        )
        for row in rows
    ]
    return LedgerTotals(sum(c.count for c in currencies), currencies)


# A child's own invoices on its parent's account


def open_invoice_totals(invoices: QuerySet[Invoice]) -> list[dict[str, Any]]:
    """Per currency: how many invoices are open and what is still due on them. One query."""
    rows = (
        invoices.filter(status="open")
        .order_by()
        .values("currency")
        .annotate(count=Count("id"), due=Sum("amount_remaining"))
        .order_by("currency")
    )
    return [{"currency": r["currency"], "count": r["count"], "due": int(r["due"])} for r in rows]


# Pending items


@dataclass
class BuyerGroup:
    buyer_name: str
    items: list[InvoiceItem]
    totals: dict[str, int]


def group_by_buyer(items: Iterable[InvoiceItem]) -> list[BuyerGroup]:
    groups: dict[int, BuyerGroup] = {}
    for item in items:
        group = groups.setdefault(item.buyer_id, BuyerGroup(item.buyer.name, [], defaultdict(int)))
        group.items.append(item)
        group.totals[item.currency] += item.amount
    for group in groups.values():
        group.totals = dict(group.totals)
    return list(groups.values())


# Child accounts


@dataclass
class ChildRow:
    customer: Customer
    inherited: bool
    status: OnboardingStatus
    # What the child's users are told: about its own account, or the parent's it is billed
    # through (the same words as on its setup page and overview).
    state: OnboardingState
    connect: ConnectAccount | None
    balances: list[dict[str, Any]]


def child_rows(parent: Customer, children: list[Customer]) -> list[ChildRow]:
    """Each child's billing in one query, however many children there are."""
    own = {
        account.customer_id: account
        for account in BillingAccount.objects.filter(
            customer__in=[parent, *children]
        ).select_related("connect_account")
    }
    parent_account = own.pop(parent.pk, None)
    # An inheriting child is billed through the parent's account: show that account's status.
    parent_connect = parent_account.connect if parent_account else None
    rows = []
    for child in children:
        account = own.get(child.pk)
        connect = account.connect if account else None
        serving = connect if account else parent_connect
        # Per currency: what is available and what is still pending, never one sum.
        parts: dict[str, dict[str, int]] = defaultdict(lambda: {"available": 0, "pending": 0})
        for bucket in ("available", "pending"):
            for entry in (getattr(connect, f"balance_{bucket}") or []) if connect else []:
                parts[entry["currency"]][bucket] += int(entry["amount"])
        rows.append(
            ChildRow(
                customer=child,
                inherited=account is None,
                status=stored_status(serving),
                state=onboarding_state(serving),
                connect=connect,
                balances=[{"currency": c, **p} for c, p in sorted(parts.items())],
            )
        )
    return rows


# Payout schedule

WEEKDAY_NAMES = {
    "monday": "Monday",
    "tuesday": "Tuesday",
    "wednesday": "Wednesday",
    "thursday": "Thursday",
    "friday": "Friday",
    "saturday": "Saturday",
    "sunday": "Sunday",
}


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _words(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def payout_schedule(connect: ConnectAccount) -> str:
    """The account's payout schedule in words ("Daily, 2-day delay", "Weekly on Monday",
    "Monthly on the 15th", "Manual"), from `settings.payouts.schedule` as Stripe last sent it;
    "" when we have not seen it."""
    schedule = (((connect.raw or {}).get("settings") or {}).get("payouts") or {}).get("schedule")
    if not schedule or not schedule.get("interval"):
        return ""
    interval = schedule["interval"]
    if interval == "manual":
        return "Manual"
    if interval == "weekly":
        days = schedule.get("weekly_payout_days") or [schedule.get("weekly_anchor")]
        names = [WEEKDAY_NAMES.get(str(d), str(d).title()) for d in days if d]
        return f"Weekly on {_words(names)}" if names else "Weekly"
    if interval == "monthly":
        days = schedule.get("monthly_payout_days") or [schedule.get("monthly_anchor")]
        dates = [_ordinal(int(d)) for d in days if d]
        return f"Monthly on the {_words(dates)}" if dates else "Monthly"
    if interval == "daily":
        delay = schedule.get("delay_days")
        if isinstance(delay, int):
            return f"Daily, {delay}-day delay"
        return "Daily"
    return str(interval).title()
