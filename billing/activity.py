"""What of a Stripe account's money the acting customer sees: the one place the money pages
and their CSVs take their rows from.

A customer with its own account sees all of it. A child that bills through its parent's
account sees only what belongs to it there: the invoices and pending items of its own buyers
(`Buyer.seller`, from the Stripe customer's `seller_customer_id` metadata) and the payments and
chargebacks of those invoices, never its siblings' nor the parent's other rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from billing.models import (
    BalanceTransaction,
    BalanceTransactionQuerySet,
    ConnectAccount,
    Dispute,
    Invoice,
    InvoiceItem,
)
from billing.resolution import ResolvedBilling, resolve_billing
from storefront.models import Customer


@dataclass(frozen=True)
class Activity:
    billing: ResolvedBilling
    # The account whose rows are shown (the parent's when settled through it), or None.
    connect: ConnectAccount | None
    # Set when the rows are the child's share of its parent's account.
    seller: Customer | None = None

    @property
    def through_parent(self) -> bool:
        return self.seller is not None

    @property
    def own_connect(self) -> ConnectAccount | None:
        """The customer's own account: payouts, balances and Stripe links belong to it only."""
        return None if self.through_parent else self.connect

    def invoices(self) -> QuerySet[Invoice]:
        queryset = Invoice.objects.filter(connect_account=self.connect)
        if self.seller is not None:
            queryset = queryset.filter(buyer__seller=self.seller)
        return queryset

    def pending_items(self) -> QuerySet[InvoiceItem]:
        queryset = InvoiceItem.objects.filter(connect_account=self.connect, invoice_stripe_id="")
        if self.seller is not None:
            queryset = queryset.filter(buyer__seller=self.seller)
        return queryset

    def transactions(self) -> BalanceTransactionQuerySet:
        queryset = BalanceTransaction.objects.filter(connect_account=self.connect)
        if self.seller is None:
            return queryset
        invoices = self.invoices()
        charges = invoices.exclude(charge_stripe_id="").values("charge_stripe_id")
        disputes = Dispute.objects.filter(
            connect_account=self.connect, invoice__in=invoices
        ).values("stripe_id")
        return queryset.filter(Q(source_id__in=charges) | Q(source_id__in=disputes))


def activity_for(customer: Customer) -> Activity:
    billing = resolve_billing(customer)
    if billing.inherited and billing.connect is not None:
        return Activity(billing, billing.connect, seller=customer)
    if billing.inherited:
        return Activity(billing, None)
    return Activity(billing, billing.connect)
