"""When events fail or are lost, the mirror still converges: retries with backoff, the periodic
reconciliation, a backfill that refreshes the account, and runs that carry on past a failure."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from billing import invoicing, mirror, tasks, webhooks
from billing.models import (
    BillingAccount,
    ConnectAccount,
    Invoice,
    OnboardingStatus,
    Payout,
    WebhookEvent,
    WebhookEventStatus,
)
from tests.billing.conftest import post_event
from tests.billing.test_webhooks import emulator_events
from tests.billing_fixtures import plan_invoice, record_plan


@pytest.fixture
def client(webhook_secret):
    return Client()


def _restricted_event_that_fails(client, seller, emulated_stripe, stripe_client, capture):
    """Stripe restricts the account and says so while its API is failing."""
    emulated_stripe.complete_onboarding(seller.stripe_id, "restrict")
    [event, *_] = emulator_events(stripe_client, "account.updated", seller.stripe_id)
    emulated_stripe.inject_fault("500", count=50, path="/v1/accounts")
    with capture(execute=True):
        post_event(client, event)
    return WebhookEvent.objects.get(stripe_id=event["id"])


def test_a_failed_event_is_retried_by_the_worker_once_stripe_answers_again(
    client, seller, emulated_stripe, stripe_client, django_capture_on_commit_callbacks
):
    stored = _restricted_event_that_fails(
        client, seller, emulated_stripe, stripe_client, django_capture_on_commit_callbacks
    )
    assert stored.status == WebhookEventStatus.FAILED
    first_retry = stored.next_attempt_at - stored.processed_at
    assert timedelta(seconds=30) <= first_retry <= timedelta(minutes=1)

    # Not due yet: nothing happens. Due, but Stripe still down: it fails and backs off further.
    assert webhooks.retry_due_events(now=timezone.now()) == 0
    assert webhooks.retry_due_events(now=stored.next_attempt_at) == 1
    stored.refresh_from_db()
    assert (stored.status, stored.attempts) == (WebhookEventStatus.FAILED, 2)
    assert stored.next_attempt_at - stored.processed_at == webhooks.RETRY_DELAYS[1]

    emulated_stripe.control("DELETE", "faults")
    assert tasks.retry_failed_webhook_events.call(reschedule=False) == 0  # not due
    assert webhooks.retry_due_events(now=stored.next_attempt_at) == 1
    stored.refresh_from_db()
    assert (stored.status, stored.attempts, stored.next_attempt_at) == ("processed", 3, None)
    assert ConnectAccount.objects.get().onboarding_status == OnboardingStatus.RESTRICTED


def test_retries_span_days_then_wait_for_staff(db):
    total = sum(webhooks.RETRY_DELAYS, timedelta())
    assert webhooks.RETRY_DELAYS[0] <= timedelta(minutes=1)
    assert total >= timedelta(days=3)
    assert sorted(webhooks.RETRY_DELAYS) == webhooks.RETRY_DELAYS


def test_after_the_last_retry_an_event_waits_for_reprocess(
    client, seller, emulated_stripe, stripe_client, django_capture_on_commit_callbacks
):
    stored = _restricted_event_that_fails(
        client, seller, emulated_stripe, stripe_client, django_capture_on_commit_callbacks
    )
    WebhookEvent.objects.filter(pk=stored.pk).update(attempts=len(webhooks.RETRY_DELAYS))
    assert webhooks.retry_due_events(now=stored.next_attempt_at) == 1
    stored.refresh_from_db()
    assert stored.status == WebhookEventStatus.FAILED
    assert stored.next_attempt_at is None
    far_future = timezone.now() + timedelta(days=30)
    assert webhooks.retry_due_events(now=far_future) == 0


def test_a_claimed_event_is_not_retried_twice(
    client, seller, emulated_stripe, stripe_client, django_capture_on_commit_callbacks
):
    """A second worker that read the same due event finds it claimed and leaves it alone."""
    stored = _restricted_event_that_fails(
        client, seller, emulated_stripe, stripe_client, django_capture_on_commit_callbacks
    )
    emulated_stripe.control("DELETE", "faults")
    due = stored.next_attempt_at
    assert webhooks.retry_due_events(now=due) == 1
    WebhookEvent.objects.filter(pk=stored.pk).update(
        status=WebhookEventStatus.FAILED, next_attempt_at=due - timedelta(seconds=1)
    )  # someone else's claim would have changed next_attempt_at: ours no longer matches
    stored.refresh_from_db()
    assert stored.attempts == 2


def test_reconciliation_repairs_a_mirror_whose_events_were_all_lost(busy_seller, emulated_stripe):
    """No webhook ever arrived: the account was restricted, invoices paid, payouts landed.
    One reconciliation brings status, payouts, invoices, transactions and balance in line."""
    buyer = invoicing.buyer_for(busy_seller, reference="late", name="Late Buyer")
    invoice = plan_invoice(busy_seller, buyer, 40_000, usage_id="late")
    emulated_stripe.control("POST", f"invoices/{invoice.stripe_id}/pay")
    emulated_stripe.advance(days=5)
    emulated_stripe.complete_onboarding(busy_seller.stripe_id, "restrict")
    stripe = emulated_stripe.client()
    on_account = {"stripe_account": busy_seller.stripe_id}
    stripe_payouts = {p.id: p.status for p in stripe.v1.payouts.list({"limit": 100}, on_account)}
    assert Invoice.objects.get(stripe_id=invoice.stripe_id).status == "open"

    assert tasks.reconcile_all_accounts.call(reschedule=False) == 1

    connect = ConnectAccount.objects.get(pk=busy_seller.pk)
    assert connect.onboarding_status == OnboardingStatus.RESTRICTED
    assert Invoice.objects.get(stripe_id=invoice.stripe_id).status == "paid"
    assert dict(Payout.objects.values_list("stripe_id", "status")) == stripe_payouts
    balance = stripe.v1.balance.retrieve(None, on_account)
    assert connect.balance_available == [
        {"amount": b.amount, "currency": b.currency} for b in balance.available
    ]
    mirrored = {t.stripe_id: t.status for t in connect.balance_transactions.all()}
    listed = {
        t.id: t.status for t in stripe.v1.balance_transactions.list({"limit": 100}, on_account)
    }
    assert mirrored == listed
    for payout in Payout.objects.filter(status="paid", automatic=True):
        carried = connect.balance_transactions.filter(payout_stripe_id=payout.stripe_id)
        assert sum(t.net for t in carried.carried_by_payouts()) == payout.amount


@pytest.fixture
def unknown_to_stripe(cast) -> ConnectAccount:
    """An account Stripe no longer knows (every call about it fails), made first, so it is
    first in line."""
    return ConnectAccount.objects.create(
        billing_account=BillingAccount.objects.create(customer=cast.standalone),
        stripe_id="acct_gone",
        country="US",
        charges_enabled=True,
    )


def test_one_accounts_failure_does_not_stop_reconciling_the_others(
    unknown_to_stripe, busy_seller, emulated_stripe, caplog
):
    assert unknown_to_stripe.pk < busy_seller.pk
    assert tasks.reconcile_all_accounts.call(reschedule=False) == 1
    assert "acct_gone" in caplog.text


def test_a_backfill_refreshes_the_account_state_too(seller, emulated_stripe):
    emulated_stripe.complete_onboarding(seller.stripe_id, "restrict")
    mirror.sync_account(seller, throttle=mirror.Throttle(1000))
    seller.refresh_from_db()
    assert seller.onboarding_status == OnboardingStatus.RESTRICTED


def test_the_billing_run_carries_on_past_an_accounts_unexpected_failure(
    unknown_to_stripe, seller, emulated_stripe, caplog, monkeypatch
):
    """A bug (not a Stripe error) in one account's run is logged; the others still bill."""
    buyer = invoicing.buyer_for(seller, reference="b", name="Buyer")
    record_plan(seller, buyer, 5_000, usage_id="u")
    real_run = invoicing.run_billing

    def run_or_break(connect):
        if connect.pk == unknown_to_stripe.pk:
            raise RuntimeError("a bug in one account's data")
        return real_run(connect)

    monkeypatch.setattr(invoicing, "run_billing", run_or_break)
    assert tasks.run_billing_for_all_accounts.call(reschedule=False) == 1
    assert "acct_gone" in caplog.text
