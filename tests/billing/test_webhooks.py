"""The Connect webhook endpoint: verification, storage, dedupe, processing, reprocessing."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from billing import webhooks
from billing.models import ConnectAccount, OnboardingStatus, WebhookEvent, WebhookEventStatus
from tests.billing.conftest import post_event, post_payload, sign


def emulator_events(stripe_client, type_: str, account: str) -> list[dict]:
    """Events the emulator generated on a connected account, newest first, as Stripe sends them."""
    events = stripe_client.v1.events.list(
        {"type": type_, "limit": 100}, {"stripe_account": account}
    ).data
    return [event.to_dict(recursive=True, for_json=True) for event in events]


@pytest.fixture
def client(webhook_secret):
    return Client()


def test_a_missing_signature_is_refused_and_nothing_stored(client, db):
    response = client.post(
        "/webhooks/stripe/", data=b'{"id": "evt_1", "type": "x"}', content_type="application/json"
    )
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_a_wrong_signature_is_refused_and_nothing_stored(client, db):
    payload = json.dumps({"id": "evt_1", "type": "account.updated", "created": 1}).encode()
    response = post_payload(client, payload, sign(payload, "whsec_someone_else"))
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_the_platform_endpoints_secret_is_accepted_too(client, db, settings):
    """Stripe signs platform events (application_fee.*) with the platform endpoint's secret."""
    settings.STRIPE_PLATFORM_WEBHOOK_SECRET = "whsec_platform_endpoint"
    payload = json.dumps({"id": "evt_fee", "type": "application_fee.refunded", "created": 1})
    response = post_payload(
        client, payload.encode(), sign(payload.encode(), "whsec_platform_endpoint")
    )
    assert response.status_code == 200
    assert WebhookEvent.objects.filter(stripe_id="evt_fee").exists()
    # Neither secret: refused.
    other = payload.replace("evt_fee", "evt_other").encode()
    response = post_payload(client, other, sign(other, "whsec_x"))
    assert response.status_code == 400


def test_a_tampered_body_is_refused(client, db):
    payload = json.dumps({"id": "evt_1", "type": "account.updated", "created": 1}).encode()
    header = sign(payload)
    response = post_payload(client, payload.replace(b"evt_1", b"evt_2"), header)
    assert response.status_code == 400


def test_an_old_signature_is_refused(client, db):
    payload = json.dumps({"id": "evt_1", "type": "account.updated", "created": 1}).encode()
    response = post_payload(client, payload, sign(payload, timestamp=1_000_000_000))
    assert response.status_code == 400


def test_get_is_not_allowed(client, db):
    assert client.get("/webhooks/stripe/").status_code == 405


def test_account_updated_refreshes_status_without_user_action(
    client, seller, emulated_stripe, stripe_client, django_capture_on_commit_callbacks
):
    emulated_stripe.complete_onboarding(seller.stripe_id, "restrict")
    [event, *_] = emulator_events(stripe_client, "account.updated", seller.stripe_id)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_event(client, event)
    assert response.status_code == 200
    stored = WebhookEvent.objects.get(stripe_id=event["id"])
    assert stored.status == WebhookEventStatus.PROCESSED
    assert stored.account == seller.stripe_id
    seller.refresh_from_db()
    assert seller.onboarding_status == OnboardingStatus.RESTRICTED


def test_a_duplicate_is_acknowledged_and_ignored(
    client, seller, stripe_client, django_capture_on_commit_callbacks
):
    [event, *_] = emulator_events(stripe_client, "account.updated", seller.stripe_id)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        post_event(client, event)
        second = post_event(client, event)
    assert second.status_code == 200
    assert second.json()["duplicate"] is True
    assert WebhookEvent.objects.filter(stripe_id=event["id"]).count() == 1
    assert len(callbacks) == 1


def test_an_older_event_delivered_late_does_not_roll_state_back(
    client, seller, emulated_stripe, stripe_client, django_capture_on_commit_callbacks
):
    emulated_stripe.complete_onboarding(seller.stripe_id, "restrict")
    emulated_stripe.complete_onboarding(seller.stripe_id, "complete")
    newest, older, *_ = emulator_events(stripe_client, "account.updated", seller.stripe_id)
    assert older["data"]["object"]["requirements"]["disabled_reason"] == "requirements.past_due"
    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, newest)
        post_event(client, older)
    seller.refresh_from_db()
    assert seller.onboarding_status == OnboardingStatus.COMPLETE


def test_unknown_event_types_are_stored_and_ignored(client, db, django_capture_on_commit_callbacks):
    event = {
        "id": "evt_unknown",
        "type": "radar.early_fraud_warning.created",
        "created": 1,
        "data": {"object": {}},
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert post_event(client, event).status_code == 200
    assert WebhookEvent.objects.get().status == WebhookEventStatus.IGNORED


def test_events_for_accounts_we_do_not_know_are_ignored_with_a_note(
    client, db, django_capture_on_commit_callbacks
):
    event = {
        "id": "evt_x",
        "type": "account.updated",
        "account": "acct_nobody",
        "created": 1,
        "data": {"object": {"id": "acct_nobody", "object": "account"}},
    }
    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, event)
    stored = WebhookEvent.objects.get()
    assert stored.status == WebhookEventStatus.IGNORED
    assert "acct_nobody" in stored.error


def test_a_processing_failure_is_stored_and_can_be_reprocessed(
    client, seller, emulated_stripe, stripe_client, django_capture_on_commit_callbacks
):
    emulated_stripe.complete_onboarding(seller.stripe_id, "restrict")
    [event, *_] = emulator_events(stripe_client, "account.updated", seller.stripe_id)
    emulated_stripe.inject_fault("500", count=3)
    with django_capture_on_commit_callbacks(execute=True):
        assert post_event(client, event).status_code == 200
    stored = WebhookEvent.objects.get(stripe_id=event["id"])
    assert stored.status == WebhookEventStatus.FAILED
    assert "Could not read the Stripe account" in stored.error
    seller.refresh_from_db()
    assert seller.onboarding_status == OnboardingStatus.COMPLETE  # unchanged

    emulated_stripe.control("DELETE", "faults")
    webhooks.process(stored)
    stored.refresh_from_db()
    assert stored.status == WebhookEventStatus.PROCESSED
    assert stored.attempts == 2
    assert ConnectAccount.objects.get().onboarding_status == OnboardingStatus.RESTRICTED


@pytest.mark.django_db(transaction=True)
def test_the_emulator_delivers_signed_events_end_to_end(
    cast, live_server, emulated_stripe, settings
):
    """The emulator posts real signed webhooks to our live server; the worker processes them."""
    from billing import onboarding
    from storefront import access

    settings.STRIPE_WEBHOOK_SECRET = "whsec_end_to_end"
    emulated_stripe.add_webhook_endpoint(f"{live_server.url}/webhooks/stripe/", "whsec_end_to_end")
    connect, _ = onboarding.provision(access.resolve(cast.parent_owner, cast.parent.pk))
    emulated_stripe.complete_onboarding(connect.stripe_id)
    emulated_stripe.flush_webhooks()
    connect.refresh_from_db()
    assert connect.onboarding_status == OnboardingStatus.COMPLETE
    assert WebhookEvent.objects.filter(
        type="account.updated", status=WebhookEventStatus.PROCESSED
    ).exists()
