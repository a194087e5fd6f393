"""Chaos: sellers are provisioned, onboarded and billed by several threads at once while Stripe
fails at random (500s, 429s, dropped connections, timeouts, answers lost after the work was
done) and its webhooks arrive late, twice and out of order at a live server whose request
threads process them. Then the faults stop, retries and the reconciliation run, and everything
must have converged: one Stripe account per billing account, no invoice sent twice, no usage
invoiced without its fee, no event lost, and the mirror equal to Stripe.

``CHAOS_SEED=n`` replays a run's fault schedule (thread timing still varies).
"""

from __future__ import annotations

import contextlib
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from django.db import DatabaseError
from django.utils import timezone

from billing import fees, gateway, invoicing, mirror, onboarding, webhooks
from billing.models import (
    BalanceTransaction,
    ConnectAccount,
    Invoice,
    ItemKind,
    WebhookEvent,
    WebhookEventStatus,
)
from storefront import access
from storefront.models import Role
from tests.concurrency import in_threads
from tests.factories import make_customer, make_member

SECRET = "whsec_chaos"
SELLERS = 3
USAGE_PER_SELLER = 4
FAULTS = ["500", "500_after_write", "429", "429_retry", "drop", "lost", "slow"]
T = TypeVar("T")


def persist(action: Callable[[], T], *, seconds: float = 120) -> T:
    """Do `action` until it works, like a person clicking again or a worker retrying."""
    give_up = time.monotonic() + seconds
    while True:
        try:
            return action()
        except (gateway.GatewayError, onboarding.BillingError, DatabaseError) as exc:
            if time.monotonic() > give_up:
                raise AssertionError(f"Still failing after {seconds} s: {exc}") from exc
            time.sleep(0.1)


class Chaos:
    """Injects one random Stripe fault after another until stopped."""

    def __init__(self, emulator: Any, seed: int) -> None:
        self.emulator = emulator
        self.random = random.Random(seed)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self.stop.is_set():
            kind = self.random.choice(FAULTS)
            extra: dict[str, Any] = {}
            if kind == "slow":
                extra = {"delay": 2, "when": self.random.choice(["before", "after"])}
            # One fault waits at a time (a new one replaces it): Stripe fails now and then,
            # not on every request.
            self.emulator.control("DELETE", "faults")
            self.emulator.inject_fault(kind, count=1, **extra)
            self.stop.wait(self.random.uniform(0.02, 0.15))

    def __enter__(self) -> Chaos:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self.emulator.control("DELETE", "faults")


