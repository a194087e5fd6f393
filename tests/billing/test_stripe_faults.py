"""Stripe failing (500, 429, slow, dropped) surfaces as readable errors with nothing half-written."""

from __future__ import annotations

import pytest

from billing import gateway, onboarding
from billing.models import BillingAccount, ConnectAccount
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
