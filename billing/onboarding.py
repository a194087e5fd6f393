"""Connect onboarding: provision the Express account once, hand out onboarding links and
account sessions, mint Express dashboard login links, refresh status and balance.

These operations span our models and Stripe, so they are plain functions here, not model methods.
Network calls never run inside a database transaction.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from billing import gateway, notifications

# Callers catch these as onboarding.BillingError / onboarding.NotProvisioned.
from billing.errors import BillingError
from billing.errors import NotProvisioned as NotProvisioned
from billing.models import (
    AccountCreation,
    BillingAccount,
    ConnectAccount,
    OnboardingLink,
    OnboardingStatus,
)
from billing.resolution import resolve_billing
from storefront.access import Acting
from storefront.models import Customer

logger = logging.getLogger(__name__)

ONBOARDING_URL_MAX_AGE = timedelta(hours=24)
_ONBOARDING_SALT = "billing.onboarding-url"
DEFAULT_COUNTRY = "US"

# Countries where Stripe supports Express accounts receiving payouts (Stripe's cross-border
# payouts list is wider; these are the self-serve ones).
SUPPORTED_COUNTRIES = {
    "AT": "Austria",
    "AU": "Australia",
    "BE": "Belgium",
    "BG": "Bulgaria",
    "CA": "Canada",
    "CH": "Switzerland",
    "CY": "Cyprus",
    "CZ": "Czech Republic",
    "DE": "Germany",
    "DK": "Denmark",
    "EE": "Estonia",
    "ES": "Spain",
    "FI": "Finland",
    "FR": "France",
    "GB": "United Kingdom",
    "GI": "Gibraltar",
    "GR": "Greece",
    "HK": "Hong Kong",
    "HR": "Croatia",
    "HU": "Hungary",
    "IE": "Ireland",
    "IT": "Italy",
    "JP": "Japan",
    "LI": "Liechtenstein",
    "LT": "Lithuania",
    "LU": "Luxembourg",
    "LV": "Latvia",
    "MT": "Malta",
    "MX": "Mexico",
    "NL": "Netherlands",
    "NO": "Norway",
    "NZ": "New Zealand",
    "PL": "Poland",
    "PT": "Portugal",
    "RO": "Romania",
    "SE": "Sweden",
    "SG": "Singapore",
    "SI": "Slovenia",
    "SK": "Slovakia",
    "TH": "Thailand",
    "US": "United States",
}

# Embedded components a page may ask an account session for.
EMBEDDED_COMPONENTS = {
    "account_onboarding",
    "account_management",
    "notification_banner",
    "balances",
    "payouts",
    "payouts_list",
    "documents",
}


class ProvisioningRefused(BillingError):
    pass


def _refuse_unless_allowed(acting: Acting) -> None:
    refusal = acting.provisioning_refusal()
    if refusal:
        raise ProvisioningRefused(refusal)


def normalize_country(country: str | None) -> str:
    code = (country or DEFAULT_COUNTRY).strip().upper()
    if code not in SUPPORTED_COUNTRIES:
        raise BillingError(
            f"{code!r} is not a country where Stripe Express accounts can receive payouts. "
            "Use a two-letter ISO code such as US, GB or DE.",
            field="country",
        )
    return code


def provision(acting: Acting, *, country: str | None = None) -> tuple[ConnectAccount, bool]:
    """The acting customer's own Connect account, created on first call. Returns (account, created).

    Exactly one Stripe account per billing account, ever: the create call carries an
    idempotency key derived from our billing account id, so retries, double clicks and
    concurrent requests all get the same Stripe account back, and the unique constraint on
    `ConnectAccount.billing_account` keeps one row.
    """
    _refuse_unless_allowed(acting)
    existing = ConnectAccount.objects.filter(billing_account__customer=acting.customer).first()
    if existing is not None:
        if country and normalize_country(country) != existing.country:
            raise BillingError(
                f"This Stripe account was created for {SUPPORTED_COUNTRIES.get(existing.country, existing.country)} "
                "and its country cannot be changed.",
                field="country",
            )
        return existing, False
    code = normalize_country(country)
    account = _create_or_find_stripe_account(acting, code)
    # Our billing rows are written only once Stripe has answered, together: a failed call
    # leaves nothing behind (a child keeps inheriting its parent's billing).
    try:
        with transaction.atomic():
            AccountCreation.objects.filter(
                customer=acting.customer, stripe_id="", abandoned=False
            ).update(stripe_id=account["id"])
            billing_account = BillingAccount.objects.open_for(
                acting.customer, opened_by=acting.user
            )
            connect, created = ConnectAccount.objects.get_or_create(
                billing_account=billing_account,
                defaults={"stripe_id": account["id"], "country": code},
            )
    except IntegrityError:
        # A concurrent request stored the same account first.
        connect, created = (
            ConnectAccount.objects.get(billing_account__customer=acting.customer),
            False,
        )
    if created:
        try:
            account = gateway.update_account(
                connect.stripe_id,
                email=acting.user.email,
                business_name=acting.customer.company or acting.customer.name,
            )
        except gateway.GatewayError as exc:
            # The account exists and is ours; prefill is a convenience the seller can do
            # without. Keep going rather than fail the whole setup.
            logger.warning("Could not prefill Stripe account %s: %s", connect.stripe_id, exc.detail)
        connect.apply_stripe_account(account)
        connect.save()
    return connect, created


# A create still running may not be listed yet: an open attempt younger than this is not
# given up on (its key is reused, so Stripe answers it once).
CREATION_SETTLES_AFTER = timedelta(minutes=2)


def _create_or_find_stripe_account(acting: Acting, country: str) -> dict[str, Any]:
    """Create the customer's Express account, or find the one an earlier try made.

    Only deterministic parameters go into the idempotent create, so two admins racing with
    different emails still get the same account; what we know about the seller is prefilled
    right after, before any onboarding link or session exists. An attempt is given up (and a
    new key used) only once its request has surely finished without making an account:
    Stripe replays its saved failure, refuses the key for other parameters, or the attempt is
    older than any request can run; never while its request may still be running.
    """
    customer = acting.customer
    metadata = {"customer_id": str(customer.pk)}
    if made := _made_account_id(customer):
        # Stripe made it and we noted so, but our billing rows are gone: it is still ours.
        return gateway.retrieve_account(made)
    attempt = AccountCreation.objects.filter(
        customer=customer, stripe_id="", abandoned=False
    ).first()
    if attempt is not None:
        # An earlier try never heard back: did Stripe make the account anyway?
        if found := _find_made_by(attempt, metadata):
            return found
        if timezone.now() - attempt.started_at > CREATION_SETTLES_AFTER:
            restarted = _start_over(attempt, country)
            if isinstance(restarted, dict):
                return restarted
            attempt = restarted
    if attempt is None:
        attempt = _open_attempt(customer, country)
        if attempt.stripe_id:
            return gateway.retrieve_account(attempt.stripe_id)
    try:
        for _ in range(3):
            try:
                # The seller's country now: under an attempt made for another country, Stripe
                # refuses the key (idempotency_error) once that request has finished.
                return gateway.create_express_account(
                    idempotency_key=attempt.idempotency_key, country=country, metadata=metadata
                )
            except (gateway.StripeUnavailable, gateway.StripeRejected) as exc:
                finished = exc.code in (gateway.REPLAYED_FAILURE, "idempotency_error")
                if not finished:
                    raise
                # Finished, so one more look tells for sure whether it made the account.
                if found := _find_made_by(attempt, metadata):
                    return found
                restarted = _start_over(attempt, country)
                if isinstance(restarted, dict):
                    return restarted
                attempt = restarted
        raise gateway.StripeUnavailable(
            "Could not create the Stripe account: Stripe kept failing. Try again in a minute."
        )
    except gateway.StripeUnavailable as exc:
        # The attempt stays open: the next try looks for what it may have made.
        raise gateway.StripeUnavailable(
            "Could not create the Stripe account: we could not confirm with Stripe whether it "
            f"was created ({_why(exc)}). Try again in a minute: if Stripe made it, we will "
            "pick it up, and you will never get a second one.",
            detail=exc.detail,
            code=exc.code,
        ) from exc
    except gateway.StripeRejected as exc:
        if exc.code == "idempotency_key_in_use":
            raise gateway.StripeUnavailable(
                "Your Stripe account is being created right now (by another click or another "
                "person). Try again in a moment.",
                detail=exc.detail,
                code=exc.code,
            ) from exc
        # Stripe refused it as asked: nothing was made.
        AccountCreation.objects.filter(pk=attempt.pk, stripe_id="").update(abandoned=True)
        raise


def _made_account_id(customer: Any) -> str:
    """The Stripe account an attempt for this customer is known to have made, if any."""
    made = (
        AccountCreation.objects.filter(customer=customer)
        .exclude(stripe_id="")
        .order_by("-started_at")
        .values_list("stripe_id", flat=True)
        .first()
    )
    return made or ""


def _find_made_by(attempt: AccountCreation, metadata: dict[str, str]) -> dict[str, Any] | None:
    return gateway.find_connected_account(
        metadata=metadata,
        created_since=int((attempt.started_at - CREATION_SETTLES_AFTER).timestamp()),
    )


def _start_over(attempt: AccountCreation, country: str) -> AccountCreation | dict[str, Any]:
    """Give up an attempt that surely made nothing and open a new one (shared with anyone
    starting over at the same moment); or, if another request meanwhile made the account,
    that account."""
    AccountCreation.objects.filter(pk=attempt.pk, stripe_id="").update(abandoned=True)
    fresh = _open_attempt(attempt.customer, country)
    if fresh.stripe_id:
        return gateway.retrieve_account(fresh.stripe_id)
    return fresh


def _open_attempt(customer: Customer, country: str) -> AccountCreation:
    try:
        with transaction.atomic():
            return AccountCreation.objects.create(customer=customer, country=country)
    except IntegrityError:
        # A concurrent request opened one first (share its key, so Stripe makes one account),
        # or one has already made the account (the caller adopts it). The constraint decides,
        # so no check-then-insert race can start a second creation.
        return AccountCreation.objects.get(customer=customer, abandoned=False)


def _why(exc: gateway.GatewayError) -> str:
    """ "Stripe did not answer" from "Could not …: Stripe did not answer, so …"."""
    reason = exc.message.split(": ", 1)[-1]
    return reason.split(",")[0].split(".")[0]


def own_connect_account(acting: Acting) -> ConnectAccount:
    """The acting customer's own Stripe account; NotProvisioned says why there is none."""
    return resolve_billing(acting.customer).require_own_connect()


