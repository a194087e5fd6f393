"""Invoices longer than the ten lines Stripe embeds in the invoice object, through the emulator."""

from __future__ import annotations

import re

import pytest

from billing import gateway, invoicing, mirror
from billing.models import ConnectAccount, Invoice, InvoiceItem, ItemKind

LINES = 25


def url(cast, path: str = "") -> str:
    return f"/c/{cast.parent.pk}/{path}"


def record(seller: ConnectAccount, buyer, count: int, prefix: str = "Usage line") -> None:
    for n in range(1, count + 1):
        invoicing.record_usage(
            seller,
            buyer,
            usage_id=f"{prefix}-{n}",
            kind=ItemKind.VARIABLE_COST,
            description=f"{prefix} {n:02d}",
            currency="usd",
            quantity=n,
            unit_amount=100,
            metric="clicks",
        )


def lines_reads(emulated_stripe) -> int:
    """How many reads of single invoices (and their lines) the counting fault has seen."""
    faults = emulated_stripe.control("GET", "faults")["faults"]
    return sum(1_000 - fault["remaining"] for fault in faults if fault["kind"] == "slow")


def count_invoice_reads(emulated_stripe) -> None:
    # A harmless fault (no delay) on every GET under /v1/invoices/in_…: its countdown counts
    # the requests for one invoice or its lines, without changing any answer.
    emulated_stripe.inject_fault(
        "slow", count=1_000, delay="0", path="/v1/invoices/in_", method="GET"
    )


@pytest.fixture
def buyer(seller):
    return invoicing.buyer_for(seller, reference="globex", name="Globex", email="ap@globex.test")


@pytest.fixture
def long_invoice(seller, buyer, emulated_stripe) -> Invoice:
    record(seller, buyer, LINES)
    count_invoice_reads(emulated_stripe)
    result = invoicing.run_billing(seller)
    assert result.errors == []
    [invoice] = result.invoices
    return invoice


def test_the_emulator_embeds_only_the_first_ten_lines(seller, long_invoice, stripe_client):
    remote = stripe_client.v1.invoices.retrieve(
        long_invoice.stripe_id, options={"stripe_account": seller.stripe_id}
    )
    assert len(remote.lines.data) == 10 and remote.lines.has_more is True


def test_a_billing_run_of_25_items_mirrors_all_25_lines_and_leaves_none_pending(
    seller, long_invoice, emulated_stripe
):
    assert lines_reads(emulated_stripe) >= 1
    invoice = Invoice.objects.get(pk=long_invoice.pk)
    assert [line["description"] for line in invoice.lines] == [
        f"Usage line {n:02d}" for n in range(1, LINES + 1)
    ]
    assert sum(line["amount"] for line in invoice.lines) == invoice.total == 32_500
    assert InvoiceItem.objects.filter(connect_account=seller).count() == LINES
    assert not InvoiceItem.objects.filter(connect_account=seller, invoice_stripe_id="").exists()


def test_the_invoice_page_shows_all_25_lines_and_the_pending_page_none(
    cast, client_as, long_invoice
):
    client = client_as(cast.parent_owner)
    html = client.get(url(cast, f"billing/invoices/{long_invoice.number}/")).content.decode()
    shown = re.findall(r"Usage line (\d\d)", html)
    assert shown == [f"{n:02d}" for n in range(1, LINES + 1)]
    pending = client.get(url(cast, "billing/pending/")).content.decode()
    assert "Nothing pending" in pending and "Usage line" not in pending


def test_a_backfill_from_an_empty_mirror_finds_every_line(seller, long_invoice):
    Invoice.objects.all().delete()
    InvoiceItem.objects.all().delete()
    mirror.sync_account(seller, throttle=mirror.Throttle(1_000_000, sleep=lambda s: None))
    [invoice] = Invoice.objects.filter(connect_account=seller)
    assert len(invoice.lines) == LINES
    assert InvoiceItem.objects.filter(connect_account=seller).count() == LINES
    assert not InvoiceItem.objects.filter(connect_account=seller, invoice_stripe_id="").exists()


def test_a_webhook_re_read_keeps_all_lines(seller, long_invoice, emulated_stripe):
    # A later re-read (as a webhook does) stores the invoice again: still every line.
    InvoiceItem.objects.update(invoice_stripe_id="")
    mirror.upsert_invoice(
        seller, gateway.retrieve("invoices", long_invoice.stripe_id, seller.stripe_id)
    )
    assert len(Invoice.objects.get(pk=long_invoice.pk).lines) == LINES
    assert not InvoiceItem.objects.filter(connect_account=seller, invoice_stripe_id="").exists()


def test_a_short_invoice_costs_no_extra_request(seller, buyer, emulated_stripe, stripe_client):
    record(seller, buyer, 10)
    count_invoice_reads(emulated_stripe)
    [invoice] = invoicing.run_billing(seller).invoices
    assert len(invoice.lines) == 10
    assert not InvoiceItem.objects.filter(connect_account=seller, invoice_stripe_id="").exists()
    assert lines_reads(emulated_stripe) == 0
    # The counter does count a read of the invoice's lines.
    stripe_client.v1.invoices.line_items.list(
        invoice.stripe_id, options={"stripe_account": seller.stripe_id}
    )
    assert lines_reads(emulated_stripe) == 1
