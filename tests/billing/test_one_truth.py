"""One truth, three views: under random real-money events, what the seller sees agrees with Stripe.

A hypothesis state machine drives the Stripe emulator through what happens to a marketplace
seller's money: buyers pay (directly and through invoices, in dollars and in euros that settle
converted), the platform refunds them (with or without the fee), buyers dispute and win or
lose, fees are refunded, time passes, payouts land, fail, or are made by hand or instantly, and
staff change the fee schedule. The emulator posts its webhooks to our live server paused, so
they arrive late, twice and out of order whenever the machine lets them through; the worker
(run immediately in tests) processes them. After each delivery it checks that:

* per currency, the mirrored balance equals Stripe's, and equals the sum of the mirrored
  transactions' net by status;
* every automatic payout that was paid equals the sum of the transactions it carried;
* every fee breakdown adds up to its fee;
* the REST API and the CSV export list the same transactions with the same totals as the mirror.

It runs a few examples in the suite; ``ONE_TRUTH_EXAMPLES=200`` runs more when hunting.
"""

from __future__ import annotations

import csv
import io
import os
import uuid
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

import pytest
import stripe
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from billing import dashboard, fees, invoicing, mirror, onboarding
from billing.models import BalanceTransaction, ConnectAccount, Invoice, ItemKind, Payout
from storefront import access
from storefront.models import ApiKey, Role
from tests.factories import make_customer, make_member

SECRET = "whsec_one_truth"
API = "/api/v2/storefront"


