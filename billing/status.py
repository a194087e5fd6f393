"""Onboarding status: the rule that derives it, and the words that tell a seller about it.

The status is derived once, when a Stripe account object is applied to our mirror
(`ConnectAccount.apply_stripe_account`), and stored in the indexed `onboarding_status` column:
pages, API, admin filters and readiness all read that column.

- `complete`: charges and payouts enabled and nothing restricting the account;
- `restricted`: Stripe set a `disabled_reason` (including every `rejected.*`) or `past_due` is
  non-empty;
- `pending`: provisioned, not yet enabled;
- `none`: nothing provisioned (or the customer inherits its parent's billing).

Two refinements, because Stripe reports them as disabled but the seller has nothing wrong to
fix: a brand-new account that has not submitted its details yet (Stripe marks everything it
needs as past due from the start) and an account whose submitted details are being verified
(`requirements.pending_verification`) are `pending`. Rejections are always `restricted`.

This module imports no models at run time (the models import it), so the rule has one home.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from billing.models import ConnectAccount


class OnboardingStatus(models.TextChoices):
    NONE = "none", "Not set up"
    PENDING = "pending", "Onboarding pending"
    COMPLETE = "complete", "Complete"
    RESTRICTED = "restricted", "Restricted"


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
    """The rule, applied to a Connect account's fields (at write time: read the stored
    `ConnectAccount.onboarding_status` everywhere else)."""
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


# The words: one state at a time, as the setup page, the overview and the child list show it.


class OnboardingStep(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    DETAILS_DUE = "details_due", "Details due"
    VERIFYING = "verifying", "Stripe is verifying"
    COMPLETE = "complete", "Complete"
    RESTRICTED = "restricted", "Restricted"


_TONES = {
    OnboardingStep.NOT_STARTED: "off",
    OnboardingStep.DETAILS_DUE: "warn",
    OnboardingStep.VERIFYING: "warn",
    OnboardingStep.COMPLETE: "ok",
    OnboardingStep.RESTRICTED: "bad",
}

NOT_FINISHED = "Onboarding isn’t finished yet: continue to give Stripe the details it still needs."
VERIFYING = "Stripe is verifying the details you submitted. Nothing to do for now."


@dataclass(frozen=True)
class OnboardingState:
    """What a seller is told about onboarding: one state, each sentence once."""

    step: OnboardingStep
    summary: str  # what this state means, one sentence
    action: str = ""  # what to do about it ("" when nothing)
    due: list[str] = field(default_factory=list)  # what Stripe needs now, as people name it
    deadline: datetime | None = None  # by when `due` is needed
    later: list[str] = field(default_factory=list)  # what Stripe will need eventually
    needs_details: bool = False  # the onboarding form is where the seller provides `due`

    @property
    def label(self) -> str:
        return str(self.step.label)

    @property
    def tone(self) -> str:
        return _TONES[self.step]


def _restriction_reason(account: ConnectAccount) -> str:
    reason = account.disabled_reason or "requirements.past_due"  # restricted for past_due alone
    return DISABLED_REASONS.get(reason, f"Stripe restricted this account ({reason}).")


def _restriction_advice(account: ConnectAccount) -> str:
    reason = account.disabled_reason
    if reason.startswith("rejected."):
        return "This cannot be undone here: contact the platform’s support if you think it is a mistake."
    if reason in ("listed", "under_review"):
        return "Nothing to do unless Stripe asks for more; it will tell you by email."
    if reason == "platform_paused":
        return "Contact the platform’s support to find out why and how to resume."
    if account.currently_due or account.past_due:
        return "Provide the missing information to re-enable payments and payouts."
    return "Open the Stripe Express dashboard to see what Stripe needs."


def onboarding_state(account: ConnectAccount | None) -> OnboardingState:
    """The seller-facing state of `account`, from its stored status and requirements."""
    if account is None or account.onboarding_status == OnboardingStatus.NONE:
        return OnboardingState(OnboardingStep.NOT_STARTED, "No Stripe account is connected yet.")
    due = requirement_labels([*account.past_due, *account.currently_due])
    later = [
        label for label in requirement_labels(list(account.eventually_due)) if label not in due
    ]
    status = account.onboarding_status
    if status == OnboardingStatus.RESTRICTED:
        rejected = is_rejected(account)
        return OnboardingState(
            OnboardingStep.RESTRICTED,
            _restriction_reason(account),
            _restriction_advice(account),
            due=[] if rejected else due,
            deadline=None if rejected else account.current_deadline,
            needs_details=bool(due) and not rejected,
        )
    if status == OnboardingStatus.COMPLETE:
        if due:
            return OnboardingState(
                OnboardingStep.COMPLETE,
                "Active. Stripe will need more information soon.",
                "Provide it before the deadline to keep payments and payouts on.",
                due=due,
                deadline=account.current_deadline,
                later=later,
                needs_details=True,
            )
        return OnboardingState(
            OnboardingStep.COMPLETE, "Active: payments and payouts are enabled.", later=later
        )
    if account.details_submitted and not due:
        return OnboardingState(
            OnboardingStep.VERIFYING,
            VERIFYING,
            "This usually takes a few minutes to a few days; Stripe tells us when it is done.",
        )
    return OnboardingState(
        OnboardingStep.DETAILS_DUE,
        NOT_FINISHED
        if not account.details_submitted
        else "Stripe needs more information before payments and payouts can be enabled.",
        due=due,
        deadline=account.current_deadline,
        needs_details=True,
    )


def explain(account: ConnectAccount | None) -> str:
    """One sentence a seller can act on (the state's summary)."""
    return onboarding_state(account).summary


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
