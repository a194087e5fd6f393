"""Demo billing data, made through the product's own operations against the Stripe emulator.

Northwind Media and its child Northwind Sports get Express accounts, onboarded; six months of
usage for a few buyers is invoiced by billing runs; most invoices are paid, the latest are
open and one is overdue; the emulator's clock moves on so funds become available and payouts
land (one fails). Globex Publishing and Northwind News are left without their own account.

Runs only against the emulator (it drives the emulator's `/_emulator/` controls over HTTP)
and only once: if Northwind Media already has invoices, it does nothing.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import requests
from django.conf import settings

from billing import invoicing, mirror, onboarding
from billing.models import AdditionalFee, BillingAccount, ConnectAccount, Invoice, ItemKind
from storefront import access
from storefront.models import Customer, Membership, Role

MONTHS = 6
DAY = 86_400

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


class Emulator:
    def __init__(self, base: str) -> None:
        self.base = base

    def control(self, method: str, path: str, **payload: Any) -> Any:
        response = requests.request(
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

    def advance(self, days: int) -> None:
        self.control("POST", "clock/advance", days=days)


def seed(customers: dict[str, Customer], say: Callable[[str], None], months: int = MONTHS) -> None:
    emulator = Emulator(settings.STRIPE_API_BASE) if settings.STRIPE_API_BASE else None
    if emulator is None or not emulator.reachable():
        say("Billing demo data skipped: the Stripe emulator is not running (make demo starts it).")
        return
    media = customers["Northwind Media"]
    if Invoice.objects.filter(connect_account__billing_account__customer=media).exists():
        return
    say(
        f"Seeding billing: Stripe accounts, {months} months of invoices and payouts (about a minute)..."
    )
    owner = (
        Membership.objects.filter(customer=media, role=Role.ADMIN)
        .select_related("user")
        .order_by("id")
        .first()
    )
    assert owner is not None, "seed the demo users first"
    start = datetime.now(tz=UTC) - timedelta(days=months * 30 + 3)
    try:
        # Only possible on an empty emulator: lets the history start six months ago.
        emulator.control("POST", "clock/set", to=int(start.timestamp()))
    except requests.HTTPError:
        start = datetime.now(tz=UTC)

    sellers: dict[str, ConnectAccount] = {}
    for name in ("Northwind Media", "Northwind Sports"):
        acting = access.resolve(owner.user, customers[name].pk)
        # Opened when the emulated history starts, so its schedule is in force from then on:
        # a version dated before the current one is refused, so history cannot be backdated.
        BillingAccount.objects.open_for(customers[name], effective_from=start)
        connect, _ = onboarding.provision(acting, country="US")
        connect.billing_account.change_fee_schedule(
            changed_by=None, note="Demo fee schedule", effective_from=start, **FEES[name]
        )
        emulator.control("POST", f"accounts/{connect.stripe_id}/onboarding", action="complete")
        onboarding.refresh(connect)
        sellers[name] = connect

    rng = random.Random(20261122)
    buyers = {
        name: [
            (invoicing.buyer_for(connect, reference=ref, name=buyer, email=email), currency)
            for ref, buyer, email, currency in BUYERS[name]
        ]
        for name, connect in sellers.items()
    }
    for month in range(months):
        period_start = start + timedelta(days=30 * month)
        period_end = period_start + timedelta(days=30)
        label = period_start.strftime("%B %Y")
        last_month = month == months - 1
        sports = sellers["Northwind Sports"].stripe_id
        if month == months // 2:
            # One payout to Northwind Sports' bank bounces: Stripe disables that bank account
            # and holds its payouts until the seller adds another one.
            emulator.control("POST", f"accounts/{sports}/payouts", fail_next="account_closed")
        if month == months // 2 + 1:
            # A month later the seller adds a new bank account in the Express Dashboard.
            emulator.control("POST", f"accounts/{sports}/external_accounts")
        issued: list[tuple[str, Invoice]] = []
        for name, connect in sellers.items():
            for buyer, currency in buyers[name]:
                invoicing.record_usage(
                    connect, buyer, usage_id=f"demo-plan-{buyer.reference}-{month}",
                    kind=ItemKind.PLAN_COST, description=f"Storefront plan, {label}",
                    currency=currency, amount=150_000, contract="Annual storefront plan",
                    period=(period_start, period_end),
                )  # fmt: skip
                thousands = rng.randint(180, 2_400)
                invoicing.record_usage(
                    connect, buyer, usage_id=f"demo-impressions-{buyer.reference}-{month}",
                    kind=ItemKind.VARIABLE_COST, description=f"Display impressions, {label}",
                    currency=currency, quantity=thousands, unit_amount=rng.choice([180, 250, 320]),
                    metric="impressions (thousands)", contract=f"Media buy MB-{100 + month}",
                    period=(period_start, period_end),
                )  # fmt: skip
            issued += [(name, invoice) for invoice in invoicing.run_billing(connect).invoices]
        emulator.advance(days=8)
        for name, invoice in issued:
            overdue_one = (
                name == "Northwind Media"
                and month == months - 3
                and invoice.buyer is not None
                and invoice.buyer.reference == "umbrella"
            )
            if not (last_month or overdue_one):
                emulator.control("POST", f"invoices/{invoice.stripe_id}/pay")
        emulator.advance(days=22)
    # Catch the emulated clock up with today, so "available soon" and payouts look current.
    if emulator.control("GET", "clock")["now"] < int(time.time()):
        emulator.control("POST", "clock/set", to=int(time.time()))
    # A buyer pays this month's invoice today: funds show as pending, "available soon".
    for _, invoice in issued[:: len(BUYERS["Northwind Media"])]:
        emulator.control("POST", f"invoices/{invoice.stripe_id}/pay")
    for connect in sellers.values():
        mirror.sync_account(connect, throttle=mirror.Throttle(1_000))
        onboarding.refresh(connect)
    say(
        f"Billing demo data ready: {Invoice.objects.count()} invoices, "
        f"{sum(c.payouts.count() for c in sellers.values())} payouts."
    )
