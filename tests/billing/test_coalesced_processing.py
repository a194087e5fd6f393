"""Money events arriving together cost one ledger sync, not two Stripe calls each.

The worker's Stripe calls are counted by the emulator (``/_emulator/requests``), so these tests
fail if processing reads Stripe per event again, and they check that what coalescing skips was
really covered: the mirror ends equal to Stripe.
"""

from __future__ import annotations

import random

from billing import webhooks
from billing.models import BalanceTransaction, WebhookEvent, WebhookEventStatus

CHARGES = 500  # each one a charge.succeeded on the account and an application_fee.created


def _events(client, **filters) -> list[dict]:
    params = {"limit": 100, **filters}
    return [
        event.to_dict(recursive=True, for_json=True)
        for event in client.v1.events.list(params).auto_paging_iter()
    ]


def _stripe_ledger(client, account: str) -> dict[str, tuple[str, int, int, int]]:
    listed = client.v1.balance_transactions.list(
        {"limit": 100}, {"stripe_account": account}
    ).auto_paging_iter()
    return {t.id: (t.status, t.amount, t.fee, t.net) for t in listed}


def _mirrored_ledger(connect) -> dict[str, tuple[str, int, int, int]]:
    rows = BalanceTransaction.objects.filter(connect_account=connect)
    return {
        stripe_id: (status, amount, fee, net)
        for stripe_id, status, amount, fee, net in rows.values_list(
            "stripe_id", "status", "amount", "fee", "net"
        )
    }


def _store_all(events, capture) -> list:
    """Store events as the intake does, holding back the processing it queues: the worker
    runs it afterwards, as a busy worker finds a burst waiting in its queue."""
    with capture(execute=False) as queued:
        for event in events:
            assert webhooks.store_event(event) is not None
    return queued


def test_a_burst_of_a_thousand_money_events_costs_under_a_fifth_of_a_call_each(
    seller, emulated_stripe, django_capture_on_commit_callbacks
):
    client = emulated_stripe.client()
    for n in range(CHARGES):
        emulated_stripe.control(
            "POST",
            "charges",
            account=seller.stripe_id,
            amount=2_000 + n,
            application_fee_amount=200,
        )
    emulated_stripe.advance(days=3)  # the first charges' funds become available
    events = [
        *[
            e.to_dict(recursive=True, for_json=True)
            for e in client.v1.events.list(
                {"type": "charge.*", "limit": 100}, {"stripe_account": seller.stripe_id}
            ).auto_paging_iter()
        ],
        *[
            e.to_dict(recursive=True, for_json=True)
            for e in client.v1.events.list(
                {"type": "balance.available", "limit": 100}, {"stripe_account": seller.stripe_id}
            ).auto_paging_iter()
        ],
        *_events(client, type="application_fee.created"),
    ]
    assert len(events) >= 1_000
    random.Random(17).shuffle(events)  # Stripe promises no order
    queued = _store_all(events, django_capture_on_commit_callbacks)
    emulated_stripe.reset_request_counts()

    for run_queued_processing in queued:
        run_queued_processing()

    served = emulated_stripe.requests_served()
    assert served["total"] <= 0.2 * len(events), served
    assert served["by_route"].get("GET /v1/balance") == 1, served
    assert WebhookEvent.objects.filter(status=WebhookEventStatus.PROCESSED).count() == len(events)
    seller.refresh_from_db()
    balance = client.v1.balance.retrieve(None, {"stripe_account": seller.stripe_id})
    assert seller.balance_available == [
        {"amount": b.amount, "currency": b.currency} for b in balance.available
    ]
    assert seller.balance_pending == [
        {"amount": b.amount, "currency": b.currency} for b in balance.pending
    ]
    ledger = _stripe_ledger(client, seller.stripe_id)
    assert len(ledger) >= CHARGES
    assert _mirrored_ledger(seller) == ledger


def test_an_event_stored_after_a_sync_began_gets_a_sync_of_its_own(
    seller, emulated_stripe, django_capture_on_commit_callbacks
):
    """Coalescing never skips news: only events stored before a sync began count as covered."""
    client = emulated_stripe.client()
    opts = {"stripe_account": seller.stripe_id}
    emulated_stripe.control("POST", "charges", account=seller.stripe_id, amount=5_000)
    first = client.v1.events.list({"type": "charge.succeeded"}, opts).data
    for run in _store_all(
        [e.to_dict(recursive=True, for_json=True) for e in first],
        django_capture_on_commit_callbacks,
    ):
        run()
    assert len(_mirrored_ledger(seller)) == 1

    emulated_stripe.control("POST", "charges", account=seller.stripe_id, amount=7_000)
    newest = client.v1.events.list({"type": "charge.succeeded", "limit": 1}, opts).data
    queued = _store_all(
        [e.to_dict(recursive=True, for_json=True) for e in newest],
        django_capture_on_commit_callbacks,
    )
    emulated_stripe.reset_request_counts()
    for run in queued:
        run()

    assert emulated_stripe.requests_served()["by_route"].get("GET /v1/balance") == 1
    assert _mirrored_ledger(seller) == _stripe_ledger(client, seller.stripe_id)
    assert len(_mirrored_ledger(seller)) == 2


def test_reprocessing_an_event_a_later_sync_covered_reads_nothing(
    seller, emulated_stripe, django_capture_on_commit_callbacks
):
    client = emulated_stripe.client()
    opts = {"stripe_account": seller.stripe_id}
    for amount in (3_000, 4_000):
        emulated_stripe.control("POST", "charges", account=seller.stripe_id, amount=amount)
    events = [
        e.to_dict(recursive=True, for_json=True)
        for e in client.v1.events.list({"type": "charge.succeeded"}, opts).data
    ]
    for run in _store_all(events, django_capture_on_commit_callbacks):
        run()
    emulated_stripe.reset_request_counts()

    for event in WebhookEvent.objects.order_by("pk"):
        assert webhooks.process(event).status == WebhookEventStatus.PROCESSED

    assert emulated_stripe.requests_served()["total"] == 0
