"""Demo billing data, made through the product's own operations against the Stripe emulator.

Northwind Media and its child Northwind Sports get Express accounts, onboarded, and six months
of a marketplace seller's life, day by day on the emulator's clock:

- monthly billing runs invoice a few buyers' usage of the month before; most invoices are paid
  a week later, the latest (three days ago) are open and one is overdue;
- buyers keep a card on file for invoices (Stripe's test Visa), all but the last of each seller
  (Umbrella Brands, Bluth Europe): charging their open invoices through the Billing API works,
  and for those two is refused with the reason;
- buyers also pay by card directly, a few times a day, with the application fee the product's
  fee arithmetic computes from the schedule in force; Bluth Europe pays Northwind Sports (a US
  account, which settles dollars only) in euros, converted;
- Northwind Sports' fee schedule changes mid-way; that month's invoices, issued before the
  change and paid after it, keep the fee they were issued with;
- refunds (one giving the application fee back), a dispute won, one lost and one still open;
- a payout bounces, the seller adds another bank account and the next payout carries the money;
  Northwind Sports later takes a manual payout (on a manual schedule for a week) and an instant
  one; Northwind Media is paid out weekly, Northwind Sports daily.

Globex Publishing and Northwind News are left without their own account; Northwind News bills
through Northwind Media's: Umbrella Brands is its buyer there (`BUYER_SELLERS`), so its users see
Umbrella's invoices (one overdue), payments and this month's usage, settled through the parent. Runs only against
the emulator (it drives the emulator's `/_emulator/` controls over HTTP) and only once: if
Northwind Media already has invoices, it does nothing.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import requests
from django.conf import settings

from billing import fees, gateway, invoicing, mirror, onboarding
from billing.models import AdditionalFee, BillingAccount, Buyer, ConnectAccount, Invoice, ItemKind
from storefront import access
from storefront.models import Customer, Membership, Role

MONTHS = 6
DAY = 86_400
HOUR = 3_600

# (reference, name, email, currency) per seller
BUYERS = {
    "Northwind Media": [
        ("acme", "Acme Agency", "ap@acme.test", "usd"),
        ("initech", "Initech Ads", "billing@initech.test", "usd"),
        ("umbrella", "Umbrella Brands", "finance@umbrella.test", "usd"),
    ],
    "Northwind Sports": [
        ("hooli", "Hooli Media Buying", "ap@hooli.test", "usd"),
        ("stark", "Stark Outdoor", "accounts@stark.test", "usd"),
        ("bluth", "Bluth Europe", "rechnung@bluth.test", "eur"),
    ],
}

# Buyers on a parent's account that belong to one of its children (billed through the parent).
BUYER_SELLERS = {"umbrella": "Northwind News"}

# Stripe's test Visa: a buyer's card on file.
CARD = "pm_card_visa"

FEES = {
    "Northwind Media": {
        "platform_fee_percent": Decimal("12.5"),
        "fees": [AdditionalFee("Ad serving", Decimal("2"), "Third-party ad serving")],
        "currency": "USD",
        "default_net_days": 30,
    },
    "Northwind Sports": {
        "platform_fee_percent": Decimal("10"),
        "fees": [
            AdditionalFee("Ad serving", Decimal("2"), "Third-party ad serving"),
            AdditionalFee("Audience data", Decimal("1.5"), "Data partner segments"),
        ],
        "currency": "USD",
        "default_net_days": 15,
    },
}
# Mid-way through the demo Northwind Sports moves to a higher platform fee.
SPORTS_FEE_CHANGE = {"platform_fee_percent": Decimal("11.5")}

# Card payments: on each seller, at each of these hours of a day, a buyer pays with this chance.
CARD_HOURS = (9, 13, 18)
CARD_CHANCE = {"Northwind Media": 0.55, "Northwind Sports": 0.7}
CARD_ITEMS = ("Sponsored placement", "Newsletter slot", "Homepage takeover", "Video pre-roll")


class Emulator:
    def __init__(self, base: str) -> None:
        self.base = base
        self.session = requests.Session()

    def control(self, method: str, path: str, **payload: Any) -> Any:
        response = self.session.request(
            method, f"{self.base}/_emulator/{path}", json=payload or None, timeout=120
        )
        response.raise_for_status()
        return response.json()

    def reachable(self) -> bool:
        try:
            self.control("GET", "clock")
        except requests.RequestException:
            return False
        return True

    def now(self) -> int:
        return int(self.control("GET", "clock")["now"])

    def move_to(self, moment: int) -> int:
        """Advance the clock to `moment` (never back); everything due on the way happens."""
        return int(self.control("POST", "clock/set", to=moment)["now"])


def card_fee(connect: ConnectAccount, amount: int, at: datetime) -> int:
    """The application fee on a card payment of `amount`, by the schedule in force `at`."""
    schedule = connect.billing_account.fee_schedule(at=at)
    if schedule is None:
        return 0
    return fees.application_fee(
        amount,
        schedule.platform_fee_percent,
        [(fee.name, fee.fee_percent) for fee in schedule.additional_fees],
    ).total


@dataclass
class Story:
    """The day-by-day history: what happens on which day, at which hour."""

    emulator: Emulator
    sellers: dict[str, ConnectAccount]
    buyers: dict[str, list[tuple[Buyer, str]]]
    rng: random.Random
    start: datetime
    months: int
    now: int = 0
    charges: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    issued: list[tuple[str, Invoice]] = field(default_factory=list)
    # Events still to come, by day: (hour, action).
    agenda: dict[int, list[tuple[float, Callable[[], None]]]] = field(default_factory=dict)

    @property
    def days(self) -> int:
        # Up to today: the history ends where the real calendar is.
        return self.months * 30 + 3

    def at(self, day: int, hour: float) -> int:
        return int((self.start + timedelta(days=day)).timestamp() + hour * HOUR)

    def plan(self, day: int, hour: float, action: Callable[[], None]) -> None:
        self.agenda.setdefault(day, []).append((hour, action))

    def script(self) -> None:
        """The one-off events, by day and hour."""
        mid = 30 * (self.months // 2)
        last = self.months * 30 + 1

        def on(share: float) -> int:
            return round(self.months * 30 * share)

        for day, hour, action in [
            (on(0.22), 11, lambda: self.refund("Northwind Sports", part=2, reason="requested_by_customer")),
            (on(0.29), 10, lambda: self.dispute("Northwind Sports", "fraudulent", won_after=9)),
            (on(0.39), 15, lambda: self.refund("Northwind Media", reason="duplicate")),
            # A payout to Northwind Sports' bank bounces: Stripe disables that bank account and
            # holds its payouts until the seller adds another one (ten days later).
            (mid, 1, lambda: self.fail_next_payout("Northwind Sports")),
            (mid + 4, 12, self.change_sports_fees),
            (mid + 10, 10, lambda: self.new_bank_account("Northwind Sports")),
            (on(0.67), 14, lambda: self.refund("Northwind Sports", fee_too=True, reason="requested_by_customer")),
            # Nobody answers this one: it is lost when its evidence is due.
            (on(0.77), 16, lambda: self.dispute("Northwind Sports", "product_not_received")),
            (on(0.83), 8, lambda: self.payout_schedule("Northwind Sports", "manual")),
            (on(0.83) + 6, 11, lambda: self.manual_payout("Northwind Sports")),
            (on(0.83) + 7, 8, lambda: self.payout_schedule("Northwind Sports", "daily")),
            (on(0.94), 15, lambda: self.instant_payout("Northwind Sports")),
            (last, 10, lambda: self.dispute("Northwind Sports", "duplicate", response_days=14)),
        ]:  # fmt: skip
            self.plan(day, hour, action)

    def run(self) -> None:
        self.payout_schedule("Northwind Media", "weekly", weekly_anchor="monday")
        self.script()
        for day in range(self.days):
            month, day_of_month = divmod(day, 30)
            todo = self.agenda.pop(day, [])
            # Usage is invoiced in arrears, by the billing run after each 30-day period.
            period = month - 1
            if 0 <= period < self.months and day_of_month == 0:
                todo.append((2, partial(self.bill, period)))
            if 0 <= period < self.months and day_of_month == 8:
                todo.append((10, partial(self.collect, period)))
            for hour in CARD_HOURS:
                minute = self.rng.randrange(60) / 60
                for name in self.sellers:
                    if self.rng.random() < CARD_CHANCE[name]:
                        todo.append((hour + minute, partial(self.card_payment, name)))
            for when, action in sorted(todo, key=lambda event: event[0]):
                moment = self.at(day, when)
                if moment > self.now:
                    self.now = self.emulator.move_to(moment)
                action()

    # --- what happens ---------------------------------------------------------------------

    def bill(self, month: int) -> None:
        """The monthly billing run: each buyer's plan and impressions of the period, invoiced."""
        period_start = self.start + timedelta(days=30 * month)
        period = (period_start, period_start + timedelta(days=30))
        label = period_start.strftime("%B %Y")
        self.issued = []
        for name, connect in self.sellers.items():
            for buyer, currency in self.buyers[name]:
                invoicing.record_usage(
                    connect,
                    buyer,
                    usage_id=f"demo-plan-{buyer.reference}-{month}",
                    kind=ItemKind.PLAN_COST,
                    description=f"Storefront plan, {label}",
                    currency=currency,
                    amount=150_000,
                    contract="Annual storefront plan",
                    period=period,
                )
                invoicing.record_usage(
                    connect,
                    buyer,
                    usage_id=f"demo-impressions-{buyer.reference}-{month}",
                    kind=ItemKind.VARIABLE_COST,
                    description=f"Display impressions, {label}",
                    currency=currency,
                    quantity=self.rng.randint(180, 2_400),
                    unit_amount=self.rng.choice([180, 250, 320]),
                    metric="impressions (thousands)",
                    contract=f"Media buy MB-{100 + month}",
                    period=period,
                )
            self.issued += [(name, inv) for inv in invoicing.run_billing(connect).invoices]

    def collect(self, month: int) -> None:
        """Buyers pay the period's invoices a week after, except the latest (still open, not
        due yet) and one left overdue."""
        if month == self.months - 1:
            return
        for name, invoice in self.issued:
            overdue = (
                name == "Northwind Media"
                and month == self.months - 3
                and invoice.buyer is not None
                and invoice.buyer.reference == "umbrella"
            )
            if not overdue:
                self.emulator.control("POST", f"invoices/{invoice.stripe_id}/pay")

    def card_payment(self, name: str) -> None:
        connect = self.sellers[name]
        buyer, currency = self.rng.choice(self.buyers[name])
        amount = self.rng.randint(8, 400) * 250
        charge = self.emulator.control(
            "POST",
            "charges",
            account=connect.stripe_id,
            amount=amount,
            currency=currency,
            application_fee_amount=card_fee(connect, amount, datetime.fromtimestamp(self.now, UTC)),
            customer=buyer.stripe_customer_id,
            description=self.rng.choice(CARD_ITEMS),
        )
        self.charges.setdefault(name, []).append(charge)

    def _recent_charge(self, name: str) -> dict[str, Any]:
        """A card payment from the last few days that nothing has happened to yet."""
        charge = self.rng.choice(self.charges[name][-6:])
        self.charges[name].remove(charge)
        return charge

    def refund(self, name: str, *, part: int = 1, fee_too: bool = False, reason: str) -> None:
        """The platform's support staff refund a buyer (`part`: 2 refunds half)."""
        charge = self._recent_charge(name)
        gateway.create_refund(
            self.sellers[name].stripe_id,
            charge["id"],
            amount=None if part == 1 else charge["amount"] // part,
            refund_application_fee=fee_too,
            reason=reason,
            idempotency_key=f"demo-refund-{charge['id']}",
        )

    def dispute(
        self,
        name: str,
        reason: str,
        *,
        won_after: int = 0,
        response_days: int = 7,
    ) -> None:
        """The buyer's bank charges back. With `won_after`, the seller answers in time and
        the issuer decides for the seller that many days later; otherwise nobody answers and
        the dispute is lost when its evidence is due (or is still open at the end)."""
        charge = self._recent_charge(name)
        dispute = self.emulator.control(
            "POST",
            f"charges/{charge['id']}/dispute",
            reason=reason,
            response_days=max(response_days, won_after + 5),
        )
        if won_after:
            today = (self.now - int(self.start.timestamp())) // DAY
            self.plan(
                today + won_after,
                12,
                lambda: self.emulator.control(
                    "POST", f"disputes/{dispute['id']}/close", outcome="won"
                ),
            )

    def fail_next_payout(self, name: str) -> None:
        self.emulator.control(
            "POST", f"accounts/{self.sellers[name].stripe_id}/payouts", fail_next="account_closed"
        )

    def new_bank_account(self, name: str) -> None:
        """The seller adds a new bank account in the Express Dashboard."""
        self.emulator.control("POST", f"accounts/{self.sellers[name].stripe_id}/external_accounts")

    def change_sports_fees(self) -> None:
        self.sellers["Northwind Sports"].billing_account.change_fee_schedule(
            changed_by=None,
            note="Platform fee up from 10 % to 11.5 %",
            effective_from=datetime.fromtimestamp(self.now, UTC),
            **SPORTS_FEE_CHANGE,
        )

    def payout_schedule(self, name: str, interval: str, **schedule: Any) -> None:
        gateway.set_payout_schedule(self.sellers[name].stripe_id, interval, **schedule)

    def _usd(self, name: str, bucket: str) -> int:
        balance = gateway.retrieve_balance(self.sellers[name].stripe_id)
        return sum(e["amount"] for e in balance.get(bucket) or [] if e["currency"] == "usd")

    def manual_payout(self, name: str) -> None:
        """The seller asked for the week's money at once (on a manual schedule)."""
        amount = self._usd(name, "available")
        if amount > 0:
            gateway.create_payout(
                self.sellers[name].stripe_id,
                amount=amount,
                currency="usd",
                idempotency_key=f"demo-manual-payout-{self.sellers[name].stripe_id}",
            )

    def instant_payout(self, name: str) -> None:
        """An Instant Payout, from funds still pending too (Stripe bills its fee to us)."""
        amount = min(self._usd(name, "instant_available"), 150_000) // 100 * 100
        if amount > 0:
            gateway.create_payout(
                self.sellers[name].stripe_id,
                amount=amount,
                currency="usd",
                method="instant",
                idempotency_key=f"demo-instant-payout-{self.sellers[name].stripe_id}",
            )


