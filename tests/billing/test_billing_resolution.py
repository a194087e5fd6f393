from __future__ import annotations

from billing.models import BillingAccount, ConnectAccount, OnboardingStatus
from billing.resolution import resolve_billing


def give_account(customer, **fields) -> BillingAccount:
    account = BillingAccount.objects.create(customer=customer)
    ConnectAccount.objects.create(
        billing_account=account, stripe_id=f"acct_{customer.pk}", country="US", **fields
    )
    return account


def test_nothing_provisioned(cast):
    billing = resolve_billing(cast.standalone)
    assert (billing.account, billing.inherited, billing.onboarding_status) == (
        None,
        False,
        OnboardingStatus.NONE,
    )


def test_a_customer_with_its_own_account(cast):
    account = give_account(
        cast.parent, details_submitted=True, charges_enabled=True, payouts_enabled=True
    )
    billing = resolve_billing(cast.parent)
    assert billing.account == account and not billing.inherited
    assert billing.onboarding_status == OnboardingStatus.COMPLETE


def test_a_child_inherits_its_parents_account(cast):
    account = give_account(
        cast.parent, details_submitted=True, charges_enabled=True, payouts_enabled=True
    )
    billing = resolve_billing(cast.child)
    assert billing.account == account
    assert billing.inherited
    assert billing.served_by == cast.parent
    # Its own status is none (nothing of its own); the serving account's is complete.
    assert billing.onboarding_status == OnboardingStatus.NONE
    assert billing.effective_status == OnboardingStatus.COMPLETE


def test_a_child_inherits_even_when_the_parent_has_nothing_yet(cast):
    billing = resolve_billing(cast.child)
    assert billing.inherited and billing.account is None


def test_a_child_with_its_own_account_uses_it(cast):
    give_account(cast.parent, details_submitted=True, charges_enabled=True, payouts_enabled=True)
    own = give_account(cast.child)
    billing = resolve_billing(cast.child)
    assert billing.account == own and not billing.inherited
    assert billing.onboarding_status == OnboardingStatus.PENDING
    # The sibling still inherits from the parent.
    assert resolve_billing(cast.sibling).served_by == cast.parent
