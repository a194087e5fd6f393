"""Invoicing buyers on the seller's connected account, through the emulator."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from billing import gateway, invoicing
from billing.models import Invoice, InvoiceItem, ItemKind


@pytest.fixture
def buyer(seller):
    return invoicing.buyer_for(
        seller, reference="buyer-1", name="Acme Agency", email="ap@acme.test"
    )


def usage(seller, buyer, usage_id="u1", **overrides):
    kwargs = {
        "usage_id": usage_id,
        "kind": ItemKind.VARIABLE_COST,
        "description": "Display impressions, October",
        "currency": "usd",
        "quantity": 1_200,
        "unit_amount": 250,
        "metric": "impressions (thousands)",
        "contract": "Media buy MB-7",
    }
    kwargs.update(overrides)
    return invoicing.record_usage(seller, buyer, **kwargs)


def test_a_buyer_is_a_customer_on_the_sellers_account_created_once(seller, buyer, stripe_client):
    again = invoicing.buyer_for(seller, reference="buyer-1", name="Acme Agency")
    assert again.pk == buyer.pk
    customers = stripe_client.v1.customers.list(options={"stripe_account": seller.stripe_id}).data
    assert [c.id for c in customers] == [buyer.stripe_customer_id]
    # The platform does not see the seller's customer.
    assert stripe_client.v1.customers.list().data == []


def test_usage_becomes_a_pending_item_with_its_metric_and_contract(seller, buyer):
    item = usage(seller, buyer)
    assert item.is_pending
    assert (item.amount, item.quantity, item.unit_amount) == (300_000, 1_200, 250)
    assert (item.metric, item.contract, item.kind) == (
        "impressions (thousands)",
        "Media buy MB-7",
        "variable_cost",
    )


def test_recording_the_same_usage_twice_makes_one_item(seller, buyer, stripe_client):
    usage(seller, buyer, usage_id="same")
    usage(seller, buyer, usage_id="same")
    assert InvoiceItem.objects.count() == 1
    items = stripe_client.v1.invoice_items.list(options={"stripe_account": seller.stripe_id}).data
    assert len(items) == 1


def test_a_billing_run_invoices_pending_items_net_of_the_fee_schedule(seller, buyer, stripe_client):
    seller.billing_account.change_fee_schedule(
        platform_fee_percent=Decimal("12.5"),
        fees=[{"name": "Ad serving", "feePercent": "2"}],
        currency="USD",
        default_net_days=45,
    )
    usage(seller, buyer, "u1")
    usage(
        seller,
        buyer,
        "u2",
        kind=ItemKind.PLAN_COST,
        amount=50_000,
        quantity=1,
        unit_amount=None,
        metric="",
    )
    result = invoicing.run_billing(seller)
    assert result.errors == []
    [invoice] = result.invoices
    assert invoice.status == "open"
    assert invoice.total == 350_000
    assert invoice.application_fee_amount == 50_750  # 14.5 % of 3,500.00
    assert invoice.number
    assert invoice.due_date - invoice.created == timedelta(days=45)
    assert [entry["status"] for entry in invoice.status_history] == ["draft", "open"]
    assert invoice.origin == "background"
    assert not InvoiceItem.objects.filter(invoice_stripe_id="").exists()
    remote = stripe_client.v1.invoices.retrieve(
        invoice.stripe_id, options={"stripe_account": seller.stripe_id}
    )
    assert remote.collection_method == "send_invoice"
    assert remote.status == "open"


def test_re_running_never_double_invoices(seller, buyer, stripe_client):
    usage(seller, buyer)
    invoicing.run_billing(seller)
    second = invoicing.run_billing(seller)
    assert second.invoices == [] and second.finished == []
    invoices = stripe_client.v1.invoices.list(options={"stripe_account": seller.stripe_id}).data
    assert len(invoices) == 1
    assert Invoice.objects.count() == 1


def test_a_run_that_crashed_after_creating_a_draft_is_finished_by_the_next(
    seller, buyer, emulated_stripe, stripe_client
):
    usage(seller, buyer)
    # The finalize call fails (more times than the gateway retries): the run stops there.
    emulated_stripe.inject_fault("500", count=3, path="/v1/invoices/")
    first = invoicing.run_billing(seller)
    assert first.errors and "Could not finalize the invoice" in first.errors[0]
    emulated_stripe.control("DELETE", "faults")
    second = invoicing.run_billing(seller)
    assert second.errors == []
    [finished] = second.finished
    assert finished.status == "open"
    invoices = stripe_client.v1.invoices.list(options={"stripe_account": seller.stripe_id}).data
    assert len(invoices) == 1


def test_a_draft_whose_lines_changed_is_repriced_before_it_is_finalized(
    seller, buyer, emulated_stripe, stripe_client
):
    seller.billing_account.change_fee_schedule(platform_fee_percent=Decimal("10"))
    usage(seller, buyer)
    emulated_stripe.inject_fault("500", path="/v1/invoices/", method="POST")  # the finalize
    assert invoicing.run_billing(seller).errors
    on_seller = {"stripe_account": seller.stripe_id}
    [draft] = stripe_client.v1.invoices.list(None, on_seller).data
    # More usage lands on the draft before the next run finishes it.
    stripe_client.v1.invoice_items.create(
        {"customer": buyer.stripe_customer_id, "invoice": draft.id, "amount": 100_000},
        on_seller,
    )
    [finished] = invoicing.run_billing(seller).finished
    assert finished.status == "open" and finished.total == 400_000
    assert finished.application_fee_amount == 40_000  # 10 % of every line, not just the first
    emulated_stripe.control("POST", f"invoices/{draft.id}/pay")
    [charge] = stripe_client.v1.charges.list(None, on_seller).data
    assert charge.application_fee_amount == 40_000  # what Stripe actually takes


def test_fee_changes_apply_only_to_invoices_created_after_them(seller, buyer):
    seller.billing_account.change_fee_schedule(platform_fee_percent=Decimal("10"))
    usage(seller, buyer, "before")
    [before] = invoicing.run_billing(seller).invoices
    seller.billing_account.change_fee_schedule(platform_fee_percent=Decimal("20"))
    usage(seller, buyer, "after")
    [after] = invoicing.run_billing(seller).invoices
    before.refresh_from_db()
    assert before.application_fee_amount == 30_000
    assert after.application_fee_amount == 60_000


def test_usage_needs_a_provisioned_buyer_and_valid_amounts(seller, buyer):
    with pytest.raises(ValueError, match="metric"):
        usage(seller, buyer, metric="")
    with pytest.raises(ValueError, match="non-negative"):
        usage(seller, buyer, kind=ItemKind.PLAN_COST, amount=-5, unit_amount=None)


def test_a_stripe_outage_during_a_run_is_reported_not_raised(seller, buyer, emulated_stripe):
    usage(seller, buyer)
    emulated_stripe.inject_fault("500", count=3, path="/v1/invoices")
    # Listing unfinished invoices is the first step; an outage there stops the whole run.
    result = invoicing.run_billing(seller)
    assert result.errors == [
        "Could not list invoices: Stripe had a problem on its side. Try again in a minute."
    ]
    assert Invoice.objects.count() == 0


def test_status_history_only_moves_forward_when_an_invoice_is_re_read(seller, buyer, stripe_client):
    from billing import mirror

    usage(seller, buyer)
    [invoice] = invoicing.run_billing(seller).invoices
    gateway.invoice_action("mark_uncollectible", seller.stripe_id, invoice.stripe_id)
    for _ in range(2):  # webhooks re-read the same invoice more than once
        mirror.upsert_invoice(
            seller, gateway.retrieve("invoices", invoice.stripe_id, seller.stripe_id)
        )
    invoice.refresh_from_db()
    assert [entry["status"] for entry in invoice.status_history] == [
        "draft",
        "open",
        "uncollectible",
    ]
    times = [entry["at"] for entry in invoice.status_history]
    assert times == sorted(times)


def test_invoice_lines_carry_the_metric_quantity_and_contract(seller, buyer):
    usage(seller, buyer)
    [invoice] = invoicing.run_billing(seller).invoices
    [line] = invoice.lines
    assert line["metadata"]["metric"] == "impressions (thousands)"
    assert line["metadata"]["quantity"] == "1200"
    assert line["metadata"]["contract"] == "Media buy MB-7"
    assert line["amount"] == 300_000


def test_a_buyer_whose_credits_exceed_charges_is_reported_and_others_still_invoiced(
    seller, buyer, stripe_client
):
    other = invoicing.buyer_for(seller, reference="buyer-2", name="Other")
    usage(seller, other)
    stripe_client.v1.invoice_items.create(
        {
            "customer": buyer.stripe_customer_id,
            "amount": -5_000,
            "currency": "usd",
            "description": "Credit",
        },
        {"stripe_account": seller.stripe_id},
    )
    result = invoicing.run_billing(seller)
    assert len(result.invoices) == 1 and result.invoices[0].buyer == other
    assert any("less than zero" in message for message in result.errors)
