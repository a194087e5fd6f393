"""Where a seller's money is: the payout each balance transaction went into, or why not yet.

The one place for the rule a transaction row states (`trace_transactions`), for what a failed
payout did (`failure_story`, `failure_reason`) and for when payouts are paused by the bank
account (`payouts_paused`). In order, a transaction is:

1. a payout itself (type ``payout``): it *is* that payout;
2. linked to an automatic payout (``payout_stripe_id``, learnt from Stripe's itemisation): in
   that payout; when that payout failed, the money came back with its ``payout_failure``
   transaction, and that transaction's own payout (once a later one carries it) is where the
   money went after all;
3. otherwise still in the balance, and not in a payout because payouts are paused
   (``payouts_enabled`` off), the balance in its currency is negative (it pays that back
   first), or the account pays out manually (Stripe does not itemise manual payouts); or on
   its way in an automatic payout not itemised yet; or expected in the payout of a date
   estimated from the account's payout schedule and the day the funds become available.

Works on a page of rows at once with at most three queries, whatever the page size.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from billing.models import BalanceTransaction, ConnectAccount, Payout
from billing.payout_failures import failure_reason


def payouts_paused(connect: ConnectAccount) -> str:
    """The banner sentence when payouts are off because of the bank account, else "".

    Payouts that are off for other requirements are the status card's business (it lists
    what Stripe needs); this names the one thing a seller fixes in the Express dashboard.
    """
    if connect.payouts_enabled or not connect.details_submitted:
        # Still onboarding: the status card lists the bank account among what is due.
        return ""
    due = {*connect.currently_due, *connect.past_due}
    if "external_account" not in due:
        return ""
    if "external_account" in connect.past_due:
        return "Payouts paused: update your bank account. Stripe needs it now to pay you."
    return "Payouts paused: update your bank account. Stripe pays out again once it is added."


# Estimating the next payout

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def schedule_of(connect: ConnectAccount) -> dict[str, Any]:
    raw = connect.raw or {}
    return ((raw.get("settings") or {}).get("payouts") or {}).get("schedule") or {}


def _pays_out_on(schedule: dict[str, Any], day: date) -> bool:
    interval = schedule.get("interval") or "daily"
    if interval == "daily":
        return True
    if interval == "weekly":
        days = schedule.get("weekly_payout_days") or [schedule.get("weekly_anchor")]
        return WEEKDAYS[day.weekday()] in days
    if interval == "monthly":
        last = calendar.monthrange(day.year, day.month)[1]
        days = schedule.get("monthly_payout_days") or [schedule.get("monthly_anchor")]
        # A payout day past the end of a shorter month is paid on its last day.
        return any(d and min(int(d), last) == day.day for d in days)
    return False


def _first_whole_day(moment: datetime) -> date:
    """The first day that starts at or after `moment`: a payout created that day includes
    funds that were available by then."""
    day = moment.date()
    return day if moment.time() == datetime.min.time() else day + timedelta(days=1)


def expected_payout_day(schedule: dict[str, Any], available_on: datetime | None) -> date | None:
    """The day of the first scheduled payout that will include funds available at
    `available_on` (None for a manual schedule). An estimate: banks and holidays move it."""
    if (schedule.get("interval") or "daily") == "manual":
        return None
    start = _first_whole_day(max(available_on or timezone.now(), timezone.now()))
    for offset in range(62):  # any schedule pays out within two months
        day = start + timedelta(days=offset)
        if _pays_out_on(schedule, day):
            return day
    return None


# Tracing transactions


@dataclass(frozen=True)
class Trace:
    """Where one transaction's money is. `kind` picks the sentence the row shows:

    ``is_payout`` · ``in_payout`` · ``in_failed_payout`` · ``on_its_way`` · ``expected`` ·
    ``paused`` · ``negative`` · ``manual``.
    """

    kind: str
    payout: Payout | None = None
    # The payout a returned (payout_failure / payout_cancel) transaction came back from.
    returned_from: Payout | None = None
    # For in_failed_payout: where the money went after it came back.
    then: Trace | None = None
    expected_on: date | None = None
    outgoing: bool = False  # money leaving (e.g. a refund): deducted from a payout


IN_FLIGHT = ("pending", "in_transit")
RETURN_TYPES = ("payout_failure", "payout_cancel")


def trace_transactions(
    connect: ConnectAccount, transactions: Iterable[BalanceTransaction]
) -> dict[str, Trace]:
    """Each transaction's trace, by its Stripe id; at most three queries for any page."""
    txns = list(transactions)
    if not txns:
        return {}
    wanted = {t.payout_stripe_id for t in txns if t.payout_stripe_id}
    wanted |= {t.source_id for t in txns if t.type in ("payout", *RETURN_TYPES) and t.source_id}
    # The payouts the rows name, and the automatic payouts still on their way (a handful).
    payouts = {
        p.stripe_id: p
        for p in Payout.objects.filter(connect_account=connect).filter(
            Q(stripe_id__in=wanted) | Q(status__in=IN_FLIGHT, automatic=True)
        )
    }
    failed = [p.stripe_id for p in payouts.values() if p.status == "failed"]
    returns: dict[str, BalanceTransaction] = {}
    if failed:
        returns = {
            r.source_id: r
            for r in BalanceTransaction.objects.filter(
                connect_account=connect, type="payout_failure", source_id__in=failed
            )
        }
        later = {r.payout_stripe_id for r in returns.values()} - set(payouts) - {""}
        if later:
            payouts |= {
                p.stripe_id: p
                for p in Payout.objects.filter(connect_account=connect, stripe_id__in=later)
            }
    tracer = _Tracer(connect, payouts, returns)
    return {t.stripe_id: tracer.trace(t) for t in txns}


