"""From the acting customer to the billing that serves it, in one place.

A customer's billing is its own billing account if it has one, else its parent's (inherited).
Every page and endpoint that shows or changes billing goes through `resolve_billing`.
"""

from __future__ import annotations

from dataclasses import dataclass

from billing.errors import NotProvisioned
from billing.models import BillingAccount, ConnectAccount, FeeScheduleVersion, OnboardingStatus
from billing.status import OnboardingState, onboarding_state
from storefront.models import Customer


def stored_status(connect: ConnectAccount | None) -> OnboardingStatus:
    """The status stored on `connect` (`none` without one)."""
    return OnboardingStatus(connect.onboarding_status) if connect else OnboardingStatus.NONE


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
    def own_connect(self) -> ConnectAccount | None:
        """The customer's own Stripe account: None while it has none, or inherits its parent's
        (whose ledger mixes every child's money, so it is never shown as the child's)."""
        return None if self.inherited else self.connect

    def require_own_connect(self) -> ConnectAccount:
        """The customer's own Stripe account, or NotProvisioned saying why there is none.
        The one guard for pages and API alike."""
        connect = self.own_connect
        if connect is not None:
            return connect
        name = self.customer.name
        if self.inherited and self.connect is not None:
            raise NotProvisioned(
                f"{name} uses the billing of {self.served_by}. "
                "Set up a separate Stripe account for it first."
            )
        raise NotProvisioned(f"No Stripe account is provisioned for {name} yet. Set one up first.")

    @property
    def onboarding_status(self) -> OnboardingStatus:
        """The customer's own status: `none` while it has nothing of its own (or inherits)."""
        return stored_status(self.own_connect)

    @property
    def effective_status(self) -> OnboardingStatus:
        """The status of the account that actually serves the customer (the parent's if inherited)."""
        return stored_status(self.connect)

    @property
    def onboarding_state(self) -> OnboardingState:
        """What the seller is told: about its own account, or the parent's when inherited."""
        return onboarding_state(self.connect)

    @property
    def served_by(self) -> Customer | None:
        return self.account.customer if self.account else None

    def fee_schedule(self) -> FeeScheduleVersion | None:
        return self.account.fee_schedule() if self.account else None


def resolve_billing(customer: Customer) -> ResolvedBilling:
    own = _account_of(customer.pk)
    if own is not None:
        return ResolvedBilling(customer, own, inherited=False)
    if customer.parent_id is not None:
        return ResolvedBilling(customer, _account_of(customer.parent_id), inherited=True)
    return ResolvedBilling(customer, None, inherited=False)


def _account_of(customer_id: int) -> BillingAccount | None:
    # One account per customer: no ordering to compile (`first()` would add one).
    found = (
        BillingAccount.objects.select_related("customer", "connect_account")
        .filter(customer_id=customer_id)
        .order_by()[:1]
    )
    return next(iter(found), None)