def seed(customers: dict[str, Customer], say: Callable[[str], None], months: int = MONTHS) -> None:
    emulator = Emulator(settings.STRIPE_API_BASE) if settings.STRIPE_API_BASE else None
    if emulator is None or not emulator.reachable():
        say("Billing demo data skipped: the Stripe emulator is not running (make demo starts it).")
        return
    media = customers["Northwind Media"]
    if Invoice.objects.filter(connect_account__billing_account__customer=media).exists():
        return
    say(f"Seeding billing: Stripe accounts and {months} months of a seller's money (a minute)...")
    owner = (
        Membership.objects.filter(customer=media, role=Role.ADMIN)
        .select_related("user")
        .order_by("id")
        .first()
    )
    assert owner is not None, "seed the demo users first"
    today = datetime.now(tz=UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - timedelta(days=months * 30 + 3)
    try:
        # Only possible on an empty emulator: lets the history start six months ago.
        emulator.control("POST", "clock/set", to=int(start.timestamp()))
    except requests.HTTPError:
        start = datetime.fromtimestamp(emulator.now(), UTC)

    sellers: dict[str, ConnectAccount] = {}
    for name in ("Northwind Media", "Northwind Sports"):
        # Platform staff set each seller's fees when its history starts: opened then, so its
        # schedule is in force from then on (a version dated before the current one is
        # refused: history cannot be backdated).
        billing_account = BillingAccount.objects.open_for(customers[name], effective_from=start)
        billing_account.change_fee_schedule(
            changed_by=None, note="Demo fee schedule", effective_from=start, **FEES[name]
        )
        acting = access.resolve(owner.user, customers[name].pk)
        connect, _ = onboarding.provision(acting, country="US")
        emulator.control("POST", f"accounts/{connect.stripe_id}/onboarding", action="complete")
        onboarding.refresh(connect)
        sellers[name] = connect

    buyers = {
        name: [
            (
                invoicing.buyer_for(
                    connect,
                    reference=ref,
                    name=buyer,
                    email=email,
                    seller=customers[BUYER_SELLERS[ref]] if ref in BUYER_SELLERS else None,
                ),
                currency,
            )
            for ref, buyer, email, currency in BUYERS[name]
        ]
        for name, connect in sellers.items()
    }
    # Buyers keep a card on file for invoices (the Billing API's charge uses it), all but the
    # last of each seller: charging that one is refused with the reason.
    for name, pairs in buyers.items():
        for buyer, _currency in pairs[:-1]:
            gateway.save_default_card(sellers[name].stripe_id, buyer.stripe_customer_id, CARD)
    story = Story(
        emulator, sellers, buyers, random.Random(20261122), start, months, now=emulator.now()
    )
    # Six months happen in a minute here: Stripe would have sent their few thousand webhooks
    # over six months. They wait in the emulator while the history is written (the mirror is
    # filled by a sync below) and are delivered afterwards, for the worker to go through.
    emulator.control("POST", "webhooks/settings", paused=True)
    try:
        story.run()
        # Catch the emulated clock up with today, so "available soon" and payouts look current.
        if story.now < int(time.time()):
            emulator.move_to(int(time.time()))
        # A buyer pays this month's invoice today: funds show as pending, "available soon".
        for _, invoice in story.issued[:: len(BUYERS["Northwind Media"])]:
            emulator.control("POST", f"invoices/{invoice.stripe_id}/pay")
        # This month's usage so far, not invoiced yet: pending items.
        for buyer, currency in buyers["Northwind Media"]:
            if buyer.reference in BUYER_SELLERS:
                invoicing.record_usage(
                    sellers["Northwind Media"],
                    buyer,
                    usage_id=f"demo-so-far-{buyer.reference}",
                    kind=ItemKind.VARIABLE_COST,
                    description="Display impressions, this month so far",
                    currency=currency,
                    quantity=640,
                    unit_amount=250,
                    metric="impressions (thousands)",
                    contract="Media buy MB-200",
                )
        for connect in sellers.values():
            mirror.sync_account(connect, throttle=mirror.Throttle(1_000))
            onboarding.refresh(connect)
    finally:
        emulator.control("POST", "webhooks/settings", paused=False)
    say(
        f"Billing demo data ready: {Invoice.objects.count()} invoices, "
        f"{sum(c.balance_transactions.count() for c in sellers.values())} transactions, "
        f"{sum(c.payouts.count() for c in sellers.values())} payouts."
    )