# Onboarding links: our own signed URL (valid 24 h) that mints a fresh Stripe link on click.
#
# The link is the seller's credential, so it works without a dashboard login (a seller
# onboarded through the API may have none): it is bound to one connected account, expires
# after 24 hours, is revoked by the next link issued for that account, and stops working
# once onboarding is complete.


@dataclass(frozen=True)
class OnboardingUrl:
    url: str
    expires_at: datetime


def onboarding_url(acting: Acting, absolute: Callable[[str], str]) -> OnboardingUrl:
    """A new signed onboarding URL for the acting customer's account; older ones stop working.

    Stripe's account links live about five minutes and work once, while our API promises
    24 hours: so we hand out a URL to our own endpoint, which mints a fresh Stripe link each
    time it is opened. `absolute` turns a path into an absolute URL.
    """
    _refuse_unless_allowed(acting)
    connect = own_connect_account(acting)
    link_id = secrets.token_urlsafe(12)
    OnboardingLink.objects.update_or_create(
        connect_account=connect, defaults={"link_id": link_id, "issued_at": timezone.now()}
    )
    token = signing.dumps({"connect": connect.pk, "link": link_id}, salt=_ONBOARDING_SALT)
    path = reverse("billing:onboarding_link", kwargs={"token": token})
    return OnboardingUrl(url=absolute(path), expires_at=timezone.now() + ONBOARDING_URL_MAX_AGE)


