from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from billing import demo, gateway
from billing.fees import application_fee
from billing.models import BalanceTransaction, ConnectAccount, Invoice, OnboardingStatus, Payout
from billing.pagination import DEFAULT_LIMIT
from storefront.management.commands.seed_demo import seed_customers_and_users


def _fee(amount, version):
    return application_fee(
        amount,
        version.platform_fee_percent,
        [(f.name, f.fee_percent) for f in version.additional_fees],
    ).total


def _sums(*entry_lists):
    """Amounts per currency over Stripe balance entries (negative ones too)."""
    sums = Counter()
    for entries in entry_lists:
        for entry in entries:
            sums[entry["currency"]] += entry["amount"]
    return sums


def test_demo_billing_is_a_sellers_six_months_made_through_the_product_once(db, emulated_stripe):
    customers = seed_customers_and_users()
    said = []
    demo.seed(customers, said.append, months=3)
    accounts = {c.billing_account.customer.name: c for c in ConnectAccount.objects.all()}
    # Globex Publishing is left to go through setup itself.
    assert set(accounts) == {"Northwind Media", "Northwind Sports"}
    assert all(c.onboarding_status == OnboardingStatus.COMPLETE for c in accounts.values())
    media, sports = accounts["Northwind Media"], accounts["Northwind Sports"]
    assert Invoice.objects.filter(status="paid").exists()
    assert Invoice.objects.filter(status="open").exists()
    # Some money is still on its way: "available soon".
    assert any(e["amount"] > 0 for c in accounts.values() for e in c.balance_pending)

    # Buyers keep a card on file for invoices, all but the last of each seller.
    carded = {
        buyer.name
        for connect in accounts.values()
        for buyer in connect.buyers.all()
        if gateway.retrieve("customers", buyer.stripe_customer_id, connect.stripe_id)[
            "invoice_settings"
        ]["default_payment_method"]
    }
    assert carded == {"Acme Agency", "Initech Ads", "Hooli Media Buying", "Stark Outdoor"}

    # Every kind of money event, on the ledger a seller reads.
    kinds = Counter(sports.balance_transactions.values_list("type", "reporting_category"))
    assert kinds[("charge", "charge")] > 150  # invoices paid and card payments, a few a day
    assert kinds[("refund", "refund")] == 2
    assert kinds[("application_fee_refund", "fee")] == 1  # one refund gave the fee back
    assert kinds[("adjustment", "dispute")] == 3  # won, lost, and one still open
    assert kinds[("adjustment", "dispute_reversal")] == 1  # the one won
    assert kinds[("payout_failure", "payout_reversal")] == 1
    assert kinds[("payout", "payout")] > 20
    assert media.balance_transactions.filter(type="refund").count() == 1
    for connect in accounts.values():
        assert connect.balance_transactions.count() > 4 * DEFAULT_LIMIT  # many pages

    # Bluth Europe pays the US account in euros: settled converted to dollars.
    converted = sports.balance_transactions.filter(type="charge").exclude(raw__exchange_rate=None)
    assert converted.exists() and set(converted.values_list("currency", flat=True)) == {"usd"}
    assert sports.invoices.filter(currency="eur", status="paid").exists()
    assert sports.invoices.filter(currency="usd", status="paid").exists()

    disputes = Counter(d["status"] for d in gateway.list_all("disputes", sports.stripe_id))
    assert disputes == {"won": 1, "lost": 1, "needs_response": 1}

    payouts = sports.payouts
    assert payouts.filter(status="failed", automatic=True).count() == 1
    failed = payouts.get(status="failed")
    # The retry: a payout after the seller added a new bank account carries the money back.
    assert payouts.filter(status="paid", automatic=True, created__gt=failed.created).exists()
    assert payouts.filter(automatic=False, method="standard", status="paid").count() == 1
    assert payouts.filter(method="instant").count() == 1
    assert not Payout.objects.filter(connect_account=media, automatic=False).exists()

    # The fee schedule changed mid-way; invoices issued before it keep the old version.
    # (Opened on its parent's schedule, set to its own at once, changed mid-way.)
    *_, old, new = sorted(
        sports.billing_account.fee_schedule_versions.all(), key=lambda v: (v.effective_from, v.pk)
    )
    assert new.platform_fee_percent > old.platform_fee_percent
    created = sports.balance_transactions.values_list("created", flat=True)
    assert min(created) < new.effective_from < max(created)
    kept = [
        invoice
        for invoice in sports.invoices.filter(status="paid", currency="usd")
        if invoice.created
        < new.effective_from
        < datetime.fromtimestamp(invoice.raw["status_transitions"]["paid_at"], UTC)
    ]
    assert kept
    for invoice in kept:
        charged = sports.balance_transactions.get(source_id=invoice.charge_stripe_id)
        assert charged.fee == _fee(invoice.total, old) != _fee(invoice.total, new)

    # Card payments are charged the fee the product computes from the schedule in force.
    invoiced = set(Invoice.objects.values_list("charge_stripe_id", flat=True))
    cards = sports.balance_transactions.filter(type="charge", raw__exchange_rate=None).exclude(
        source_id__in=invoiced
    )
    assert cards.filter(created__lt=new.effective_from).exists()
    assert cards.filter(created__gt=new.effective_from).exists()
    for charge in cards:
        version = old if charge.created < new.effective_from else new
        assert charge.fee == _fee(charge.amount, version)

    # The mirror agrees with Stripe: its balance, and the sum of its transactions.
    for connect in accounts.values():
        balance = gateway.retrieve_balance(connect.stripe_id)
        assert _sums(connect.balance_available) == _sums(balance["available"])
        assert _sums(connect.balance_pending) == _sums(balance["pending"])
        nets = Counter()
        for currency, net in connect.balance_transactions.values_list("currency", "net"):
            nets[currency] += net
        assert nets == _sums(balance["available"], balance["pending"])

    before = (Invoice.objects.count(), Payout.objects.count(), BalanceTransaction.objects.count())
    demo.seed(customers, said.append, months=3)
    assert (
        Invoice.objects.count(),
        Payout.objects.count(),
        BalanceTransaction.objects.count(),
    ) == before


def test_without_the_emulator_billing_demo_data_is_skipped_with_a_note(db, settings):
    settings.STRIPE_API_BASE = ""
    said = []
    demo.seed(seed_customers_and_users(), said.append)
    assert "skipped" in said[0]
    assert not ConnectAccount.objects.exists()
