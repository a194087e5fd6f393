"""Exactly once under faults and concurrency: usage recorded during a run is invoiced with its
fee, an invoice is sent at most once, billing runs take turns, and an older read of an object
never overwrites a newer one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from billing import fees, gateway, invoicing, mirror
from billing.models import ConnectAccount, Invoice, InvoiceItem, Payout
from tests.billing_fixtures import record_plan


@pytest.fixture
def buyer(seller):
    seller.billing_account.change_fee_schedule(platform_fee_percent="14.5")
    return invoicing.buyer_for(seller, reference="b", name="Acme Agency")


def plan(seller, buyer, usage_id: str, amount: int) -> InvoiceItem:
    return record_plan(seller, buyer, amount, usage_id=usage_id, description=f"Plan {usage_id}")


def test_usage_recorded_while_a_run_lists_items_is_invoiced_with_its_fee(
    seller, buyer, monkeypatch
):
    """Stripe sweeps every pending item onto a new invoice, also one recorded after the run
    listed them: the fee follows what the invoice finally holds."""
    plan(seller, buyer, "early", 10_000)
    listed = invoicing._pending_by_buyer

    def list_then_more_usage_arrives(connect):
        pending = listed(connect)
        plan(seller, buyer, "late", 500_000)
        return pending

    monkeypatch.setattr(invoicing, "_pending_by_buyer", list_then_more_usage_arrives)
    [invoice] = invoicing.run_billing(seller).invoices
    assert invoice.total == 510_000
    schedule = seller.billing_account.fee_schedule()
    expected = fees.application_fee(510_000, schedule.platform_fee_percent).total
    assert invoice.application_fee_amount == expected == 73_950
    stripe_invoice = gateway.retrieve("invoices", invoice.stripe_id, seller.stripe_id)
    assert int(stripe_invoice["metadata"]["application_fee_amount"]) == expected
    assert not InvoiceItem.objects.filter(invoice_stripe_id="").exists()  # none left pending


def _sent_events(stripe_client, seller, invoice_id: str) -> int:
    events = stripe_client.v1.events.list(
        {"type": "invoice.sent", "limit": 100}, {"stripe_account": seller.stripe_id}
    ).data
    return sum(1 for event in events if event.data.object.id == invoice_id)


def test_an_invoice_whose_send_answer_was_lost_is_not_sent_again(
    seller, buyer, emulated_stripe, stripe_client
):
    plan(seller, buyer, "u1", 20_000)
    # The run creates the draft, then Stripe fails on everything about it: a draft is left.
    emulated_stripe.inject_fault("500", count=10, path="/v1/invoices/", method="POST")
    assert invoicing.run_billing(seller).errors
    [draft] = stripe_client.v1.invoices.list(None, {"stripe_account": seller.stripe_id}).data
    emulated_stripe.control("DELETE", "faults")
    # The next run finishes it; Stripe sends the email but every answer is lost.
    emulated_stripe.inject_fault("lost", count=3, path=f"/v1/invoices/{draft.id}/send")
    assert invoicing.run_billing(seller).errors
    assert _sent_events(stripe_client, seller, draft.id) == 1
    emulated_stripe.control("DELETE", "faults")

    finished = invoicing.run_billing(seller).finished
    assert [invoice.stripe_id for invoice in finished] == [draft.id]
    assert _sent_events(stripe_client, seller, draft.id) == 1  # not a second email
    assert gateway.retrieve("invoices", draft.id, seller.stripe_id)["metadata"]["sent"] == "1"
    assert invoicing.run_billing(seller).finished == []


def test_a_send_that_never_reached_stripe_is_sent_by_the_next_run(
    seller, buyer, emulated_stripe, stripe_client
):
    plan(seller, buyer, "u1", 20_000)
    emulated_stripe.inject_fault("500", count=10, path="/v1/invoices/", method="POST")
    invoicing.run_billing(seller)
    [draft] = stripe_client.v1.invoices.list(None, {"stripe_account": seller.stripe_id}).data
    emulated_stripe.control("DELETE", "faults")
    emulated_stripe.inject_fault("drop", count=3, path=f"/v1/invoices/{draft.id}/send")
    assert invoicing.run_billing(seller).errors
    assert _sent_events(stripe_client, seller, draft.id) == 0
    emulated_stripe.control("DELETE", "faults")
    invoicing.run_billing(seller)
    assert _sent_events(stripe_client, seller, draft.id) == 1


def test_billing_runs_of_one_account_take_turns(seller, buyer, stripe_client):
    plan(seller, buyer, "u1", 20_000)
    with invoicing.billing_run_lease(seller) as held:
        assert held
        second = invoicing.run_billing(seller)
        assert second.errors == [invoicing.BillingRunBusy.message]
        assert second.invoices == []
        with pytest.raises(invoicing.BillingRunBusy):
            invoicing.invoice_now(buyer)
    assert len(invoicing.run_billing(seller).invoices) == 1
    assert ConnectAccount.objects.get(pk=seller.pk).billing_run_until is None


def test_a_crashed_runs_hold_lapses(seller, buyer):
    plan(seller, buyer, "u1", 20_000)
    ConnectAccount.objects.filter(pk=seller.pk).update(
        billing_run_until=timezone.now() - timedelta(seconds=1)
    )
    assert len(invoicing.run_billing(seller).invoices) == 1


def test_an_older_read_of_an_invoice_never_overwrites_a_newer_one(seller, buyer, emulated_stripe):
    plan(seller, buyer, "u1", 20_000)
    [invoice] = invoicing.run_billing(seller).invoices
    open_read = gateway.retrieve("invoices", invoice.stripe_id, seller.stripe_id)
    emulated_stripe.control("POST", f"invoices/{invoice.stripe_id}/pay")
    mirror.upsert_invoice(seller, gateway.retrieve("invoices", invoice.stripe_id, seller.stripe_id))
    mirror.upsert_invoice(seller, open_read)  # a worker that read it earlier writes late
    assert Invoice.objects.get(pk=invoice.pk).status == "paid"


def test_an_older_read_of_a_payout_never_overwrites_a_newer_one(busy_seller, emulated_stripe):
    stripe = emulated_stripe.client()
    [payout] = [
        p
        for p in stripe.v1.payouts.list(None, {"stripe_account": busy_seller.stripe_id}).data
        if p.status == "paid"
    ][:1]
    paid = payout.to_dict(recursive=True, for_json=True)
    mirror.upsert_payout(busy_seller, paid)
    mirror.upsert_payout(busy_seller, {**paid, "status": "in_transit"})
    assert Payout.objects.get(stripe_id=payout.id).status == "paid"
    # But a paid payout the bank returns later does fail.
    mirror.upsert_payout(busy_seller, {**paid, "status": "failed", "failure_code": "no_account"})
    assert Payout.objects.get(stripe_id=payout.id).status == "failed"


def _items(stripe_client, seller) -> list[str]:
    listed = stripe_client.v1.invoice_items.list(
        {"limit": 100}, {"stripe_account": seller.stripe_id}
    )
    return [item.metadata["usage_id"] for item in listed.data]


@pytest.mark.parametrize("fault", ["500", "500_after_write"])
def test_usage_whose_create_failed_is_recorded_once_at_the_next_try(
    seller, buyer, emulated_stripe, stripe_client, fault
):
    """Stripe saves a 500 under the key and would replay it for a day: the next try looks for
    the item the failed request may have made, and records it once either way."""
    emulated_stripe.inject_fault(fault, count=1, path="/v1/invoiceitems", method="POST")
    with pytest.raises(gateway.StripeUnavailable):
        plan(seller, buyer, "u1", 20_000)
    item = plan(seller, buyer, "u1", 20_000)
    assert _items(stripe_client, seller) == ["u1"]
    assert InvoiceItem.objects.get().stripe_id == item.stripe_id
    plan(seller, buyer, "u1", 20_000)  # and again: still one
    assert _items(stripe_client, seller) == ["u1"]


@pytest.mark.parametrize("fault", ["500", "500_after_write"])
def test_an_invoice_whose_create_failed_is_made_once_by_the_next_run(
    seller, buyer, emulated_stripe, stripe_client, fault
):
    plan(seller, buyer, "u1", 20_000)
    emulated_stripe.inject_fault(fault, count=1, path="/v1/invoices", method="POST")
    assert invoicing.run_billing(seller).errors
    result = invoicing.run_billing(seller)
    assert not result.errors
    invoices = stripe_client.v1.invoices.list(None, {"stripe_account": seller.stripe_id}).data
    assert [i.total for i in invoices] == [20_000]
    assert invoices[0].status == "open"


@pytest.mark.parametrize("fault", ["500", "500_after_write"])
def test_a_buyer_whose_create_failed_is_made_once_at_the_next_try(
    seller, emulated_stripe, stripe_client, fault
):
    emulated_stripe.inject_fault(fault, count=1, path="/v1/customers", method="POST")
    with pytest.raises(gateway.StripeUnavailable):
        invoicing.buyer_for(seller, reference="b", name="Acme Agency")
    buyer = invoicing.buyer_for(seller, reference="b", name="Acme Agency")
    customers = stripe_client.v1.customers.list(None, {"stripe_account": seller.stripe_id}).data
    assert [c.id for c in customers] == [buyer.stripe_customer_id]