class _Tracer:
    def __init__(
        self,
        connect: ConnectAccount,
        payouts: dict[str, Payout],
        returns: dict[str, BalanceTransaction],
    ) -> None:
        self.connect = connect
        self.payouts = payouts
        self.returns = returns
        self.schedule = schedule_of(connect)
        self.in_flight = sorted(
            (p for p in payouts.values() if p.status in IN_FLIGHT and p.automatic),
            key=lambda p: (p.created, p.stripe_id),
        )
        totals: dict[str, int] = {}
        for entry in [*(connect.balance_available or []), *(connect.balance_pending or [])]:
            totals[entry["currency"]] = totals.get(entry["currency"], 0) + int(entry["amount"])
        self.negative = {currency for currency, total in totals.items() if total < 0}

    def trace(self, txn: BalanceTransaction) -> Trace:
        if txn.type == "payout":
            return Trace("is_payout", payout=self.payouts.get(txn.source_id))
        returned_from = self.payouts.get(txn.source_id) if txn.type in RETURN_TYPES else None
        trace = self._where(txn)
        if returned_from is not None:
            trace = Trace(
                trace.kind,
                payout=trace.payout,
                returned_from=returned_from,
                then=trace.then,
                expected_on=trace.expected_on,
                outgoing=trace.outgoing,
            )
        return trace

    def _where(self, txn: BalanceTransaction) -> Trace:
        payout = self.payouts.get(txn.payout_stripe_id) if txn.payout_stripe_id else None
        if payout is not None and payout.status == "failed":
            returned = self.returns.get(payout.stripe_id)
            then = self._where(returned) if returned is not None else None
            return Trace("in_failed_payout", payout=payout, then=then)
        if payout is not None or txn.payout_stripe_id:
            return Trace("in_payout", payout=payout)
        return self._in_balance(txn)

    def _in_balance(self, txn: BalanceTransaction) -> Trace:
        outgoing = txn.net < 0
        if not self.connect.payouts_enabled:
            return Trace("paused", outgoing=outgoing)
        if txn.currency in self.negative:
            return Trace("negative", outgoing=outgoing)
        if (self.schedule.get("interval") or "daily") == "manual":
            return Trace("manual", outgoing=outgoing)
        if txn.status == "available" and txn.available_on is not None:
            # Swept by an automatic payout already on its way, itemised once it lands.
            for payout in self.in_flight:
                if payout.currency == txn.currency and payout.created >= txn.available_on:
                    return Trace("on_its_way", payout=payout, outgoing=outgoing)
        expected = expected_payout_day(self.schedule, txn.available_on)
        return Trace("expected", expected_on=expected, outgoing=outgoing)


# A failed payout's story


@dataclass(frozen=True)
class FailureStory:
    reason: str
    returned: BalanceTransaction | None  # the payout_failure transaction
    then: Trace | None  # where the returned money is now


def failure_story(connect: ConnectAccount, payout: Payout) -> FailureStory | None:
    """What a failed payout did, for its page: why, the money's return, where it went next."""
    if payout.status != "failed":
        return None
    returned = (
        BalanceTransaction.objects.filter(
            connect_account=connect, type="payout_failure", source_id=payout.stripe_id
        )
        .order_by("created", "id")
        .first()
    )
    then = trace_transactions(connect, [returned])[returned.stripe_id] if returned else None
    return FailureStory(failure_reason(payout.failure_code, payout.failure_message), returned, then)
