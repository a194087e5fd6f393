"""Billing fixtures shared by every test package (a pytest plugin): sellers with activity."""

from __future__ import annotations

import pytest

from billing import invoicing, onboarding
from billing.models import Buyer, ConnectAccount, Invoice, InvoiceItem, ItemKind
from storefront import access


def record_plan(
    seller: ConnectAccount,
    buyer: Buyer,
    amount: int,
    *,
    usage_id: str = "u1",
    description: str = "Plan",
) -> InvoiceItem:
    """Record one plan charge (cents of USD) for the buyer, pending until a billing run: the
    usage most billing tests start from."""
    return invoicing.record_usage(
        seller,
        buyer,
        usage_id=usage_id,
        kind=ItemKind.PLAN_COST,
        description=description,
        currency="usd",
        amount=amount,
    )


def plan_invoice(seller: ConnectAccount, buyer: Buyer, amount: int, **plan: str) -> Invoice:
    """Record one plan charge (`record_plan`, with its `usage_id` and `description`) and run
    billing: the one invoice it issues. Many billing tests start from "an invoice of this
    amount" before what they test."""
    record_plan(seller, buyer, amount, **plan)
    [invoice] = invoicing.run_billing(seller).invoices
    return invoice


@pytest.fixture
def seller(cast, emulated_stripe) -> ConnectAccount:
    """Northwind Media with its own Express account, onboarded and enabled."""
    connect, _ = onboarding.provision(access.resolve(cast.parent_owner, cast.parent.pk))
    emulated_stripe.complete_onboarding(connect.stripe_id)
    return onboarding.refresh(connect)


@pytest.fixture
def busy_seller(seller, emulated_stripe):
    """A seller with paid invoices, some funds available, and payouts that landed."""
    buyer = invoicing.buyer_for(seller, reference="b1", name="Acme")
    seller.billing_account.change_fee_schedule(platform_fee_percent="10")
    for month in range(3):
        invoice = plan_invoice(
            seller,
            buyer,
            100_000 + month * 1_111,
            usage_id=f"m{month}",
            description=f"Plan, month {month}",
        )
        emulated_stripe.control("POST", f"invoices/{invoice.stripe_id}/pay")
        emulated_stripe.advance(days=3)
    emulated_stripe.advance(days=4)
    return seller