def _totals(rows: list[tuple[str, int, int, int]]) -> dict[str, tuple[int, int, int, int]]:
    """(count, amount, fee, net) per currency of (currency, amount, fee, net) rows."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for currency, amount, fee, net in rows:
        entry = totals[currency.lower()]
        entry[0] += 1
        entry[1] += amount
        entry[2] += fee
        entry[3] += net
    return {currency: tuple(entry) for currency, entry in totals.items()}  # type: ignore[misc]


def _minor(text: str) -> int:
    """A CSV amount in major units (exact decimal) back in cents (USD and EUR: two decimals)."""
    return int(Decimal(text) * 100)


class MoneyOfOneSeller(RuleBasedStateMachine):
    def __init__(self, emulator: Any, live_server: Any, web: Any) -> None:
        super().__init__()
        self.emulator = emulator
        self.web = web
        self.stripe = emulator.client()
        emulator.reset()
        emulator.add_webhook_endpoint(f"{live_server.url}/webhooks/stripe/", SECRET)
        # Late, twice and out of order: nothing goes out until the machine delivers.
        emulator.webhook_settings(paused=True, duplicate=True, reorder=True)
        customer = make_customer(f"Seller {uuid.uuid4().hex[:8]}")
        self.owner = make_member(customer, Role.ADMIN)
        self.connect, _ = onboarding.provision(access.resolve(self.owner, customer.pk))
        emulator.complete_onboarding(self.connect.stripe_id)
        self.account = self.connect.stripe_id
        self.billing = self.connect.billing_account
        self.billing.change_fee_schedule(
            platform_fee_percent="10", fees=[{"name": "Ad serving", "feePercent": "2"}]
        )
        _, self.api_key = ApiKey.issue(
            user=self.owner, customer=customer, name="truth", scopes=["billing:read"]
        )
        self.charges: list[dict[str, Any]] = []  # {"id", "amount", "refunded", "disputed", "fee"}
        self.open_disputes: list[str] = []
        self.open_invoices: list[str] = []
        self.days_undelivered = 0
        self.bank_failed = False

    def _on_account(self) -> dict[str, str]:
        return {"stripe_account": self.account}

    # Buyers pay

    @initialize()
    def first_sale(self) -> None:
        self._sell(10_000, "usd")

    def _sell(self, amount: int, currency: str) -> None:
        schedule = self.billing.fee_schedule()
        breakdown = fees.application_fee(
            amount,
            schedule.platform_fee_percent,
            [(fee.name, fee.fee_percent) for fee in schedule.additional_fees],
        )
        charge = self.emulator.control(
            "POST",
            "charges",
            account=self.account,
            amount=amount,
            currency=currency,
            application_fee_amount=breakdown.total,
        )
        self.charges.append(
            {
                "id": charge["id"],
                "amount": amount,
                "refunded": 0,
                "disputed": False,
                "fee": charge.get("application_fee"),
                "fee_refunded": 0,
                "fee_amount": breakdown.total,
            }
        )

    @rule(amount=st.integers(1_000, 250_000), currency=st.sampled_from(["usd", "usd", "eur"]))
    def a_buyer_pays(self, amount: int, currency: str) -> None:
        self._sell(amount, currency)

    @rule(amount=st.integers(1_000, 250_000))
    def the_platform_invoices_a_buyer(self, amount: int) -> None:
        buyer = invoicing.buyer_for(self.connect, reference="buyer", name="Acme Agency")
        invoicing.record_usage(
            self.connect,
            buyer,
            usage_id=uuid.uuid4().hex,
            kind=ItemKind.PLAN_COST,
            description="Plan",
            currency="usd",
            amount=amount,
        )
        self.open_invoices += [i.stripe_id for i in invoicing.run_billing(self.connect).invoices]

    @precondition(lambda self: self.open_invoices)
    @rule(data=st.data())
    def a_buyer_pays_an_invoice(self, data: st.DataObject) -> None:
        """Perhaps after the fees changed: the invoice keeps the fee it was issued with."""
        invoice_id = data.draw(st.sampled_from(self.open_invoices))
        self.open_invoices.remove(invoice_id)
        invoice = self.emulator.control("POST", f"invoices/{invoice_id}/pay")
        [payment] = invoice["payments"]["data"]
        charge = self.stripe.v1.charges.retrieve(
            payment["payment"]["charge"], None, self._on_account()
        )
        issued_with = Invoice.objects.get(stripe_id=invoice_id).application_fee_amount
        fee = self.stripe.v1.application_fees.retrieve(charge.application_fee)
        assert fee.amount == issued_with
        self.charges.append(
            {
                "id": charge.id,
                "amount": charge.amount,
                "refunded": 0,
                "disputed": False,
                "fee": charge.application_fee,
                "fee_refunded": 0,
                "fee_amount": fee.amount,
            }
        )

    # Refunds, fee refunds, disputes

    def _refundable(self) -> list[dict[str, Any]]:
        return [c for c in self.charges if not c["disputed"] and c["refunded"] < c["amount"]]

    @precondition(lambda self: self._refundable())
    @rule(data=st.data(), whole=st.booleans(), with_fee=st.booleans())
    def the_platform_refunds(self, data: st.DataObject, whole: bool, with_fee: bool) -> None:
        charge = data.draw(st.sampled_from(self._refundable()))
        left = charge["amount"] - charge["refunded"]
        amount = left if whole else max(1, left // 3)
        params: dict[str, Any] = {"charge": charge["id"], "amount": amount}
        if with_fee and charge["fee_refunded"] == 0:
            params["refund_application_fee"] = True
        self.stripe.v1.refunds.create(params, self._on_account())
        charge["refunded"] += amount
        if params.get("refund_application_fee"):
            charge["fee_refunded"] = -1  # proportionally; no separate fee refunds after this

    def _fee_refundable(self) -> list[dict[str, Any]]:
        return [c for c in self.charges if c["fee"] and c["fee_refunded"] == 0]

    @precondition(lambda self: self._fee_refundable())
    @rule(data=st.data())
    def the_platform_gives_back_part_of_its_fee(self, data: st.DataObject) -> None:
        charge = data.draw(st.sampled_from(self._fee_refundable()))
        amount = max(1, charge["fee_amount"] // 2)
        self.stripe.v1.application_fees.refunds.create(charge["fee"], {"amount": amount})
        charge["fee_refunded"] = amount

    def _disputable(self) -> list[dict[str, Any]]:
        return [c for c in self.charges if not c["disputed"] and c["refunded"] == 0]

    @precondition(lambda self: self._disputable())
    @rule(data=st.data())
    def a_buyer_disputes(self, data: st.DataObject) -> None:
        charge = data.draw(st.sampled_from(self._disputable()))
        dispute = self.emulator.control("POST", f"charges/{charge['id']}/dispute")
        charge["disputed"] = True
        self.open_disputes.append(dispute["id"])

    @precondition(lambda self: self.open_disputes)
    @rule(data=st.data(), outcome=st.sampled_from(["won", "lost"]))
    def the_bank_decides(self, data: st.DataObject, outcome: str) -> None:
        dispute = data.draw(st.sampled_from(self.open_disputes))
        self.emulator.control("POST", f"disputes/{dispute}/close", outcome=outcome)
        self.open_disputes.remove(dispute)

    # Time, payouts, fees

    @rule(days=st.integers(1, 5))
    def time_passes(self, days: int) -> None:
        if self.days_undelivered + days > 20:
            # Events are late, not lost: Stripe keeps an event for 30 days (then only the
            # periodic reconciliation would repair the mirror, which is tested on its own).
            self.emulator.flush_webhooks()
            self.days_undelivered = 0
        self.days_undelivered += days
        self.emulator.advance(days=days)
        self.open_disputes = [
            d
            for d in self.open_disputes
            if self.stripe.v1.disputes.retrieve(d, None, self._on_account()).status
            not in ("won", "lost")
        ]

    @precondition(lambda self: not self.bank_failed)
    @rule(code=st.sampled_from(["account_closed", "no_account", "invalid_account_number"]))
    def the_next_payout_bounces(self, code: str) -> None:
        self.emulator.control("POST", f"accounts/{self.account}/payouts", fail_next=code)
        self.bank_failed = True

    @precondition(lambda self: self.bank_failed)
    @rule()
    def the_seller_adds_a_new_bank_account(self) -> None:
        self.emulator.control(
            "POST",
            f"accounts/{self.account}/external_accounts",
            account_number="000123456789",
            currency="usd",
            country="US",
        )
        self.bank_failed = False

    def _available_usd(self) -> tuple[int, int]:
        balance = self.stripe.v1.balance.retrieve(None, self._on_account())
        available = sum(b.amount for b in balance.available if b.currency == "usd")
        instant = sum(
            b.amount
            for b in (getattr(balance, "instant_available", None) or [])
            if b.currency == "usd"
        )
        return available, instant

    @rule(instant=st.booleans())
    def the_seller_pays_out_by_hand(self, instant: bool) -> None:
        account = self.stripe.v1.accounts.retrieve(self.account)
        available, instant_available = self._available_usd()
        amount = (instant_available if instant else available) // 2
        if not account.payouts_enabled or amount < 100:
            return
        params: dict[str, Any] = {"amount": amount, "currency": "usd"}
        if instant:
            params["method"] = "instant"
        else:
            self._payout_schedule("manual")
        try:
            self.stripe.v1.payouts.create(params, self._on_account())
        finally:
            if not instant:
                self._payout_schedule("daily")

    def _payout_schedule(self, interval: str) -> None:
        self.stripe.v1.accounts.update(
            self.account, {"settings": {"payouts": {"schedule": {"interval": interval}}}}
        )

    @rule(platform=st.integers(1, 20), ad_serving=st.sampled_from(["0", "1.5", "2", "3.25"]))
    def staff_change_the_fees(self, platform: int, ad_serving: str) -> None:
        self.billing.change_fee_schedule(
            platform_fee_percent=str(platform),
            fees=[{"name": "Ad serving", "feePercent": ad_serving}] if ad_serving != "0" else [],
        )

    # Webhooks arrive (late, twice, out of order) and the checks

    @rule()
    def webhooks_arrive(self) -> None:
        """Everything Stripe sent since the last delivery arrives now, shuffled, some twice."""
        self.every_view_agrees_with_stripe()

    def teardown(self) -> None:
        self.every_view_agrees_with_stripe()

    @rule()
    def the_periodic_reconciliation_runs(self) -> None:
        mirror.reconcile_account(ConnectAccount.objects.get(pk=self.connect.pk))

    def every_view_agrees_with_stripe(self) -> None:
        self.emulator.flush_webhooks()
        self.days_undelivered = 0
        connect = ConnectAccount.objects.get(pk=self.connect.pk)
        self._balance_agrees(connect)
        self._payouts_add_up(connect)
        self._fee_breakdowns_add_up(connect)
        self._api_and_csv_agree(connect)

    def _balance_agrees(self, connect: ConnectAccount) -> None:
        balance = self.stripe.v1.balance.retrieve(None, self._on_account())
        stripe_says = {
            (bucket, entry.currency): entry.amount
            for bucket in ("available", "pending")
            for entry in getattr(balance, bucket)
        }
        mirrored = {
            (bucket, entry["currency"]): entry["amount"]
            for bucket in ("available", "pending")
            for entry in getattr(connect, f"balance_{bucket}")
        }
        assert mirrored == stripe_says
        by_status: Counter[tuple[str, str]] = Counter()
        for status, currency, net in BalanceTransaction.objects.filter(
            connect_account=connect
        ).values_list("status", "currency", "net"):
            by_status[(status, currency)] += net
        for key, amount in stripe_says.items():
            assert by_status[key] == amount, (key, by_status)

    def _payouts_add_up(self, connect: ConnectAccount) -> None:
        for payout in Payout.objects.filter(connect_account=connect, status="paid", automatic=True):
            carried = BalanceTransaction.objects.filter(
                connect_account=connect, payout_stripe_id=payout.stripe_id
            ).carried_by_payouts()
            listed = self.stripe.v1.balance_transactions.list(
                {"payout": payout.stripe_id, "limit": 100}, self._on_account()
            ).data
            assert sum(t.net for t in carried) == payout.amount, (
                payout.stripe_id,
                [(t.stripe_id, t.type, t.net) for t in carried],
                [(t.id, t.type, t.net) for t in listed],
            )

    def _fee_breakdowns_add_up(self, connect: ConnectAccount) -> None:
        transactions = BalanceTransaction.objects.filter(connect_account=connect).newest_first()
        for row in dashboard.ledger_rows(connect, transactions):
            assert sum(amount for _, amount in row.fee_parts) == row.txn.fee, row.txn.stripe_id

    def _api_and_csv_agree(self, connect: ConnectAccount) -> None:
        mirrored = _totals(
            list(
                BalanceTransaction.objects.filter(connect_account=connect).values_list(
                    "currency", "amount", "fee", "net"
                )
            )
        )
        listed: list[tuple[str, int, int, int]] = []
        cursor = None
        while True:
            params = f"?limit=100&starting_after={cursor}" if cursor else "?limit=100"
            response = self.web.get(
                f"{API}/billing/transactions{params}",
                HTTP_AUTHORIZATION=f"Bearer {self.api_key}",
            )
            assert response.status_code == 200, response.content
            body = response.json()
            listed += [(t["currency"], t["amount"], t["fee"], t["net"]) for t in body["data"]]
            if not body["meta"]["hasMore"]:
                break
            cursor = body["meta"]["cursor"]
        assert _totals(listed) == mirrored

        self.web.force_login(self.owner)
        response = self.web.get(
            f"/c/{connect.billing_account.customer_id}/billing/transactions.csv"
        )
        assert response.status_code == 200
        text = b"".join(response.streaming_content).decode("utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(text)))
        exported = [
            (r["currency"], _minor(r["amount"]), _minor(r["fee"]), _minor(r["net"])) for r in rows
        ]
        assert _totals(exported) == mirrored

        # The page's own totals line (loaded beside the ledger) says the same.
        page = self.web.get(
            f"/c/{connect.billing_account.customer_id}/billing/transactions/totals/"
        )
        assert page.status_code == 200
        shown = page.context["totals"]
        assert {c.currency: (c.count, c.amount, c.fee, c.net) for c in shown.currencies} == mirrored


@pytest.mark.django_db(transaction=True)
def test_dashboard_api_and_csv_agree_with_stripe_whatever_happens(
    emulated_stripe, live_server, client, settings: Any
) -> None:
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    stripe.max_network_retries = 0
    run_state_machine_as_test(
        lambda: MoneyOfOneSeller(emulated_stripe, live_server, client),
        settings=MACHINE_SETTINGS,
    )


MACHINE_SETTINGS = hypothesis_settings(
    max_examples=int(os.environ.get("ONE_TRUTH_EXAMPLES", "6")),
    stateful_step_count=14,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.mark.django_db(transaction=True)
def test_funds_that_become_available_without_a_payout_are_mirrored_as_available(
    emulated_stripe, live_server, client, settings: Any
) -> None:
    """With payouts paused nothing re-lists the sale for a payout: ``balance.available`` must
    be enough for the mirror to see the sale's funds become available."""
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    machine = MoneyOfOneSeller(emulated_stripe, live_server, client)
    emulated_stripe.complete_onboarding(machine.account, action="disable_payouts")
    machine.first_sale()
    machine.webhooks_arrive()
    [sale] = BalanceTransaction.objects.filter(connect_account=machine.connect, type="charge")
    assert sale.status == "pending"
    emulated_stripe.advance(days=1)
    machine.a_buyer_pays(5_000, "usd")  # a newer transaction, still pending
    machine.webhooks_arrive()
    emulated_stripe.advance(days=5)
    machine.webhooks_arrive()  # checks the balance and the mirror by status
    sale.refresh_from_db()
    assert sale.status == "available"
    assert not Payout.objects.filter(connect_account=machine.connect).exists()


