"""Backfill: the mirror matches Stripe after a sync, re-running changes nothing, and an
interrupted sync resumes."""

from __future__ import annotations

import io
from collections import defaultdict

import pytest
from django.core.management import CommandError, call_command

from billing import account_lease, gateway, mirror
from billing.models import BalanceTransaction, Invoice, InvoiceItem, Payout, SyncProgress


def no_wait() -> mirror.Throttle:
    return mirror.Throttle(1_000_000, sleep=lambda seconds: None)


def snapshot() -> list:
    return [
        sorted(
            BalanceTransaction.objects.values_list("stripe_id", "net", "status", "payout_stripe_id")
        ),
        sorted(Payout.objects.values_list("stripe_id", "amount", "status")),
        sorted(Invoice.objects.values_list("stripe_id", "status", "amount_paid")),
        InvoiceItem.objects.count(),
    ]


def test_after_a_sync_the_mirror_adds_up_to_stripes_balance(busy_seller):
    mirror.sync_account(busy_seller, throttle=no_wait())
    busy_seller.refresh_from_db()
    totals: dict[str, int] = defaultdict(int)
    for currency, net in BalanceTransaction.objects.values_list("currency", "net"):
        totals[currency] += net
    balance: dict[str, int] = defaultdict(int)
    for entry in busy_seller.balance_available + busy_seller.balance_pending:
        balance[entry["currency"]] += entry["amount"]
    assert dict(totals) == dict(balance)
    assert BalanceTransaction.objects.filter(type="charge").count() == 3
    assert Invoice.objects.filter(status="paid").count() == 3


def test_each_paid_payout_is_reconciled_to_its_transactions(busy_seller):
    mirror.sync_account(busy_seller, throttle=no_wait())
    paid = Payout.objects.filter(status="paid")
    assert paid.exists()
    for payout in paid:
        contained = BalanceTransaction.objects.filter(payout_stripe_id=payout.stripe_id).exclude(
            type="payout"
        )
        assert contained.exists()
        assert sum(contained.values_list("net", flat=True)) == payout.amount


def test_charges_carry_only_the_application_fee(busy_seller):
    # Our accounts have controller.fees.payer=application: Stripe bills its processing fee to
    # the platform, so the seller's charge carries the application fee alone.
    mirror.sync_account(busy_seller, throttle=no_wait())
    charge = BalanceTransaction.objects.filter(type="charge").order_by("created").first()
    kinds = {detail["type"]: detail["amount"] for detail in charge.fee_details}
    assert kinds == {"application_fee": 10_000}
    assert charge.fee == 10_000
    assert charge.net == charge.amount - 10_000


def test_running_it_twice_changes_nothing(busy_seller):
    mirror.sync_account(busy_seller, throttle=no_wait())
    first = snapshot()
    mirror.sync_account(busy_seller, throttle=no_wait())
    assert snapshot() == first


def test_an_interrupted_sync_resumes_where_it_stopped(busy_seller, emulated_stripe):
    # Small pages, and Stripe fails after a few of them.
    emulated_stripe.inject_fault("500", count=3, path="/v1/payouts")
    with pytest.raises(gateway.StripeUnavailable):
        mirror.sync_account(busy_seller, throttle=no_wait(), page_size=2)
    progress = SyncProgress.objects.get(resource="balance_transactions")
    assert progress.completed_at is not None
    assert not SyncProgress.objects.get(resource="payouts").completed_at
    emulated_stripe.control("DELETE", "faults")
    mirror.sync_account(busy_seller, throttle=no_wait(), page_size=2)
    expected = snapshot()
    mirror.sync_account(busy_seller, throttle=no_wait())
    assert snapshot() == expected


def test_a_page_interrupted_mid_resource_continues_after_the_last_stored_page(
    busy_seller, emulated_stripe
):
    pages = []

    def stop_after_two(resource, count):
        pages.append((resource, count))
        if resource == "balance_transactions" and len(pages) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        mirror.sync_account(busy_seller, throttle=no_wait(), page_size=2, on_page=stop_after_two)
    stored_before = BalanceTransaction.objects.count()
    assert stored_before == 4
    progress = SyncProgress.objects.get(resource="balance_transactions")
    assert progress.resume_after and progress.completed_at is None
    mirror.sync_account(busy_seller, throttle=no_wait(), page_size=2)
    assert BalanceTransaction.objects.count() > stored_before


def test_the_throttle_paces_requests():
    now = [100.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    throttle = mirror.Throttle(10, sleep=sleep, clock=lambda: now[0])
    for _ in range(5):
        throttle.wait()
    assert slept == pytest.approx([0.1, 0.1, 0.1, 0.1])
    now[0] += 5  # a slow page: no need to wait before the next one
    throttle.wait()
    assert len(slept) == 4


def test_the_command_syncs_and_reports(busy_seller):
    out = io.StringIO()
    call_command("billing_sync", "--rate", "1000", stdout=out)
    assert "Northwind Media" in out.getvalue()
    assert "balance transactions" in out.getvalue()
    assert BalanceTransaction.objects.exists()


def test_the_command_refuses_a_customer_without_an_account(cast, emulated_stripe):
    with pytest.raises(CommandError, match="no Stripe account"):
        call_command("billing_sync", "--customer", str(cast.standalone.pk), stdout=io.StringIO())


def test_the_command_rejects_a_bad_date(seller):
    with pytest.raises(CommandError, match="not a date"):
        call_command("billing_sync", "--since", "yesterday", stdout=io.StringIO())


def test_a_re_sync_does_not_ask_stripe_again_about_reconciled_payouts(busy_seller):
    mirror.sync_account(busy_seller, throttle=no_wait())
    assert Payout.objects.filter(status="paid").exists()
    assert mirror.unreconciled_payouts(busy_seller) == []


def test_the_command_waits_for_the_worker_that_holds_the_account(busy_seller, monkeypatch):
    monkeypatch.setattr(account_lease, "WAIT_SECONDS", 0.1)
    BalanceTransaction.objects.all().delete()
    assert account_lease.try_acquire(busy_seller.stripe_id, "another-worker")
    err = io.StringIO()
    with pytest.raises(CommandError, match="did not finish"):
        call_command("billing_sync", "--rate", "1000", stdout=io.StringIO(), stderr=err)
    assert "a worker is busy with this account" in err.getvalue()
    assert not BalanceTransaction.objects.exists()
