"""Stripe failing (500, 429, slow, dropped) surfaces as readable errors with nothing half-written."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing import gateway, onboarding
from billing.models import AccountCreation, BillingAccount, ConnectAccount
from billing.resolution import resolve_billing
from storefront import access


def provision_child(cast):
    return onboarding.provision(access.resolve(cast.parent_owner, cast.child.pk))


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("500", "Stripe had a problem on its side"),
        ("429", "Stripe is busy right now"),
        ("drop", "Stripe did not answer"),
    ],
)
def test_a_failed_provision_leaves_nothing_behind(
    cast, emulated_stripe, stripe_client, kind, message
):
    # More failures than the gateway's two retries.
    emulated_stripe.inject_fault(kind, count=3, path="/v1/accounts")
    with pytest.raises(gateway.StripeUnavailable) as excinfo:
        provision_child(cast)
    assert message in excinfo.value.message
    assert excinfo.value.message.startswith("Could not create the Stripe account")
    assert not BillingAccount.objects.exists()
    assert not ConnectAccount.objects.exists()
    # The child still inherits from its parent.
    assert resolve_billing(cast.child).inherited
    emulated_stripe.control("DELETE", "faults")
    assert stripe_client.v1.accounts.list().data == []


@pytest.mark.parametrize("kind", ["drop", "lost", "429_retry"])
def test_a_transient_failure_is_retried_and_succeeds_with_one_account(
    cast, emulated_stripe, stripe_client, kind
):
    # A dropped connection, a response lost after Stripe made the account, a lock timeout:
    # the SDK retries with the same idempotency key, so there is exactly one account.
    # (A 500 is not retried: Stripe saves it under the key and says a retry cannot help.)
    emulated_stripe.inject_fault(kind, count=1, path="/v1/accounts", method="POST")
    connect, created = provision_child(cast)
    assert created
    assert [a.id for a in stripe_client.v1.accounts.list().data] == [connect.stripe_id]


def test_a_slow_stripe_times_out_readably(cast, emulated_stripe, settings):
    settings.STRIPE_READ_TIMEOUT = 1
    emulated_stripe.inject_fault("slow", count=3, path="/v1/accounts", delay=2)
    with pytest.raises(gateway.StripeUnavailable, match="Stripe did not answer"):
        provision_child(cast)
    assert not ConnectAccount.objects.exists()


def test_a_failed_refresh_keeps_the_last_known_state(cast, emulated_stripe, client_as):
    connect, _ = provision_child(cast)
    emulated_stripe.complete_onboarding(connect.stripe_id)
    emulated_stripe.inject_fault("500", count=3)
    response = client_as(cast.parent_owner).get(f"/c/{cast.child.pk}/billing/return/", follow=True)
    assert response.status_code == 200
    assert "Showing the status we last knew" in response.content.decode()
    connect.refresh_from_db()
    assert connect.charges_enabled is False


def test_wrong_credentials_say_the_platform_must_fix_them(cast, emulated_stripe, settings):
    settings.STRIPE_SECRET_KEY = "pk_test_not_a_secret_key"
    with pytest.raises(gateway.StripeNotConfigured, match="platform team"):
        provision_child(cast)


def test_a_missing_key_says_stripe_is_not_configured(cast, emulated_stripe, settings):
    settings.STRIPE_SECRET_KEY = ""
    with pytest.raises(gateway.StripeNotConfigured, match="not configured"):
        provision_child(cast)


def test_stripe_link_failures_show_a_page_not_a_500(cast, emulated_stripe, client_as):
    provision_child(cast)
    url = onboarding.onboarding_url(
        access.resolve(cast.parent_owner, cast.child.pk), lambda p: p
    ).url
    emulated_stripe.inject_fault("500", count=3, path="/v1/account_links")
    response = client_as(cast.parent_owner).get(url)
    assert response.status_code == 503
    assert "Could not start Stripe onboarding" in response.content.decode()


def _stripe_accounts(stripe_client) -> list[str]:
    return [a.id for a in stripe_client.v1.accounts.list({"limit": 100}).data]


def test_a_lost_answer_says_it_could_not_confirm_and_the_retry_adopts_the_account(
    cast, emulated_stripe, stripe_client
):
    """Stripe made the account but every answer was lost: the message does not pretend
    nothing happened, and the next try finds that account instead of making another."""
    emulated_stripe.inject_fault("lost", count=3, path="/v1/accounts", method="POST")
    with pytest.raises(gateway.StripeUnavailable) as excinfo:
        provision_child(cast)
    assert "could not confirm" in excinfo.value.message
    assert "Nothing was changed" not in excinfo.value.message
    [made] = _stripe_accounts(stripe_client)
    assert not ConnectAccount.objects.exists()

    connect, created = provision_child(cast)
    assert (connect.stripe_id, created) == (made, True)
    assert _stripe_accounts(stripe_client) == [made]


def test_a_retry_after_stripe_forgot_the_key_still_finds_the_first_account(
    cast, emulated_stripe, stripe_client
):
    emulated_stripe.inject_fault("lost", count=3, path="/v1/accounts", method="POST")
    with pytest.raises(gateway.StripeUnavailable):
        provision_child(cast)
    emulated_stripe.advance(hours=25)  # Stripe keeps idempotency keys for 24 hours
    AccountCreation.objects.update(started_at=timezone.now() - timedelta(hours=25))
    connect, _ = provision_child(cast)
    assert _stripe_accounts(stripe_client) == [connect.stripe_id]


def test_a_saved_500_does_not_block_creating_the_account_for_a_day(
    cast, emulated_stripe, stripe_client
):
    """Stripe saves a 500 under its key and replays it for 24 hours; once the replay shows the
    first request finished and Stripe shows no account from it, the retry uses a new key."""
    emulated_stripe.inject_fault("500", count=1, path="/v1/accounts", method="POST")
    with pytest.raises(gateway.StripeUnavailable, match="could not confirm"):
        provision_child(cast)
    assert _stripe_accounts(stripe_client) == []
    connect, created = provision_child(cast)  # at once, not a day later
    assert created
    assert _stripe_accounts(stripe_client) == [connect.stripe_id]
    assert AccountCreation.objects.filter(abandoned=True).count() == 1


def test_a_saved_500_after_the_account_was_made_adopts_it(cast, emulated_stripe, stripe_client):
    emulated_stripe.inject_fault("500_after_write", count=1, path="/v1/accounts", method="POST")
    with pytest.raises(gateway.StripeUnavailable):
        provision_child(cast)
    [made] = _stripe_accounts(stripe_client)
    connect, _ = provision_child(cast)
    assert connect.stripe_id == made
    assert _stripe_accounts(stripe_client) == [made]


def test_a_retry_in_another_country_is_not_a_raw_idempotency_error(
    cast, emulated_stripe, stripe_client
):
    emulated_stripe.inject_fault("500", count=1, path="/v1/accounts", method="POST")
    who = access.resolve(cast.parent_owner, cast.child.pk)
    with pytest.raises(gateway.StripeUnavailable):
        onboarding.provision(who, country="US")
    connect, _ = onboarding.provision(who, country="GB")
    assert connect.country == "GB"
    assert _stripe_accounts(stripe_client) == [connect.stripe_id]


def test_no_creation_can_start_once_one_has_made_the_account(cast, emulated_stripe):
    """Two people retry at once: one finishes the creation while the other, going by what it
    read a moment before, gives up an attempt to start a new one. Checking for a made account
    and then opening a new attempt would race; the database refuses a new attempt while one
    has made the account, so the late retry is handed that one and adopts it (the chaos test
    once saw two accounts)."""
    connect, _ = provision_child(cast)
    [made] = AccountCreation.objects.all()
    with pytest.raises(IntegrityError), transaction.atomic():
        AccountCreation.objects.create(customer=cast.child, country="US")
    assert onboarding._open_attempt(cast.child, "US").stripe_id == connect.stripe_id
    as_read_before = AccountCreation(pk=made.pk, customer=made.customer, country="US")
    assert onboarding._start_over(as_read_before, "US")["id"] == connect.stripe_id
    assert AccountCreation.objects.get().stripe_id == connect.stripe_id  # never given up
