from __future__ import annotations

from billing import demo
from billing.models import BalanceTransaction, ConnectAccount, Invoice, OnboardingStatus, Payout
from storefront.management.commands.seed_demo import seed_customers_and_users


def test_demo_billing_is_made_through_the_product_and_only_once(db, emulated_stripe):
    customers = seed_customers_and_users()
    said = []
    demo.seed(customers, said.append, months=3)
    accounts = {c.billing_account.customer.name: c for c in ConnectAccount.objects.all()}
    assert set(accounts) == {"Northwind Media", "Northwind Sports"}
    assert all(c.onboarding_status == OnboardingStatus.COMPLETE for c in accounts.values())
    assert Invoice.objects.filter(status="paid").exists()
    assert Invoice.objects.filter(status="open").exists()
    assert Payout.objects.filter(status="failed").exists()
    assert BalanceTransaction.objects.filter(type="charge").exists()
    # Some money is still on its way: "available soon".
    assert any(e["amount"] > 0 for c in accounts.values() for e in c.balance_pending)
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
