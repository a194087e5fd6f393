"""Refunds, disputes, fee refunds and declined payments: from Stripe's events (signed, late,
twice, out of order) to the invoice pages and the overview."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from billing import invoicing
from billing.models import (
    BalanceTransaction,
    ConnectAccount,
    Dispute,
    Invoice,
    WebhookEvent,
    WebhookEventStatus,
)
from tests.billing.conftest import post_event
from tests.billing_fixtures import plan_invoice


def _events(stripe_client, account: str | None) -> list[dict]:
    """Every event on the account (or the platform's own, with None), oldest first."""
    options = {"stripe_account": account} if account else None
    page = stripe_client.v1.events.list({"limit": 100}, options)
    events = [event.to_dict(recursive=True, for_json=True) for event in page.auto_paging_iter()]
    return list(reversed(events))


class Deliverer:
    """Delivers the emulator's events to our endpoint, signed, each event once (unless asked
    otherwise), and lets the worker process them."""

    def __init__(self, stripe_client, capture, account: str) -> None:
        self.stripe_client, self.capture, self.account = stripe_client, capture, account
        self.client = Client()
        self.sent: set[str] = set()

    def pending(self) -> list[dict]:
        events = _events(self.stripe_client, self.account) + _events(self.stripe_client, None)
        events.sort(key=lambda event: event["created"])
        return [event for event in events if event["id"] not in self.sent]

    def deliver(self, events: list[dict] | None = None) -> None:
        events = self.pending() if events is None else events
        with self.capture(execute=True):
            for event in events:
                assert post_event(self.client, event).status_code == 200
                self.sent.add(event["id"])


@pytest.fixture
def deliver(seller, stripe_client, webhook_secret, django_capture_on_commit_callbacks):
    return Deliverer(stripe_client, django_capture_on_commit_callbacks, seller.stripe_id)


def _paid_invoice(seller: ConnectAccount, emulated_stripe, amount: int = 50_000) -> Invoice:
    seller.billing_account.change_fee_schedule(platform_fee_percent="10")
    buyer = invoicing.buyer_for(seller, reference="acme", name="Acme Corp")
    invoice = plan_invoice(seller, buyer, amount)
    paid = emulated_stripe.control("POST", f"invoices/{invoice.stripe_id}/pay")
    # Known to Stripe now; our mirror learns it from the events (delivered by each test).
    invoice.charge_stripe_id = paid["payments"]["data"][-1]["payment"]["charge"]
    return invoice


def _opts(seller):
    return {"stripe_account": seller.stripe_id}


def _state(seller: ConnectAccount) -> dict:
    """Everything these events change, to compare deliveries."""
    seller.refresh_from_db()
    return {
        "invoices": list(
            Invoice.objects.values_list(
                "stripe_id", "status", "amount_refunded", "last_payment_error", "charge_stripe_id"
            ).order_by("stripe_id")
        ),
        "disputes": list(
            Dispute.objects.values_list(
                "stripe_id", "status", "amount", "invoice__stripe_id", "closed_at"
            ).order_by("stripe_id")
        ),
        "ledger": sorted(
            BalanceTransaction.objects.values_list("stripe_id", "type", "net", "status")
        ),
        "balance": (seller.balance_available, seller.balance_pending),
    }


def _invoice_page(client, cast, invoice: Invoice) -> str:
    response = client.get(f"/c/{cast.parent.pk}/billing/invoices/{invoice.number}/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_partial_refund_of_an_invoice_shows_on_the_invoice(
    cast, client_as, seller, emulated_stripe, stripe_client, deliver
):
    invoice = _paid_invoice(seller, emulated_stripe)
    deliver.deliver()
    invoice.refresh_from_db()
    assert invoice.charge_stripe_id and invoice.amount_refunded == 0

    stripe_client.v1.refunds.create(
        {"charge": invoice.charge_stripe_id, "amount": 12_000}, _opts(seller)
    )
    deliver.deliver()

    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_refunded, invoice.refund_state) == (
        "paid",
        12_000,
        "partially_refunded",
    )
    assert BalanceTransaction.objects.filter(type="refund", net=-12_000).exists()
    client = client_as(cast.parent_owner)
    html = _invoice_page(client, cast, invoice)
    assert "Partially refunded" in html and "Refunded $120.00 of $500.00" in html
    listing = client.get(f"/c/{cast.parent.pk}/billing/invoices/").content.decode()
    assert "Partially refunded" in listing and "Refunded $120.00 of $500.00" in listing

    # The rest, with the application fee given back (a platform event names the seller).
    stripe_client.v1.refunds.create(
        {"charge": invoice.charge_stripe_id, "refund_application_fee": True}, _opts(seller)
    )
    deliver.deliver()
    invoice.refresh_from_db()
    assert (invoice.amount_refunded, invoice.refund_state) == (50_000, "refunded")
    assert BalanceTransaction.objects.filter(type="application_fee_refund").exists()
    fee_event = WebhookEvent.objects.get(type="application_fee.refunded")
    assert fee_event.status == WebhookEventStatus.PROCESSED
    assert "Refunded $500.00 of $500.00" in _invoice_page(client, cast, invoice)


