"""Telling sellers when something on their Stripe account needs them.

The mirror calls in here where it applies a change from Stripe: a payout stored as failed, a
dispute stored as open, an account whose requirements or restriction changed. Each occurrence
has a key (the payout's id, the dispute's id, the account and what became due), and a notice
is written at most once per user and key, so a webhook delivered twice, an event reprocessed
from admin or a reconciliation that finds the same state tells nobody twice.

Who is told: the ADMIN users of the customer whose Stripe account it is, and of its parent
(who manage a child's billing). Each gets an in-app notice; those who have not turned emails
off also get an email, sent by a background task once the notice is committed.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from billing.models import (
    ConnectAccount,
    Dispute,
    Notification,
    NotificationKind,
    OnboardingStatus,
    Payout,
)
from billing.money import format_money
from billing.payout_failures import PAYOUT_FAILURES
from billing.status import DISABLED_REASONS, derive_onboarding_status, requirement_labels
from storefront.models import Customer, Role, User

logger = logging.getLogger(__name__)

# A backfill of an account's history (billing_sync) finds old failures too: those are news to
# nobody, so only what happened within this window is told.
NEWS_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class AccountState:
    """What of an account's state notices compare, before and after a refresh."""

    status: OnboardingStatus
    due: frozenset[str]

    @classmethod
    def of(cls, connect: ConnectAccount) -> AccountState:
        return cls(
            status=derive_onboarding_status(connect),
            due=frozenset(connect.currently_due) | frozenset(connect.past_due),
        )


def recipients(customer: Customer) -> QuerySet[User]:
    """The ADMIN users of the customer and of its parent, active ones only."""
    owners = Q(memberships__customer=customer)
    if customer.parent_id:
        owners |= Q(memberships__customer_id=customer.parent_id)
    return (
        User.objects.filter(owners, memberships__role=Role.ADMIN, is_active=True)
        .distinct()
        .order_by("pk")
    )


def _tell(
    connect: ConnectAccount,
    *,
    kind: NotificationKind,
    key: str,
    title: str,
    body: str,
    link: str,
) -> list[Notification]:
    """Write the notice for every recipient who does not have it yet; email them after commit."""
    customer = connect.billing_account.customer
    made: list[Notification] = []
    for user in recipients(customer):
        try:
            with transaction.atomic():
                notice = Notification.objects.create(
                    user=user,
                    customer=customer,
                    kind=kind,
                    key=key,
                    title=title,
                    body=body,
                    link=link,
                )
        except IntegrityError:
            continue  # told already: this occurrence was seen before
        made.append(notice)
        if user.email_notices:
            transaction.on_commit(partial(_enqueue_email, notice.pk))
    return made


def _enqueue_email(notification_pk: int) -> None:
    email_notification.enqueue(notification_pk)


@task()
def email_notification(notification_pk: int) -> bool:
    """Email one notice to its user, from a worker (queued after the notice's commit)."""
    return send_email(notification_pk)


def send_email(notification_pk: int) -> bool:
    """Email one notice (once: `emailed_at` is claimed first); True if it was sent."""
    claimed = Notification.objects.filter(pk=notification_pk, emailed_at__isnull=True).update(
        emailed_at=timezone.now()
    )
    if not claimed:
        return False
    notice = Notification.objects.select_related("user", "customer").get(pk=notification_pk)
    if not notice.user.email_notices or not notice.user.is_active:
        return False
    url = settings.SITE_URL.rstrip("/") + notice.link
    settings_url = settings.SITE_URL.rstrip("/") + reverse(
        "billing:notices", kwargs={"customer_id": notice.customer_id}
    )
    text = (
        f"{notice.body}\n\nSee {url}\n\n"
        f"— Storefront Billing, about {notice.customer.name}.\n"
        f"Turn these emails off on {settings_url}"
    )
    try:
        send_mail(
            f"{notice.title} · {notice.customer.name}",
            text,
            settings.DEFAULT_FROM_EMAIL,
            [notice.user.email],
        )
    except Exception:
        # Give the claim back so a later attempt can send it; the in-app notice stands.
        Notification.objects.filter(pk=notification_pk).update(emailed_at=None)
        raise
    return True


def _recent(moment: datetime | None) -> bool:
    return moment is None or moment >= timezone.now() - NEWS_WINDOW


def _customer_path(connect: ConnectAccount, name: str, **kwargs: str) -> str:
    return reverse(name, kwargs={"customer_id": connect.billing_account.customer_id, **kwargs})


# What the mirror reports


def payout_stored(connect: ConnectAccount, payout: Payout) -> list[Notification]:
    """A payout as now stored: a failed one is told once."""
    if payout.status != "failed" or not _recent(payout.created):
        return []
    amount = format_money(payout.amount, payout.currency)
    why = PAYOUT_FAILURES.get(payout.failure_code) or payout.failure_message or ""
    return _tell(
        connect,
        kind=NotificationKind.PAYOUT_FAILED,
        key=f"payout-failed:{payout.stripe_id}",
        title=f"Payout of {amount} failed",
        body=(
            f"The payout of {amount} to your bank failed and the money came back to your "
            f"Stripe balance. {why}".strip()
        ),
        link=_customer_path(connect, "billing:payout_detail", payout_id=payout.stripe_id),
    )


