"""Read models for the dashboard pages: a fixed number of queries each, whatever the data size."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import BigIntegerField, Count, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, TruncDate, TruncMonth
from django.utils import timezone

from billing.fees import FeeComponent, split_fee
from billing.ledger import kind_condition, type_name
from billing.models import (
    BalanceTransaction,
    BillingAccount,
    ConnectAccount,
    FeeScheduleVersion,
    InvoiceItem,
    OnboardingStatus,
    Payout,
)
from billing.money import to_major
from billing.status import derive_onboarding_status
from storefront.models import Customer

# Ledger rows


@dataclass
class LedgerRow:
    txn: BalanceTransaction
    # The application fee split over the schedule in force when it was charged, plus
    # Stripe's processing fee and anything else Stripe reported.
    fee_parts: list[tuple[str, int]] = field(default_factory=list)


def _schedules(connect: ConnectAccount) -> list[FeeScheduleVersion]:
    return list(
        FeeScheduleVersion.objects.filter(billing_account_id=connect.billing_account_id).order_by(
            "-effective_from", "-id"
        )
    )


def _in_force(schedules: list[FeeScheduleVersion], at: datetime) -> FeeScheduleVersion | None:
    return next((version for version in schedules if version.effective_from <= at), None)


def ledger_rows(
    connect: ConnectAccount, transactions: Iterable[BalanceTransaction]
) -> list[LedgerRow]:
    """Rows with their fee breakdown; one query for the account's schedule history."""
    schedules = _schedules(connect)
    rows = []
    for txn in transactions:
        parts: list[tuple[str, int]] = []
        for detail in txn.fee_details or []:
            amount = int(detail.get("amount") or 0)
            if detail.get("type") == "application_fee":
                version = _in_force(schedules, txn.created)
                components: tuple[FeeComponent, ...] = ()
                if version is not None:
                    components = split_fee(
                        amount,
                        [("Platform fee", version.platform_fee_percent or 0)]
                        + [(fee.name, fee.fee_percent) for fee in version.additional_fees],
                    )
                parts += [
                    (f"{c.name} {c.percent.normalize():f} %", c.amount)
                    for c in components
                    if c.amount
                ] or [("Platform fees", amount)]
            elif detail.get("type") == "stripe_fee":
                parts.append(("Stripe processing", amount))
            else:
                parts.append((detail.get("description") or str(detail.get("type", "Fee")), amount))
        rows.append(LedgerRow(txn=txn, fee_parts=parts))
    return rows


class _Echo:
    def write(self, value: str) -> str:
        return value


CSV_HEADER = [
    "id", "created", "type", "kind", "reporting_category", "status", "description", "currency",
    "amount", "fee", "net", "available_on", "payout", "source",
]  # fmt: skip


def _spreadsheet_safe(text: str) -> str:
    """Stop a description like "=HYPERLINK(...)" from running as a formula in a spreadsheet."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def ledger_csv(queryset: QuerySet[BalanceTransaction]) -> Iterator[str]:
    """CSV lines for a filtered ledger, streamed: rows are read in chunks, never all at once.

    Amounts are exact decimals in major units (e.g. 1234.56), with the currency beside them;
    ``type`` is Stripe's own, for machines, and ``kind`` names it in a seller's words.
    """
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(CSV_HEADER)  # BOM: spreadsheets then read UTF-8
    columns = [
        "stripe_id", "created", "type", "reporting_category", "status", "description", "currency",
        "amount", "fee", "net", "available_on", "payout_stripe_id", "source_id",
    ]  # fmt: skip
    for row in queryset.values_list(*columns).iterator(chunk_size=2000):
        values = dict(zip(columns, row, strict=True))
        currency = values["currency"]
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
            ]
        )


# Overview


@dataclass
class CurrencyBalance:
    currency: str
    available: int = 0
    pending: int = 0
    soon: list[tuple[date, int]] = field(default_factory=list)


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

    @property
    def next_is_late(self) -> bool:
        """In transit past its expected arrival: the seller should check with their bank."""
        arrival = self.next.arrival_date if self.next else None
        return arrival is not None and arrival.date() < timezone.now().date()


def payout_summary(connect: ConnectAccount) -> list[PayoutSummary]:
    """Per currency: the soonest payout on its way and the latest one paid.

    One query per currency the account pays out in (a handful), whatever the payout count.
    """
    payouts = Payout.objects.filter(connect_account=connect)
    summaries = []
    for currency in sorted(set(payouts.values_list("currency", flat=True).distinct())):
        in_currency = payouts.filter(currency=currency)
        summaries.append(
            PayoutSummary(
                currency,
                next=in_currency.filter(status__in=["pending", "in_transit"])
                .order_by("arrival_date", "id")
                .first(),
                last=in_currency.filter(status="paid").order_by("-arrival_date", "-id").first(),
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

    One query, whatever the number of transactions.
    """
    starts = _month_starts(today or timezone.now().date(), months)
    sales, refunds, disputes, fees = (kind_condition(kind) for kind in VOLUME_KINDS)
    zero = Value(0, output_field=BigIntegerField())
    rows = (
        BalanceTransaction.objects.filter(
            connect_account=connect,
            created__gte=datetime.combine(starts[0], time.min, UTC),
            kind__in=VOLUME_KINDS,
        )
        .annotate(month=TruncMonth("created"))
        .values("currency", "month")
        .annotate(
            gross=Coalesce(Sum("amount", filter=sales), zero),
            refunds=Coalesce(Sum("amount", filter=refunds), zero),
            chargebacks=Coalesce(Sum("amount", filter=disputes), zero),
            fee_rows=Coalesce(Sum("net", filter=fees), zero),
            fees_charged=Coalesce(Sum("fee", filter=~fees), zero),
        )
        .order_by()
    )
    by_currency: dict[str, dict[date, MonthVolume]] = defaultdict(dict)
    for row in rows:
        month = row["month"].date() if isinstance(row["month"], datetime) else row["month"]
        if month not in starts:  # later than this month: a clock ahead of ours
            continue
        by_currency[row["currency"]][month] = MonthVolume(
            month,
            gross=int(row["gross"]),
            refunds=int(row["refunds"]),
            chargebacks=int(row["chargebacks"]),
            fees=int(row["fee_rows"]) - int(row["fees_charged"]),
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
