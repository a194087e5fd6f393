"""Signed webhook delivery: signatures verify with the SDK, retries, duplicates, reordering."""

from __future__ import annotations

import json

import pytest
import stripe

from tests.local_http import QuietHandler, serve_in_background
from tests.stripe_emulator.helpers import express_account, onboarded_account, paid_invoice

SECRET = "whsec_test_secret"


class Receiver:
    """A tiny HTTP endpoint recording what it gets; can fail the first N requests."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, str]] = []
        self.fail_first = 0
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.fail_first > 0:
                    receiver.fail_first -= 1
                    self.send_response(500)
                else:
                    receiver.received.append((body, self.headers["Stripe-Signature"]))
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd, base_url = serve_in_background(Handler)
        self.url = f"{base_url}/webhooks/stripe/"

    def events(self) -> list[stripe.Event]:
        return [stripe.Webhook.construct_event(body, sig, SECRET) for body, sig in self.received]


@pytest.fixture
def receiver(stripe_emulator):
    receiver = Receiver()
    # Background delivery off: each test flushes explicitly, so results are deterministic.
    stripe_emulator.webhook_settings(paused=True)
    stripe_emulator.add_webhook_endpoint(receiver.url, SECRET)
    yield receiver
    receiver.httpd.shutdown()


def test_connect_events_arrive_signed_with_account_set(stripe_client, stripe_emulator, receiver):
    account = express_account(stripe_client)
    stripe_emulator.complete_onboarding(account.id)
    result = stripe_emulator.flush_webhooks()
    assert result["failed"] == 0
    events = receiver.events()
    # Onboarding adds the seller's bank account, then enables the account.
    assert {e.type for e in events} == {
        "account.external_account.created",
        "account.updated",
        "capability.updated",
    }
    updated = next(e for e in events if e.type == "account.updated")
    assert updated.account == account.id
    assert isinstance(updated.data.object, stripe.Account)
    assert updated.data.object.charges_enabled is True
    assert updated.data.previous_attributes["charges_enabled"] is False


def test_tampered_payload_fails_verification(stripe_client, stripe_emulator, receiver):
    express_account(stripe_client)
    stripe_client.v1.customers.create({"email": "a@example.com"})
    stripe_emulator.flush_webhooks()
    body, signature = receiver.received[0]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body.replace(b"a@example", b"b@example"), signature, SECRET)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, signature, "whsec_other")


def test_money_events_are_delivered(stripe_client, stripe_emulator, receiver):
    account = onboarded_account(stripe_client, stripe_emulator)
    paid_invoice(stripe_client, account.id)
    stripe_emulator.advance(days=5)
    stripe_emulator.flush_webhooks()
    types = {e.type for e in receiver.events()}
    for expected in (
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.updated",
        "invoiceitem.created",
        "charge.succeeded",
        "application_fee.created",
        "balance.available",
        "payout.created",
        "payout.updated",
        "payout.paid",
        "payout.reconciliation_completed",
    ):
        assert expected in types, expected
    fee_event = next(e for e in receiver.events() if e.type == "application_fee.created")
    assert fee_event.account is None  # a platform event


def test_failed_deliveries_are_retried_with_backoff(stripe_client, stripe_emulator, receiver):
    receiver.fail_first = 2
    stripe_client.v1.customers.create({"email": "a@example.com"})
    assert stripe_emulator.flush_webhooks()["failed"] == 1
    pending = stripe_emulator.control("GET", "webhooks/deliveries")["pending"]
    assert pending[0]["attempts"] == 1
    assert stripe_emulator.flush_webhooks()["failed"] == 1
    assert stripe_emulator.flush_webhooks()["delivered"] == 1
    assert [e.type for e in receiver.events()] == ["customer.created"]
    log = stripe_emulator.control("GET", "webhooks/deliveries")["log"]
    assert [entry["status"] for entry in log] == [500, 500, 200]


def test_background_delivery_retries_by_itself(stripe_client, stripe_emulator, receiver):
    import time

    receiver.fail_first = 1
    stripe_emulator.webhook_settings(paused=False, backoff_seconds=0.1)
    stripe_client.v1.customers.create({"email": "a@example.com"})
    deadline = time.monotonic() + 5
    while not receiver.received and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [e.type for e in receiver.events()] == ["customer.created"]


def test_deliveries_give_up_after_max_attempts(stripe_client, stripe_emulator, receiver):
    receiver.fail_first = 10
    stripe_emulator.webhook_settings(max_attempts=2)
    stripe_client.v1.customers.create({"email": "a@example.com"})
    stripe_emulator.flush_webhooks()
    stripe_emulator.flush_webhooks()
    assert stripe_emulator.control("GET", "webhooks/deliveries")["pending"] == []


def test_duplicate_flag_delivers_each_event_twice(stripe_client, stripe_emulator, receiver):
    stripe_emulator.webhook_settings(duplicate=True)
    stripe_client.v1.customers.create({"email": "a@example.com"})
    stripe_emulator.flush_webhooks()
    ids = [e.id for e in receiver.events()]
    assert len(ids) == 2 and ids[0] == ids[1]


def test_reorder_flag_delivers_newest_first(stripe_client, stripe_emulator, receiver):
    stripe_emulator.webhook_settings(reorder=True)
    first = stripe_client.v1.customers.create({"email": "a@example.com"})
    stripe_client.v1.customers.update(first.id, {"name": "Later"})
    stripe_emulator.flush_webhooks()
    assert [e.type for e in receiver.events()] == ["customer.updated", "customer.created"]


def test_connect_only_endpoints_skip_platform_events(stripe_client, stripe_emulator):
    receiver = Receiver()
    try:
        stripe_emulator.webhook_settings(paused=True)
        stripe_emulator.add_webhook_endpoint(receiver.url, SECRET, connect="true")
        stripe_client.v1.customers.create({"email": "platform@example.com"})
        account = express_account(stripe_client)
        stripe_emulator.complete_onboarding(account.id)
        stripe_emulator.flush_webhooks()
        assert all(e.account == account.id for e in receiver.events())
        assert receiver.events()
    finally:
        receiver.httpd.shutdown()


def test_payload_is_the_event_json(stripe_client, stripe_emulator, receiver):
    stripe_client.v1.customers.create({"email": "a@example.com"})
    stripe_emulator.flush_webhooks()
    payload = json.loads(receiver.received[0][0])
    assert payload["object"] == "event" and payload["api_version"] == stripe.api_version