def dispute_stored(connect: ConnectAccount, dispute: Dispute) -> list[Notification]:
    """A dispute as now stored: one waiting for the seller's evidence is told once."""
    if not dispute.needs_response or not _recent(dispute.created):
        return []
    if dispute.evidence_due_by and dispute.evidence_due_by < timezone.now():
        return []
    amount = format_money(dispute.amount, dispute.currency)
    due = (
        f" Submit evidence by {dispute.evidence_due_by:%-d %B %Y, %H:%M} UTC in the Stripe "
        "Express dashboard, or the buyer's bank decides without it."
        if dispute.evidence_due_by
        else ""
    )
    reason = dispute.reason.replace("_", " ") or "no reason given"
    return _tell(
        connect,
        kind=NotificationKind.DISPUTE_OPENED,
        key=f"dispute-opened:{dispute.stripe_id}",
        title=f"A buyer disputed {amount}",
        body=f"A buyer's bank opened a dispute of {amount} ({reason}).{due}",
        link=_customer_path(connect, "overview"),
    )


def account_changed(connect: ConnectAccount, before: AccountState) -> list[Notification]:
    """An account after a refresh, against what it was: a new restriction, or else newly due
    details (with their deadline), each told once."""
    after = AccountState.of(connect)
    setup = _customer_path(connect, "billing:setup")
    labels = ", ".join(requirement_labels(sorted(after.due)))
    if after.status == OnboardingStatus.RESTRICTED and before.status != OnboardingStatus.RESTRICTED:
        why = DISABLED_REASONS.get(connect.disabled_reason) or (
            "Some required information is overdue." if connect.past_due else ""
        )
        what = f" Stripe asks for: {labels}." if labels else ""
        # Each restriction is its own occurrence: one that is lifted and comes back is news again.
        episode = (
            Notification.objects.filter(
                customer=connect.billing_account.customer,
                kind=NotificationKind.ACCOUNT_RESTRICTED,
            )
            .values("key")
            .distinct()
            .count()
        )
        return _tell(
            connect,
            kind=NotificationKind.ACCOUNT_RESTRICTED,
            key=(
                f"account-restricted:{connect.stripe_id}:"
                f"{connect.disabled_reason or 'past_due'}:{episode + 1}"
            ),
            title="Stripe restricted your account",
            body=f"{why}{what} Payments or payouts stay paused until this is fixed.".strip(),
            link=setup,
        )
    # Before the first submission the setup page asks for these anyway; afterwards Stripe
    # asking for more is news.
    if after.due - before.due and connect.details_submitted:
        deadline = connect.current_deadline
        when = (
            f" by {deadline:%-d %B %Y, %H:%M} UTC to keep payments and payouts on"
            if deadline
            else " to keep payments and payouts on"
        )
        fingerprint = hashlib.sha256(",".join(sorted(after.due)).encode()).hexdigest()[:16]
        return _tell(
            connect,
            kind=NotificationKind.REQUIREMENTS_DUE,
            key=(
                f"requirements-due:{connect.stripe_id}:"
                f"{int(deadline.timestamp()) if deadline else 0}:{fingerprint}"
            ),
            title="Stripe needs more details" + (f" by {deadline:%-d %B}" if deadline else ""),
            body=f"Stripe asks for: {labels}. Provide them{when}.",
            link=setup,
        )
    return []


# What a user sees


def for_user(user: User, customer: Customer) -> QuerySet[Notification]:
    """The notices addressed to `user` about `customer` (and, for a parent, its children)."""
    scope = Q(customer=customer)
    if not customer.parent_id:
        scope |= Q(customer__parent=customer)
    return Notification.objects.filter(scope, user=user).select_related("customer")


UNREAD_CACHE_SECONDS = 600
_UNREAD_GENERATION = "billing:notices-unread-generation"


def unread_count(user: User, customer: Customer) -> int:
    """How many of `for_user`'s notices are unread, cached per user and customer (the header's
    bell, on every page). Any saved or deleted notice or customer, and marking read, starts a
    new generation (now and again after its transaction commits), so no count outlives a
    change; the timeout only bounds what a missed change (a bulk update) could leave behind."""
    generation = cache.get(_UNREAD_GENERATION)
    if generation is None:
        generation = _new_unread_generation()
    key = f"billing:notices-unread:{generation}:{user.pk}:{customer.pk}"
    count = cache.get(key)
    if count is None:
        count = for_user(user, customer).filter(read_at__isnull=True).count()
        cache.set(key, count, UNREAD_CACHE_SECONDS)
    return int(count)


def forget_unread_counts(**_: Any) -> None:
    """Drop every cached unread count (a signal receiver for notices and customers, and
    called after marking read): now, for this transaction's own reads, and again once it
    commits, for a count another process read in between from the data before the change."""
    _new_unread_generation()
    transaction.on_commit(_new_unread_generation)


def _new_unread_generation() -> int:
    # Unique per call (never an increment another process could repeat).
    generation = time.time_ns()
    cache.set(_UNREAD_GENERATION, generation, None)
    return generation