class OnboardingLinkInvalid(BillingError):
    pass


class OnboardingLinkExpired(BillingError):
    pass


class OnboardingLinkRevoked(BillingError):
    pass


class OnboardingLinkUsedUp(BillingError):
    pass


def _signed_account(token: str) -> tuple[ConnectAccount, str]:
    try:
        data = signing.loads(token, salt=_ONBOARDING_SALT, max_age=ONBOARDING_URL_MAX_AGE)
    except signing.SignatureExpired:
        raise OnboardingLinkExpired(
            "This onboarding link is more than 24 hours old. Ask for a new one "
            "(GET /billing/onboard, or billing setup in the dashboard)."
        ) from None
    except signing.BadSignature:
        raise OnboardingLinkInvalid("This onboarding link is not valid.") from None
    connect_id = data.get("connect") if isinstance(data, dict) else None
    connect = (
        ConnectAccount.objects.select_related("billing_account__customer")
        .filter(pk=connect_id)
        .first()
        if isinstance(connect_id, int)
        else None
    )
    if connect is None:
        raise OnboardingLinkInvalid("This onboarding link is not valid.")
    return connect, str(data.get("link", ""))


def connect_account_from_token(token: str) -> ConnectAccount:
    """The account an onboarding link may continue, or why it may not: expired, tampered,
    replaced by a newer link, or onboarding already complete."""
    connect, link_id = _signed_account(token)
    newest = OnboardingLink.objects.filter(connect_account=connect).first()
    if not link_id or newest is None or link_id != newest.link_id:
        raise OnboardingLinkRevoked(
            "A newer onboarding link was issued for this account, so this one no longer "
            "works. Use the newest link."
        )
    if connect.onboarding_status == OnboardingStatus.COMPLETE:
        raise OnboardingLinkUsedUp(
            "Onboarding of this Stripe account is complete, so this link no longer works."
        )
    return connect


