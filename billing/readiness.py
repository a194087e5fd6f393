"""Billing's contribution to storefront readiness: the `billing_setup` check.

Stripe onboarding is required only when an agent behind one of the storefront's live
inventory sources advertises agent billing (`supported_billing` contains "agent"): then buyers
may ask the platform to clear payments, and it must be able to pay the seller. Otherwise billing
is `optional` (or `complete` once onboarding is done anyway). The billing that counts is the one
that serves the customer: its own, or its parent's when it inherits.
"""

from __future__ import annotations

from billing.models import OnboardingStatus
from billing.resolution import resolve_billing
from storefront.models import Storefront
from storefront.readiness import CheckResult, CheckStatus


def billing_setup(storefront: Storefront) -> CheckResult:
    resolved = resolve_billing(storefront.customer)
    effective = resolved.effective_status
    required = storefront.advertises_agent_billing()
    done = effective == OnboardingStatus.COMPLETE
    served_by = resolved.served_by
    whose = (
        f"{served_by.name}'s Stripe account (inherited)"
        if resolved.inherited and served_by is not None
        else "the Stripe account"
    )
    if done:
        status = CheckStatus.COMPLETE
        description = f"Payments and payouts are enabled on {whose}."
    elif not required:
        status = CheckStatus.OPTIONAL
        description = (
            "No inventory source advertises agent billing, so Stripe onboarding is optional."
        )
    elif effective == OnboardingStatus.NONE:
        status = CheckStatus.MISSING
        description = (
            "An inventory source advertises agent billing: connect a Stripe account and "
            "finish onboarding before going live."
        )
    elif effective == OnboardingStatus.RESTRICTED:
        status = CheckStatus.PARTIAL
        description = (
            f"An inventory source advertises agent billing, and Stripe has restricted {whose}. "
            "Resolve what Stripe asks for before going live."
        )
    else:
        status = CheckStatus.PARTIAL
        description = (
            f"An inventory source advertises agent billing: finish Stripe onboarding on {whose} "
            "before going live."
        )
    return CheckResult(
        id="billing_setup",
        name="Billing setup",
        description=description,
        category="billing",
        status=status,
        # A blocker exactly while agent billing is advertised and onboarding is not complete.
        is_blocker=required and not done,
        action_label="Finish billing setup" if not done else "View billing",
        # The billing setup page (another part of the app owns it); a literal path on purpose.
        action_url=f"/c/{storefront.customer_id}/billing/setup/",
        details={"onboardingStatus": effective.value, "inherited": resolved.inherited},
    )