def test_a_fee_refund_on_its_own_reaches_the_sellers_ledger(
    seller, emulated_stripe, stripe_client, deliver
):
    invoice = _paid_invoice(seller, emulated_stripe)
    deliver.deliver()
    charge = stripe_client.v1.charges.retrieve(invoice.charge_stripe_id, options=_opts(seller))
    refund = stripe_client.v1.application_fees.refunds.create(
        charge.application_fee, {"amount": 1_000}
    )
    stripe_client.v1.application_fees.refunds.update(
        charge.application_fee, refund.id, {"metadata": {"why": "goodwill"}}
    )
    deliver.deliver()
    assert BalanceTransaction.objects.get(type="application_fee_refund").net == 1_000
    statuses = set(
        WebhookEvent.objects.filter(type__startswith="application_fee.").values_list(
            "type", "status"
        )
    )
    assert ("application_fee.refunded", WebhookEventStatus.PROCESSED) in statuses
    assert ("application_fee.refund.updated", WebhookEventStatus.PROCESSED) in statuses


def test_a_failed_refund_gives_the_invoice_its_money_back(
    cast, client_as, seller, emulated_stripe, stripe_client, deliver
):
    invoice = _paid_invoice(seller, emulated_stripe)
    refund = stripe_client.v1.refunds.create({"charge": invoice.charge_stripe_id}, _opts(seller))
    deliver.deliver()
    invoice.refresh_from_db()
    assert invoice.refund_state == "refunded"
    emulated_stripe.control("POST", f"refunds/{refund.id}/fail")
    deliver.deliver()
    invoice.refresh_from_db()
    assert (invoice.amount_refunded, invoice.refund_state) == (0, "")
    assert BalanceTransaction.objects.get(type="refund_failure").net == 50_000
    assert "Refunded" not in _invoice_page(client_as(cast.parent_owner), cast, invoice)


def test_a_dispute_alerts_the_seller_until_it_closes_with_its_outcome(
    cast, client_as, seller, emulated_stripe, stripe_client, deliver
):
    invoice = _paid_invoice(seller, emulated_stripe)
    deliver.deliver()
    opened = emulated_stripe.control(
        "POST",
        f"charges/{invoice.charge_stripe_id}/dispute",
        reason="product_not_received",
        amount=12_000,
        response_days=10,
    )
    deliver.deliver()

    dispute = Dispute.objects.get()
    assert (dispute.stripe_id, dispute.status, dispute.amount) == (
        opened["id"],
        "needs_response",
        12_000,
    )
    assert dispute.invoice == invoice
    due = dispute.evidence_due_by
    client = client_as(cast.parent_owner)
    overview = client.get(f"/c/{cast.parent.pk}/").content.decode()
    assert "A buyer disputed $120.00" in overview
    assert f"Respond by {due:%-d %b %Y}" in overview and "Acme Corp" in overview
    assert "/billing/express-dashboard/" in overview and "Respond in the Stripe Express" in overview
    assert invoice.number in overview
    assert f"Disputed — respond by {due:%-d %b}" in _invoice_page(client, cast, invoice)
    assert BalanceTransaction.objects.filter(
        type="adjustment", reporting_category="dispute", net=-12_000
    ).exists()

    emulated_stripe.control("POST", f"disputes/{dispute.stripe_id}/close", outcome="won")
    deliver.deliver()

    dispute.refresh_from_db()
    assert dispute.status == "won" and dispute.closed_at is not None
    overview = client.get(f"/c/{cast.parent.pk}/").content.decode()
    assert "A buyer disputed" not in overview
    assert "Dispute won" in overview and "$120.00 returned to your balance" in overview
    assert "Dispute won" in _invoice_page(client, cast, invoice)
    assert BalanceTransaction.objects.filter(reporting_category="dispute_reversal").exists()

    # Thirty days on, the outcome leaves the overview (it stays on the invoice).
    Dispute.objects.update(closed_at=timezone.now() - timezone.timedelta(days=31))
    assert "Dispute won" not in client.get(f"/c/{cast.parent.pk}/").content.decode()
    assert "Dispute won" in _invoice_page(client, cast, invoice)


def test_a_lost_dispute_says_so(cast, client_as, seller, emulated_stripe, deliver):
    invoice = _paid_invoice(seller, emulated_stripe)
    dispute = emulated_stripe.control("POST", f"charges/{invoice.charge_stripe_id}/dispute")
    emulated_stripe.control("POST", f"disputes/{dispute['id']}/close", outcome="lost")
    deliver.deliver()
    client = client_as(cast.parent_owner)
    overview = client.get(f"/c/{cast.parent.pk}/").content.decode()
    assert "Dispute lost" in overview and "$500.00 stays withdrawn" in overview
    assert "Dispute lost" in _invoice_page(client, cast, invoice)