@pytest.mark.django_db(transaction=True)
def test_after_chaos_everything_converges(emulated_stripe, live_server, settings):
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    settings.STRIPE_READ_TIMEOUT = 1  # "slow" faults become timeouts
    seed = int(os.environ.get("CHAOS_SEED", random.randrange(1_000_000)))
    print(f"CHAOS_SEED={seed}")
    stripe = emulated_stripe.client()
    emulated_stripe.add_webhook_endpoint(f"{live_server.url}/webhooks/stripe/", SECRET)
    emulated_stripe.webhook_settings(duplicate=True, reorder=True, hold_seconds=0.3)
    customers = [make_customer(f"Chaos seller {n}") for n in range(SELLERS)]
    owners = [make_member(customer, Role.ADMIN) for customer in customers]
    actings = [
        access.resolve(owner, customer.pk)
        for owner, customer in zip(owners, customers, strict=True)
    ]

    with Chaos(emulated_stripe, seed):
        # Two people set up each seller at the same moment, each clicking until it works.
        in_threads(*[lambda a=a: persist(lambda: onboarding.provision(a)) for a in actings * 2])
        sellers = list(ConnectAccount.objects.order_by("pk"))
        for seller in sellers:
            emulated_stripe.complete_onboarding(seller.stripe_id)

        def usage(seller: ConnectAccount) -> None:
            buyer = persist(lambda: invoicing.buyer_for(seller, reference="b", name="Buyer"))
            for n in range(USAGE_PER_SELLER):
                persist(
                    lambda n=n: invoicing.record_usage(
                        seller,
                        buyer,
                        usage_id=f"u{n}",
                        kind=ItemKind.PLAN_COST,
                        description=f"Plan {n}",
                        currency="usd",
                        amount=10_000 * (n + 1),
                    )
                )

        def billing_runs(seller: ConnectAccount) -> None:
            for _ in range(3):
                with contextlib.suppress(DatabaseError):  # the next run picks it up
                    invoicing.run_billing(seller)

        def syncs(seller: ConnectAccount) -> None:
            for _ in range(2):
                with contextlib.suppress(gateway.GatewayError, DatabaseError):
                    mirror.sync_account(seller, throttle=mirror.Throttle(1_000))

        in_threads(*[lambda s=s: usage(s) for s in sellers])
        in_threads(
            *[lambda s=s: billing_runs(s) for s in sellers * 3],
            *[lambda s=s: syncs(s) for s in sellers],
        )
        for invoice in Invoice.objects.filter(status="open")[:2]:
            persist(
                lambda i=invoice: emulated_stripe.control("POST", f"invoices/{i.stripe_id}/pay")
            )

    # Stripe is well again: the queued work runs, and the scheduled jobs do theirs.
    for seller in sellers:
        for _ in range(5):
            if not invoicing.run_billing(seller).errors:
                break
    emulated_stripe.flush_webhooks()
    far = timezone.now() + timedelta(days=10)
    while webhooks.retry_due_events(now=far):
        pass
    for seller in sellers:
        mirror.reconcile_account(seller)

    # One Stripe account per billing account.
    made = Counter(
        a.metadata.to_dict().get("customer_id")
        for a in stripe.v1.accounts.list({"limit": 100}).data
    )
    assert made == Counter(str(c.pk) for c in customers), made
    assert len(sellers) == SELLERS

    for seller in sellers:
        on_account = {"stripe_account": seller.stripe_id}
        stripe_invoices = stripe.v1.invoices.list({"limit": 100}, on_account).data
        # Every unit of usage invoiced, on a sent invoice, once, with the fee of what it holds.
        assert not stripe.v1.invoice_items.list({"pending": True}, on_account).data
        total_invoiced = sum(i.total for i in stripe_invoices if i.status != "void")
        assert total_invoiced == sum(10_000 * (n + 1) for n in range(USAGE_PER_SELLER))
        sent = Counter(
            event.data.object.id
            for event in stripe.v1.events.list(
                {"type": "invoice.sent", "limit": 100}, on_account
            ).data
        )
        schedule = seller.billing_account.fee_schedule()
        for invoice in stripe_invoices:
            assert invoice.status in ("open", "paid"), invoice.id
            # Sent once; one the buyer paid before a run got to send it may never be.
            assert sent[invoice.id] == 1 or (invoice.status == "paid" and not sent[invoice.id])
            expected = fees.application_fee(
                invoice.total,
                schedule.platform_fee_percent,
                [(f.name, f.fee_percent) for f in schedule.additional_fees],
            ).total
            assert int(invoice.metadata["application_fee_amount"]) == expected
        # The mirror equals Stripe.
        assert {i.stripe_id: i.status for i in Invoice.objects.filter(connect_account=seller)} == {
            i.id: i.status for i in stripe_invoices
        }
        assert set(
            BalanceTransaction.objects.filter(connect_account=seller).values_list(
                "stripe_id", "status"
            )
        ) == {
            (t.id, t.status)
            for t in stripe.v1.balance_transactions.list({"limit": 100}, on_account).data
        }
        seller.refresh_from_db()
        balance = stripe.v1.balance.retrieve(None, on_account)
        assert seller.balance_available == [
            {"amount": b.amount, "currency": b.currency} for b in balance.available
        ]
        assert seller.charges_enabled and seller.payouts_enabled
        # No event lost: every event Stripe has for the account was stored and processed.
        events = {e.id for e in stripe.v1.events.list({"limit": 100}, on_account).data}
        stored = dict(
            WebhookEvent.objects.filter(stripe_id__in=events).values_list("stripe_id", "status")
        )
        assert set(stored) == events
        assert WebhookEventStatus.FAILED not in stored.values()
