"""From the acting customer to the billing that serves it, in one place.

A customer's billing is its own billing account if it has one, else its parent's (inherited).
Every page and endpoint that shows or changes billing goes through `resolve_billing`.
"""

from __future__ import annotations

from dataclasses import dataclass

from billing.models import BillingAccount, ConnectAccount, FeeScheduleVersion, OnboardingStatus
from billing.status import derive_onboarding_status
from storefront.models import Customer


@dataclass(frozen=True)
class ResolvedBilling:
    customer: Customer
    # The billing account that serves `customer`: its own, or its parent's when inherited.
    account: BillingAccount | None
    inherited: bool

    @property
    def connect(self) -> ConnectAccount | None:
        return self.account.connect if self.account else None

    @property
    def is_provisioned(self) -> bool:
        return self.connect is not None

    @property
    def onboarding_status(self) -> OnboardingStatus:
        """The customer's own status: `none` while it has nothing of its own (or inherits)."""
        if self.inherited:
            return OnboardingStatus.NONE
        return derive_onboarding_status(self.connect)

    @property
    def effective_status(self) -> OnboardingStatus:
        """The status of the account that actually serves the customer (the parent's if inherited)."""
        return derive_onboarding_status(self.connect)

    @property
    def served_by(self) -> Customer | None:
        return self.account.customer if self.account else None

    def fee_schedule(self) -> FeeScheduleVersion | None:
        return self.account.fee_schedule() if self.account else None


def resolve_billing(customer: Customer) -> ResolvedBilling:
    own = (
        BillingAccount.objects.select_related("customer", "connect_account")
        .filter(customer=customer)
        .first()
    )
    if own is not None:
        return ResolvedBilling(customer, own, inherited=False)
    if customer.parent_id is not None:
        parent_account = (
            BillingAccount.objects.select_related("customer", "connect_account")
            .filter(customer_id=customer.parent_id)
            .first()
        )
        return ResolvedBilling(customer, parent_account, inherited=True)
    return ResolvedBilling(customer, None, inherited=False)