@pytest.mark.django_db(transaction=True)
def test_an_automatic_payout_after_a_manual_one_adds_up_with_its_debit(
    emulated_stripe, live_server, client, settings: Any
) -> None:
    """The automatic payout itemises the manual payout's debit taken from the same funds:
    only with it do its transactions add up to its amount (found by the machine above)."""
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    machine = MoneyOfOneSeller(emulated_stripe, live_server, client)
    machine.first_sale()
    machine._payout_schedule("manual")
    emulated_stripe.advance(days=3)
    machine.the_seller_pays_out_by_hand(instant=False)
    machine.the_seller_pays_out_by_hand(instant=False)  # half, then half of the rest
    machine.webhooks_arrive()
    machine.a_buyer_pays(4_000, "usd")
    emulated_stripe.advance(days=4)
    machine.webhooks_arrive()  # checks every automatic payout adds up
    payouts = Payout.objects.filter(connect_account=machine.connect)
    assert payouts.filter(automatic=False).count() == 2
    automatic = payouts.filter(automatic=True, status="paid")
    assert automatic.exists()
    page = f"/c/{machine.connect.billing_account.customer_id}/billing/payouts"
    for payout in automatic:
        assert client.get(f"{page}/{payout.stripe_id}/").context["adds_up"], payout.stripe_id
    carried = BalanceTransaction.objects.filter(
        payout_stripe_id__in=[p.stripe_id for p in automatic],
        type="payout",
        source_id__in=[p.stripe_id for p in payouts.filter(automatic=False)],
    )
    assert carried.count() == 2  # both manual debits were itemised by a later payout
