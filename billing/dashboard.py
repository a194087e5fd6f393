"""Read models for the dashboard pages: a fixed number of queries each, whatever the data size."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import QuerySet, Sum
from django.db.models.functions import TruncDate, TruncMonth
from django.utils import timezone

from billing.charged_fees import ChargedFees, schedule_history
from billing.ledger import type_name
from billing.models import (
    BalanceTransaction,
    BillingAccount,
    ConnectAccount,
    Invoice,
    InvoiceItem,
    OnboardingStatus,
    Payout,
)
from billing.money import to_major
from billing.payout_trace import Trace, trace_transactions
from billing.status import derive_onboarding_status
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

    @property
    def fee_note(self) -> str:
        """Words for a row that carries no fee but is about fees."""
        if self.txn.type == "application_fee_refund":
            return "Platform fees returned to you"
        return ""


def ledger_rows(
    connect: ConnectAccount, transactions: Iterable[BalanceTransaction]
) -> list[LedgerRow]:
    """Rows with their fee breakdown as charged and their payout trace: two queries (the
    schedule history, and the invoices the page's charges paid) plus at most three for the
    traces, whatever the page size."""
    transactions = list(transactions)
    fees = ChargedFees.for_batch(connect, [(t.source_id, t.fee_details) for t in transactions])
    traces = trace_transactions(connect, transactions)
    return [
        LedgerRow(
            txn=txn,
            fee_parts=fees.parts(txn.fee_details, txn.source_id, txn.created),
            invoice=fees.invoice(txn.source_id),
            trace=traces.get(txn.stripe_id),
        )
        for txn in transactions
    ]


class _Echo:
    def write(self, value: str) -> str:
        return value


CSV_HEADER = [
    "id", "created", "type", "kind", "reporting_category", "status", "description", "currency",
    "amount", "fee", "net", "available_on", "payout", "source", "invoice", "fee_breakdown",
    "presented_amount", "presented_currency", "exchange_rate",
]  # fmt: skip
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
        "stripe_id", "created", "type", "reporting_category", "status", "description", "currency",
        "amount", "fee", "net", "available_on", "payout_stripe_id", "source_id", "fee_details",
        "presented_amount", "presented_currency", "exchange_rate",
    ]  # fmt: skip
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


def payout_summary(connect: ConnectAccount) -> list[PayoutSummary]:
    """Per currency: the soonest payout on its way that is not late, the late ones, and the
    latest one paid.

    Two queries per currency the account pays out in (a handful), whatever the payout count.
    """
    payouts = Payout.objects.filter(connect_account=connect)
    summaries = []
    for currency in sorted(set(payouts.values_list("currency", flat=True).distinct())):
        in_currency = payouts.filter(currency=currency)
        on_the_way = list(
            in_currency.filter(status__in=["pending", "in_transit"]).order_by("arrival_date", "id")
        )
        summaries.append(
            PayoutSummary(
                currency,
                next=next((p for p in on_the_way if not p.is_late), None),
                last=in_currency.filter(status="paid").order_by("-arrival_date", "-id").first(),
                late=[p for p in on_the_way if p.is_late],
            )
        )
    return summaries


@dataclass
class Bar:
    label: str
    amount: int
    x: int
    y: int
    height: int


@dataclass
class Chart:
    currency: str
    bars: list[Bar]
    total: int
    width: int
    height: int


def net_volume(connect: ConnectAccount, months: int = 6) -> list[Chart]:
    """Monthly net volume of buyer payments, one chart per currency, as SVG-ready bars."""
    today = timezone.now().date().replace(day=1)
    first = today
    for _ in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    rows = (
        BalanceTransaction.objects.filter(
            connect_account=connect, type__in=["charge", "payment"], created__date__gte=first
        )
        .annotate(month=TruncMonth("created"))
        .values("currency", "month")
        .annotate(total=Sum("net"))
    )
    totals: dict[str, dict[date, int]] = defaultdict(dict)
    for row in rows:
        month = row["month"].date() if isinstance(row["month"], datetime) else row["month"]
        totals[row["currency"]][month] = int(row["total"])
    month_starts = []
    cursor = first
    for _ in range(months):
        month_starts.append(cursor)
        cursor = (cursor + timedelta(days=32)).replace(day=1)
    charts = []
    width, height, bar_width, gap = 60 * months, 120, 40, 20
    for currency, per_month in sorted(totals.items()):
        peak = max([*per_month.values(), 1])
        bars = []
        for index, month in enumerate(month_starts):
            amount = per_month.get(month, 0)
            bar_height = max(0, round(amount * (height - 20) / peak))
            bars.append(
                Bar(
                    label=month.strftime("%b"),
                    amount=amount,
                    x=index * (bar_width + gap) + gap // 2,
                    y=height - 20 - bar_height,
                    height=bar_height,
                )
            )
        charts.append(Chart(currency, bars, sum(per_month.values()), width, height))
    return charts


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
    parent_status = derive_onboarding_status(parent_account.connect if parent_account else None)
    rows = []
    for child in children:
        account = own.get(child.pk)
        connect = account.connect if account else None
        totals: dict[str, int] = defaultdict(int)
        for entry in (connect.balance_available + connect.balance_pending) if connect else []:
            totals[entry["currency"]] += int(entry["amount"])
        rows.append(
            ChildRow(
                customer=child,
                inherited=account is None,
                status=derive_onboarding_status(connect) if account else parent_status,
                connect=connect,
                balances=[{"currency": c, "amount": a} for c, a in sorted(totals.items())],
            )
        )
    return rows
