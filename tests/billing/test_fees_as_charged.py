"""Fees as charged: an invoice keeps the schedule version that priced it, and the breakdown a
seller sees is derived from the fee Stripe booked, split over that version's components."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from billing import dashboard, invoicing, mirror, onboarding
from billing.models import PLATFORM_DEFAULT, BalanceTransaction, BillingAccount
from storefront import access
from tests.billing_fixtures import plan_invoice

FAST = mirror.Throttle(1_000_000, sleep=lambda s: None)


@pytest.fixture
def buyer(seller):
    return invoicing.buyer_for(seller, reference="buyer-1", name="Acme Agency")


def invoice_for(seller, buyer, usage_id, amount):
    return plan_invoice(seller, buyer, amount, usage_id=usage_id, description="Storefront plan")


def test_an_invoice_paid_after_the_schedule_changed_is_charged_and_shown_as_priced(
    seller, buyer, emulated_stripe, stripe_client
):
    account = seller.billing_account
    v1 = account.change_fee_schedule(
        platform_fee_percent=Decimal("10"),
        fees=[
            {"name": "Ad serving", "feePercent": "2"},
            {"name": "Audience data", "feePercent": "1.5"},
        ],
    )
    invoice = invoice_for(seller, buyer, "u1", 123_457)
    assert invoice.fee_schedule_version == v1
    assert invoice.application_fee_amount == 16_667  # 13.5 % of 1,234.57, half up

    v2 = account.change_fee_schedule(platform_fee_percent=Decimal("12.5"), fees=[])
    assert account.fee_schedule() == v2
    emulated_stripe.control("POST", f"invoices/{invoice.stripe_id}/pay")
    mirror.sync_account(seller, throttle=FAST)

    invoice.refresh_from_db()
    assert invoice.fee_schedule_version == v1 and invoice.charge_stripe_id
    txn = BalanceTransaction.objects.get(type="charge", source_id=invoice.charge_stripe_id)
    [application_fee] = [d for d in txn.fee_details if d["type"] == "application_fee"]
    assert application_fee["amount"] == txn.fee == 16_667  # v1's fee, not v2's 15,432
    charge = stripe_client.v1.charges.retrieve(
        invoice.charge_stripe_id, options={"stripe_account": seller.stripe_id}
    )
    assert charge.application_fee_amount == 16_667

    [row] = dashboard.ledger_rows(seller, [txn])
    assert row.invoice == invoice
    # v1's labels; 16,667 split 10 : 2 : 1.5 by largest remainder, adding up exactly.
    assert row.fee_parts == [
        ("Platform fee 10 %", 12_346),
        ("Ad serving 2 %", 2_469),
        ("Audience data 1.5 %", 1_852),
    ]
    assert sum(amount for _, amount in row.fee_parts) == txn.fee
    # No Stripe processing fee: with fees.payer=application the platform pays it.
    assert not any("Stripe" in name for name, _ in row.fee_parts)


def test_a_charge_without_an_invoice_is_split_by_the_schedule_in_force_when_charged(
    seller, emulated_stripe
):
    def emulated_now():
        return datetime.fromtimestamp(emulated_stripe.now(), tz=UTC)

    # Versions dated on the emulator's clock, which the charge is dated by.
    emulated_stripe.advance(days=1)
    seller.billing_account.change_fee_schedule(
        platform_fee_percent=Decimal("12.5"),
        fees=[{"name": "Ad serving", "feePercent": "2"}],
        effective_from=emulated_now(),
    )
    emulated_stripe.control(
        "POST",
        "charges",
        account=seller.stripe_id,
        amount=10_001,
        currency="usd",
        application_fee_amount=1_450,
    )
    emulated_stripe.advance(days=1)
    seller.billing_account.change_fee_schedule(
        platform_fee_percent=Decimal("20"), fees=[], effective_from=emulated_now()
    )
    mirror.sync_account(seller, throttle=FAST)
    txn = BalanceTransaction.objects.get(type="charge")
    [row] = dashboard.ledger_rows(seller, [txn])
    assert row.invoice is None
    assert row.fee_parts == [("Platform fee 12.5 %", 1_250), ("Ad serving 2 %", 200)]


def test_an_invoice_records_only_a_version_of_its_own_account(seller, buyer, cast):
    other = BillingAccount.objects.open_for(cast.standalone)
    foreign = other.fee_schedule()
    invoice = invoice_for(seller, buyer, "u1", 10_000)
    raw = {
        **invoice.raw,
        "metadata": {**invoice.raw["metadata"], "fee_schedule_version": str(foreign.pk)},
    }
    assert mirror.upsert_invoice(seller, raw).fee_schedule_version is None


def test_the_csv_carries_the_invoice_and_the_fee_breakdown_of_each_row(
    cast, client_as, seller, buyer, emulated_stripe, django_assert_max_num_queries
):
    seller.billing_account.change_fee_schedule(
        platform_fee_percent=Decimal("10"), fees=[{"name": "Ad serving", "feePercent": "2"}]
    )
    invoice = invoice_for(seller, buyer, "u1", 100_000)
    emulated_stripe.control("POST", f"invoices/{invoice.stripe_id}/pay")
    mirror.sync_account(seller, throttle=FAST)
    invoice.refresh_from_db()
    client = client_as(cast.parent_owner)
    response = client.get(f"/c/{cast.parent.pk}/billing/transactions.csv")
    rows = list(
        csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")))
    )
    [sale] = [row for row in rows if row["type"] == "charge"]
    assert sale["invoice"] == invoice.number
    assert sale["fee_breakdown"] == "Platform fee 10 %: 100.00; Ad serving 2 %: 20.00"
    assert sale["fee"] == "120.00"

    # Many more rows, spread over chunks: the queries grow with chunks, never with rows.
    def queries_for_export():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            b"".join(client.get(f"/c/{cast.parent.pk}/billing/transactions.csv").streaming_content)
        return len(captured)

    few = queries_for_export()
    template = BalanceTransaction.objects.get(type="charge")
    BalanceTransaction.objects.bulk_create(
        [
            BalanceTransaction(
                connect_account=seller,
                stripe_id=f"txn_bulk_{i}",
                amount=1000,
                fee=120,
                net=880,
                currency="usd",
                type="charge",
                status="available",
                created=template.created,
                source_id=f"ch_bulk_{i}",
                fee_details=[{"type": "application_fee", "amount": 120}],
            )
            for i in range(2 * dashboard.CSV_CHUNK + 1)
        ]
    )
    assert queries_for_export() <= few + 2 * 2  # two more chunks: one invoice query each (+ cursor)


def test_a_freshly_provisioned_account_starts_on_the_platform_default(cast, emulated_stripe):
    default = PLATFORM_DEFAULT.change_fee_schedule(
        changed_by=cast.staff,
        platform_fee_percent=Decimal("9"),
        fees=[{"name": "Measurement", "feePercent": "0.5"}],
        currency="USD",
        default_net_days=45,
    )
    connect, _ = onboarding.provision(access.resolve(cast.standalone_owner, cast.standalone.pk))
    schedule = connect.billing_account.fee_schedule()
    fields = ("platform_fee_percent", "fees", "currency", "default_net_days")
    assert {f: getattr(schedule, f) for f in fields} == {f: getattr(default, f) for f in fields}
    assert schedule.note == "Platform default"
    assert schedule.pk != default.pk and schedule.billing_account == connect.billing_account


def test_a_batch_without_application_fees_does_not_read_the_schedule_history(
    seller, django_assert_num_queries
):
    from billing.charged_fees import ChargedFees

    stripe_only = [{"type": "stripe_fee", "amount": 30, "description": "Stripe processing fees"}]
    with django_assert_num_queries(0):
        fees = ChargedFees.for_batch(seller, [("ch_1", stripe_only)])
    assert fees.parts(stripe_only, "ch_1", datetime.now(UTC)) == [("Stripe processing", 30)]
    # An application fee is split by a schedule: the history and the invoices are read.
    with django_assert_num_queries(2):
        fees = ChargedFees.for_batch(seller, [("ch_1", [{"type": "application_fee"}])])
    assert fees.schedules
