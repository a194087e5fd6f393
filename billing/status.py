"""Onboarding status, derived from our copy of the Connect account (docs/architecture.md).

- `complete`: charges and payouts enabled and nothing restricting the account;
- `restricted`: Stripe set a `disabled_reason` (including every `rejected.*`) or `past_due` is
  non-empty;
- `pending`: provisioned, not yet enabled;
- `none`: nothing provisioned (or the customer inherits its parent's billing).

Two refinements, because Stripe reports them as disabled but the seller has nothing wrong to
fix: a brand-new account that has not submitted its details yet (Stripe marks everything it
needs as past due from the start) and an account whose submitted details are being verified
(`requirements.pending_verification`) are `pending`. Rejections are always `restricted`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from billing.models import OnboardingStatus

if TYPE_CHECKING:
    from billing.models import ConnectAccount

# What each Stripe `disabled_reason` means for the seller, and what they can do about it.
DISABLED_REASONS = {
    "action_required.requested_capabilities": "Stripe needs more information to turn on payments.",
    "listed": "Stripe is reviewing this account against its watch lists.",
    "other": "Stripe has restricted this account. Check the Express dashboard for details.",
    "platform_paused": "The platform has paused this account.",
    "rejected.fraud": "Stripe rejected this account on suspicion of fraud.",
    "rejected.incomplete_verification": "Stripe rejected this account: verification was not completed in time.",
    "rejected.listed": "Stripe rejected this account: it appears on a prohibited persons or companies list.",
    "rejected.other": "Stripe rejected this account.",
    "rejected.platform_fraud": "The platform rejected this account on suspicion of fraud.",
    "rejected.platform_other": "The platform rejected this account.",
    "rejected.platform_terms_of_service": "The platform rejected this account for a terms of service violation.",
    "rejected.terms_of_service": "Stripe rejected this account for a terms of service violation.",
    "requirements.past_due": "Some required information is overdue; payments and payouts are paused until it is provided.",
    "requirements.pending_verification": "Stripe is verifying the information provided; this usually takes a few minutes to a few days.",
    "under_review": "Stripe is reviewing this account.",
}


def derive_onboarding_status(account: ConnectAccount | None) -> OnboardingStatus:
    if account is None:
        return OnboardingStatus.NONE
    if account.disabled_reason.startswith("rejected."):
        return OnboardingStatus.RESTRICTED
    if not account.details_submitted:
        return OnboardingStatus.PENDING
    if account.disabled_reason == "requirements.pending_verification" and not account.past_due:
        return OnboardingStatus.PENDING
    if account.disabled_reason or account.past_due:
        return OnboardingStatus.RESTRICTED
    if account.charges_enabled and account.payouts_enabled:
        return OnboardingStatus.COMPLETE
    return OnboardingStatus.PENDING


def is_rejected(account: ConnectAccount) -> bool:
    return account.disabled_reason.startswith("rejected.")


def explain(account: ConnectAccount | None) -> str:
    """One sentence a seller can act on, for the status badge."""
    status = derive_onboarding_status(account)
    if account is None or status == OnboardingStatus.NONE:
        return "No Stripe account is connected yet."
    if not account.details_submitted and not account.disabled_reason.startswith("rejected."):
        return "Onboarding isn’t finished yet: continue to give Stripe the details it still needs."
    if account.disabled_reason:
        return DISABLED_REASONS.get(
            account.disabled_reason, f"Stripe restricted this account ({account.disabled_reason})."
        )
    if account.past_due:
        return "Some required information is overdue; provide it to re-enable payments and payouts."
    if status == OnboardingStatus.COMPLETE:
        if account.currently_due:
            return "Active. Stripe will need more information soon."
        return "Active: payments and payouts are enabled."
    if not account.details_submitted:
        return "Onboarding isn’t finished yet: continue to give Stripe the details it still needs."
    if account.pending_verification and not account.currently_due:
        return "Stripe is verifying the details you submitted. Nothing to do for now."
    return "Stripe needs more information before payments and payouts can be enabled."


# Requirement keys as a seller would name them. Stripe lists fields ("individual.dob.day",
# "individual.dob.month", …); people think in things ("Date of birth"), once each.
_REQUIREMENT_LABELS = [
    ("external_account", "Bank account for payouts"),
    ("tos_acceptance", "Accept Stripe’s terms of service"),
    ("business_type", "Business type"),
    ("business_profile.mcc", "Business category"),
    ("business_profile.url", "Business website"),
    ("business_profile.product_description", "What you sell"),
    ("business_profile", "Business profile"),
    ("individual.dob", "Date of birth"),
    ("individual.address", "Home address"),
    ("individual.first_name", "Legal name"),
    ("individual.last_name", "Legal name"),
    ("individual.phone", "Phone number"),
    ("individual.email", "Email address"),
    ("individual.id_number", "Government ID number"),
    ("individual.ssn_last_4", "Government ID number"),
    ("individual.verification", "Identity document"),
    ("company.address", "Business address"),
    ("company.tax_id", "Tax ID"),
    ("company.name", "Legal business name"),
    ("company.phone", "Business phone"),
    ("company", "Company details"),
    ("representative", "Representative details"),
    ("owners", "Owners"),
    ("directors", "Directors"),
    ("executives", "Executives"),
    ("person_", "Details of a person on the account"),
]


def requirement_labels(keys: list[str]) -> list[str]:
    """["individual.dob.day", "individual.dob.month", "external_account"] →
    ["Date of birth", "Bank account for payouts"]: readable, in order, each once."""
    labels: list[str] = []
    for key in keys:
        label = next(
            (
                text
                for prefix, text in _REQUIREMENT_LABELS
                if key == prefix
                or key.startswith(prefix + ".")
                or (prefix.endswith("_") and key.startswith(prefix))
            ),
            key.replace("_", " ").replace(".", " › ").capitalize(),
        )
        if label not in labels:
            labels.append(label)
    return labels
