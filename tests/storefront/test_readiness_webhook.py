"""Readiness follows Stripe: an `account.updated` webhook flips `billing_setup`, no refresh."""

from __future__ import annotations

import pytest
from django.test import Client

from billing import onboarding
from billing.models import WebhookEvent, WebhookEventStatus
from storefront import access
from storefront.models import ApiKey, InventorySource, Storefront
from tests.billing.conftest import WEBHOOK_SECRET, post_event


@pytest.fixture
def pending_seller(cast, emulated_stripe, settings):
    """Northwind Media: provisioned, onboarding not finished, a source advertising agent billing."""
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    connect, _ = onboarding.provision(access.resolve(cast.parent_owner, cast.parent.pk))
    storefront = Storefront.objects.for_customer(cast.parent)
    storefront.set_default_currency("USD")
    InventorySource.create_for(
        storefront,
        name="CTV agent",
        endpoint_url="https://ctv.example.com/mcp",
        authentication_type="NO_AUTH",
        supported_billing=["operator", "agent"],
    )
    return connect


def latest_account_event(stripe_client, account: str) -> dict:
    events = stripe_client.v1.events.list(
        {"type": "account.updated", "limit": 1}, {"stripe_account": account}
    ).data
    return events[0].to_dict(recursive=True, for_json=True)


def billing_check(customer):
    result = Storefront.objects.for_customer(customer).readiness()
    return result, next(c for c in result.checks if c.id == "billing_setup")


def test_finishing_onboarding_unblocks_readiness_through_the_webhook(
    cast, pending_seller, emulated_stripe, stripe_client, django_capture_on_commit_callbacks
):
    result, check = billing_check(cast.parent)
    assert (result.status, check.status, check.is_blocker) == ("blocked", "partial", True)

    emulated_stripe.complete_onboarding(pending_seller.stripe_id)
    # Nothing has told us yet: our copy still says pending.
    assert billing_check(cast.parent)[0].status == "blocked"

    event = latest_account_event(stripe_client, pending_seller.stripe_id)
    with django_capture_on_commit_callbacks(execute=True):
        assert post_event(Client(), event).status_code == 200
    assert WebhookEvent.objects.get(stripe_id=event["id"]).status == WebhookEventStatus.PROCESSED

    result, check = billing_check(cast.parent)
    assert (result.status, check.status, check.is_blocker) == ("ready", "complete", False)
    # The API sees the same thing, and activation now goes through.
    raw = ApiKey.issue(
        user=cast.parent_owner,
        customer=cast.parent,
        name="k",
        scopes=["storefront:read", "storefront:write"],
    )[1]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert (
        Client().get("/api/v2/storefront/readiness", **headers).json()["data"]["status"] == "ready"
    )
    response = Client().put(
        "/api/v2/storefront", {"status": "ACTIVE"}, content_type="application/json", **headers
    )
    assert response.status_code == 200
    assert response.json()["data"]["status"] == "ACTIVE"


def test_a_child_inheriting_the_account_flips_with_its_parent(
    cast, pending_seller, emulated_stripe, stripe_client, django_capture_on_commit_callbacks
):
    InventorySource.create_for(
        Storefront.objects.for_customer(cast.child),
        name="Sports agent",
        endpoint_url="https://sports.example.com/mcp",
        authentication_type="NO_AUTH",
        supported_billing=["agent"],
    )
    Storefront.objects.for_customer(cast.child).set_default_currency("USD")
    assert billing_check(cast.child)[1].is_blocker

    emulated_stripe.complete_onboarding(pending_seller.stripe_id)
    with django_capture_on_commit_callbacks(execute=True):
        post_event(Client(), latest_account_event(stripe_client, pending_seller.stripe_id))

    result, check = billing_check(cast.child)
    assert (result.status, check.status) == ("ready", "complete")
    assert "Northwind Media" in check.description


def test_a_restriction_arriving_by_webhook_blocks_again(
    cast, pending_seller, emulated_stripe, stripe_client, django_capture_on_commit_callbacks
):
    emulated_stripe.complete_onboarding(pending_seller.stripe_id)
    onboarding.refresh(pending_seller)
    assert billing_check(cast.parent)[0].status == "ready"

    emulated_stripe.complete_onboarding(pending_seller.stripe_id, "restrict")
    with django_capture_on_commit_callbacks(execute=True):
        post_event(Client(), latest_account_event(stripe_client, pending_seller.stripe_id))
    result, check = billing_check(cast.parent)
    assert (result.status, check.status, check.is_blocker) == ("blocked", "partial", True)