def test_duplicate_and_out_of_order_delivery_leaves_the_same_state(
    seller, emulated_stripe, stripe_client, deliver
):
    invoice = _paid_invoice(seller, emulated_stripe)
    stripe_client.v1.refunds.create(
        {"charge": invoice.charge_stripe_id, "amount": 5_000, "refund_application_fee": True},
        _opts(seller),
    )
    dispute = emulated_stripe.control("POST", f"charges/{invoice.charge_stripe_id}/dispute")
    emulated_stripe.control("POST", f"disputes/{dispute['id']}/close", outcome="won")
    events = deliver.pending()
    assert {"charge.dispute.closed", "charge.refunded", "invoice.paid"} <= {
        e["type"] for e in events
    }

    # Newest first, and every event twice: the late older ones must not roll anything back.
    deliver.deliver([*reversed(events), *events])
    backwards = _state(seller)

    # The same events in order, into a fresh mirror.
    Dispute.objects.all().delete()
    BalanceTransaction.objects.all().delete()
    WebhookEvent.objects.all().delete()
    Invoice.objects.update(amount_refunded=0, charge_stripe_id="")
    deliver.deliver(events)
    in_order = _state(seller)

    assert backwards["disputes"][0][1] == "won"
    assert backwards["invoices"][0][2] == 5_000
    assert backwards == in_order


def test_a_declined_payment_is_recorded_and_shown_until_the_invoice_is_paid(
    cast, client_as, seller, emulated_stripe, deliver
):
    seller.billing_account.change_fee_schedule(platform_fee_percent="10")
    buyer = invoicing.buyer_for(seller, reference="acme", name="Acme Corp")
    invoice = plan_invoice(seller, buyer, 50_000)
    emulated_stripe.control(
        "POST", f"invoices/{invoice.stripe_id}/pay", decline_code="insufficient_funds"
    )
    deliver.deliver()
    invoice.refresh_from_db()
    assert invoice.status == "open"
    assert invoice.last_payment_error == "Your card has insufficient funds."
    client = client_as(cast.parent_owner)
    html = _invoice_page(client, cast, invoice)
    assert "Payment failed" in html and "Your card has insufficient funds." in html
    assert "Payment failed" in client.get(f"/c/{cast.parent.pk}/billing/invoices/").content.decode()

    emulated_stripe.control("POST", f"invoices/{invoice.stripe_id}/pay")
    deliver.deliver()
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    assert "Payment failed" not in _invoice_page(client, cast, invoice)


def test_events_of_an_account_we_do_not_know_are_ignored(
    seller, emulated_stripe, stripe_client, deliver
):
    stranger = stripe_client.v1.accounts.create(
        {
            "country": "US",
            "controller": {
                "fees": {"payer": "application"},
                "losses": {"payments": "application"},
                "requirement_collection": "stripe",
                "stripe_dashboard": {"type": "express"},
            },
        }
    )
    emulated_stripe.complete_onboarding(stranger.id)
    charge = emulated_stripe.control(
        "POST", "charges", account=stranger.id, amount=10_000, application_fee_amount=500
    )
    stripe_client.v1.refunds.create(
        {"charge": charge["id"], "refund_application_fee": True}, {"stripe_account": stranger.id}
    )
    events = [
        e
        for e in _events(stripe_client, stranger.id) + _events(stripe_client, None)
        if e["type"].startswith(("charge.", "refund.", "application_fee."))
    ]
    assert {"charge.refunded", "refund.created", "application_fee.refunded"} <= {
        e["type"] for e in events
    }
    deliver.deliver(events)
    stored = WebhookEvent.objects.filter(stripe_id__in=[e["id"] for e in events])
    assert stored.count() == len(events)
    assert set(stored.values_list("status", flat=True)) == {WebhookEventStatus.IGNORED}
    assert not BalanceTransaction.objects.exists() and not Dispute.objects.exists()


@pytest.mark.parametrize("path", ["", "billing/invoices/"])
def test_many_disputes_cost_no_more_queries(
    cast, client_as, seller, emulated_stripe, deliver, path, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    invoice = _paid_invoice(seller, emulated_stripe)
    emulated_stripe.control("POST", f"charges/{invoice.charge_stripe_id}/dispute")
    deliver.deliver()
    client = client_as(cast.parent_owner)
    client.get(f"/c/{cast.parent.pk}/{path}")
    with CaptureQueriesContext(connection) as one:
        client.get(f"/c/{cast.parent.pk}/{path}")
    now = timezone.now()
    for i in range(30):
        paid = Invoice.objects.create(
            connect_account=seller,
            stripe_id=f"in_bulk_{i}",
            number=f"B-{i}",
            status="paid",
            currency="usd",
            total=100,
            amount_due=100,
            amount_paid=100,
            amount_remaining=0,
            charge_stripe_id=f"ch_bulk_{i}",
            created=now,
            buyer=invoice.buyer,
        )
        Dispute.objects.create(
            connect_account=seller,
            invoice=paid,
            stripe_id=f"du_bulk_{i}",
            charge_stripe_id=paid.charge_stripe_id,
            amount=100,
            currency="usd",
            status="needs_response" if i % 2 else "lost",
            created=now,
            closed_at=now,
            evidence_due_by=now,
        )
    with django_assert_max_num_queries(len(one)):
        assert client.get(f"/c/{cast.parent.pk}/{path}").status_code == 200