def connect_account_returning(token: str) -> ConnectAccount:
    """The account a seller comes back to from Stripe's hosted onboarding: any unexpired link
    for it (by then the link may be used up or replaced; coming back only re-reads status)."""
    return _signed_account(token)[0]


def mint_link_for(connect: ConnectAccount, *, refresh_url: str, return_url: str) -> str:
    """A fresh Stripe-hosted onboarding link for the account an onboarding link names."""
    link = gateway.create_account_link(
        connect.stripe_id, refresh_url=refresh_url, return_url=return_url
    )
    return str(link["url"])


def mint_account_link(acting: Acting, *, refresh_url: str, return_url: str) -> str:
    """A fresh Stripe-hosted onboarding link for the acting customer's own account."""
    _refuse_unless_allowed(acting)
    connect = own_connect_account(acting)
    link = gateway.create_account_link(
        connect.stripe_id, refresh_url=refresh_url, return_url=return_url
    )
    return str(link["url"])


def account_session_secret(acting: Acting, components: list[str]) -> str:
    """A fresh account session's client secret, enabling only `components`. Never stored."""
    _refuse_unless_allowed(acting)
    unknown = sorted(set(components) - EMBEDDED_COMPONENTS)
    if unknown or not components:
        raise BillingError(
            f"Unknown embedded components: {', '.join(unknown) or '(none given)'}.",
            field="components",
        )
    connect = own_connect_account(acting)
    session = gateway.create_account_session(connect.stripe_id, sorted(set(components)))
    return str(session["client_secret"])


def express_dashboard_url(acting: Acting) -> str:
    """A single-use login link to the Express dashboard, minted now (on click).

    Same rule as onboarding: the dashboard changes bank details, so child users and members
    may not open it.
    """
    _refuse_unless_allowed(acting)
    connect = own_connect_account(acting)
    if not connect.details_submitted:
        raise BillingError(
            "The Stripe Express dashboard opens once onboarding is finished. Continue onboarding first."
        )
    return gateway.create_login_link(connect.stripe_id)


def refresh(connect: ConnectAccount) -> ConnectAccount:
    """Re-read the account and its balance from Stripe and store them."""
    account = gateway.retrieve_account(connect.stripe_id)
    balance = gateway.retrieve_balance(connect.stripe_id)
    with transaction.atomic():
        # Compare with the stored row (locked), not this instance: it may be older.
        stored = ConnectAccount.objects.select_for_update().get(pk=connect.pk)
        before = notifications.AccountState.of(stored)
        connect.apply_stripe_account(account)
        connect.apply_stripe_balance(balance)
        connect.save()
        notifications.account_changed(connect, before)
    return connect
