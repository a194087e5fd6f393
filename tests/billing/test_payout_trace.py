"""Every transaction is traceable to a payout; failed, late and paused payouts explain
themselves; converted transactions show what the buyer paid; a negative balance is a debt."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing import mirror, onboarding, payout_trace
from billing.models import BalanceTransaction, Payout
from billing.payout_failures import PAYOUT_FAILURES, failure_reason

FAST = mirror.Throttle(1_000_000, sleep=lambda s: None)


def url(cast, path=""):
    return f"/c/{cast.parent.pk}/{path}"


def sync(seller):
    mirror.sync_account(seller, throttle=FAST)
    return onboarding.refresh(seller)


def sale(emulated_stripe, seller, amount=50_000, **extra):
    return emulated_stripe.control(
        "POST", "charges", account=seller.stripe_id, amount=amount, **extra
    )


def row_of(html: str, txn_id: str) -> str:
    return html.split(f'data-txn="{txn_id}"', 1)[1].split("</tr>", 1)[0]


class TestAFailedPayoutAndItsRetry:
    @pytest.fixture
    def failed(self, seller, emulated_stripe):
        charge = sale(emulated_stripe, seller)
        emulated_stripe.control(
            "POST", f"accounts/{seller.stripe_id}/payouts", fail_next="account_closed"
        )
        emulated_stripe.advance(days=4)  # funds settle; the daily payout goes out and fails
        sync(seller)
        return charge

    def test_while_paused_the_sale_says_its_payout_failed_and_payouts_are_paused(
        self, cast, client_as, seller, failed
    ):
        payout = Payout.objects.get(status="failed")
        sold = BalanceTransaction.objects.get(type="charge")
        assert sold.payout_stripe_id == payout.stripe_id  # failed payouts are itemised too
        client = client_as(cast.parent_owner)
        row = row_of(
            client.get(url(cast, "billing/transactions/")).content.decode(), sold.stripe_id
        )
        assert "failed; the money returned to your balance" in row
        assert f"billing/payouts/{payout.stripe_id}/" in row
        assert "payouts are paused" in row

        detail = client.get(url(cast, f"billing/payouts/{payout.stripe_id}/")).content.decode()
        assert "Your bank says this account has been closed" in detail
        assert "$500.00 came back to your balance" in detail
        assert "once the payout has been paid" not in detail
        assert 'data-testid="carried-by"' not in detail

        for page in ("", "billing/payouts/"):
            html = client.get(url(cast, page)).content.decode()
            assert "Payouts paused: update your bank account" in html
            assert f"/c/{cast.parent.pk}/billing/express-dashboard/" in html

    def test_the_retry_carries_the_returned_money_and_both_pages_say_so(
        self, cast, client_as, seller, failed, emulated_stripe
    ):
        emulated_stripe.control("POST", f"accounts/{seller.stripe_id}/external_accounts")
        emulated_stripe.advance(days=3)  # the next daily payout carries the returned money
        sync(seller)
        failed_payout = Payout.objects.get(status="failed")
        retry = Payout.objects.get(status="paid")
        returned = BalanceTransaction.objects.get(type="payout_failure")
        assert returned.source_id == failed_payout.stripe_id
        assert returned.payout_stripe_id == retry.stripe_id

        client = client_as(cast.parent_owner)
        detail = client.get(
            url(cast, f"billing/payouts/{failed_payout.stripe_id}/")
        ).content.decode()
        carried = detail.split('data-testid="carried-by"', 1)[0].rsplit("<a ", 1)[1]
        assert f"billing/payouts/{retry.stripe_id}/" in carried

        retry_page = client.get(url(cast, f"billing/payouts/{retry.stripe_id}/")).content.decode()
        assert "Payout returned" in retry_page
        assert "Payout_failure" not in retry_page and "payout_failure" not in retry_page
        returned_row = retry_page.split("Payout returned", 1)[1].split("</tr>", 1)[0]
        assert "Returned from the <a" in returned_row and "failed payout of" in returned_row
        assert f"billing/payouts/{failed_payout.stripe_id}/" in returned_row
        assert "Adds up to the payout" in retry_page

        html = client.get(url(cast, "billing/transactions/")).content.decode()
        assert f"billing/payouts/{retry.stripe_id}/" in row_of(html, returned.stripe_id)
        sold = BalanceTransaction.objects.get(type="charge")
        assert f"billing/payouts/{retry.stripe_id}/" in row_of(html, sold.stripe_id)
        assert "Payouts paused" not in client.get(url(cast)).content.decode()


def test_a_pending_sale_is_expected_in_the_payout_its_schedule_predicts(
    cast, client_as, seller, emulated_stripe
):
    sale(emulated_stripe, seller)
    sync(seller)
    sold = BalanceTransaction.objects.get(type="charge")
    expected = payout_trace.expected_payout_day(payout_trace.schedule_of(seller), sold.available_on)
    row = row_of(
        client_as(cast.parent_owner).get(url(cast, "billing/transactions/")).content.decode(),
        sold.stripe_id,
    )
    assert f"In your balance — expected in the payout of {expected:%-d %b %Y}" in row
    emulated_stripe.advance(days=4)
    sync(seller)
    payout = Payout.objects.get()
    assert payout.created.date() == expected  # the estimate is the day Stripe paid it out
    assert BalanceTransaction.objects.get(type="charge").payout_stripe_id == payout.stripe_id


def test_payouts_disabled_for_the_bank_account_pause_every_row(
    cast, client_as, seller, emulated_stripe
):
    sale(emulated_stripe, seller)
    emulated_stripe.complete_onboarding(seller.stripe_id, action="disable_payouts")
    sync(seller)
    assert not seller.payouts_enabled
    client = client_as(cast.parent_owner)
    html = client.get(url(cast, "billing/transactions/")).content.decode()
    assert "not paid out: payouts are paused" in html
    overview = client.get(url(cast)).content.decode()
    banner = overview.split('data-testid="payouts-paused"', 1)[1].split("</section>", 1)[0]
    assert "Payouts paused: update your bank account" in banner
    assert "billing/express-dashboard/" in banner


def test_payouts_off_for_other_requirements_show_no_bank_account_banner(
    cast, client_as, seller, emulated_stripe
):
    emulated_stripe.complete_onboarding(
        seller.stripe_id, action="disable_payouts", fields=["individual.id_number"]
    )
    sync(seller)
    assert not seller.payouts_enabled
    overview = client_as(cast.parent_owner).get(url(cast)).content.decode()
    assert 'data-testid="payouts-paused"' not in overview


def test_a_member_is_told_to_ask_an_admin_instead_of_a_link(
    cast, client_as, seller, emulated_stripe
):
    emulated_stripe.complete_onboarding(seller.stripe_id, action="disable_payouts")
    sync(seller)
    html = client_as(cast.parent_viewer).get(url(cast, "billing/payouts/")).content.decode()
    banner = html.split('data-testid="payouts-paused"', 1)[1].split("</section>", 1)[0]
    assert "Ask an admin" in banner and "<form" not in banner


def test_a_negative_balance_is_what_the_seller_owes_and_how_stripe_recovers_it(
    cast, client_as, seller, emulated_stripe
):
    sale(emulated_stripe, seller, amount=2_000)
    emulated_stripe.control(
        "POST", f"accounts/{seller.stripe_id}/balance_adjustments", amount=-7_000, currency="usd"
    )
    sync(seller)
    client = client_as(cast.parent_owner)
    owed = client.get(url(cast)).content.decode().split('data-testid="balance-owed"', 1)[1]
    owed = owed.split("</p>", 1)[0]
    assert "You owe $50.00" in owed
    assert "from your next sales first" in owed and "debits it from your bank account" in owed
    sold = BalanceTransaction.objects.get(type="charge")
    row = row_of(client.get(url(cast, "billing/transactions/")).content.decode(), sold.stripe_id)
    assert "goes towards your negative USD balance" in row


def test_a_converted_sale_shows_the_buyers_amount_and_rate_in_the_ledger_and_csv(
    cast, client_as, seller, emulated_stripe, stripe_client
):
    charge = sale(emulated_stripe, seller, amount=10_000, currency="eur")
    stripe_client.v1.refunds.create(
        {"charge": charge["id"], "amount": 2_500}, {"stripe_account": seller.stripe_id}
    )
    sync(seller)
    sold = BalanceTransaction.objects.get(type="charge")
    assert sold.currency == "usd" and sold.presented_currency == "eur"
    assert sold.presented_amount == 10_000
    assert isinstance(sold.exchange_rate, Decimal)
    # Stripe's rate between major units turns what the buyer paid into what settled.
    assert (Decimal(sold.presented_amount) * sold.exchange_rate).quantize(Decimal(1)) == sold.amount
    assert isinstance(sold.raw["source"], str)  # raw keeps Stripe's unexpanded shape
    refund = BalanceTransaction.objects.get(type="refund")
    assert (refund.presented_amount, refund.presented_currency) == (-2_500, "eur")
    assert refund.amount < 0

    client = client_as(cast.parent_owner)
    row = row_of(client.get(url(cast, "billing/transactions/")).content.decode(), sold.stripe_id)
    assert "buyer paid €100.00" in row
    assert f"{sold.exchange_rate.normalize()} USD/EUR" in row

    body = b"".join(client.get(url(cast, "billing/transactions.csv")).streaming_content)
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    by_id = {r["id"]: r for r in rows}
    assert by_id[sold.stripe_id]["presented_amount"] == "100.00"
    assert by_id[sold.stripe_id]["presented_currency"] == "EUR"
    assert Decimal(by_id[sold.stripe_id]["exchange_rate"]) == sold.exchange_rate
    assert by_id[refund.stripe_id]["presented_amount"] == "-25.00"
    unconverted = [r for r in rows if r["type"] == "application_fee" or r["currency"] != "USD"]
    assert all(r["exchange_rate"] == "" for r in unconverted)


def test_an_unconverted_sale_shows_no_conversion(cast, client_as, seller, emulated_stripe):
    sale(emulated_stripe, seller, amount=10_000)
    sync(seller)
    sold = BalanceTransaction.objects.get(type="charge")
    assert sold.exchange_rate is None and sold.presented_amount is None
    html = client_as(cast.parent_owner).get(url(cast, "billing/transactions/")).content.decode()
    assert 'data-testid="conversion"' not in html


def test_a_late_payout_is_flagged_and_never_the_next_one(cast, client_as, seller):
    now = timezone.now()
    Payout.objects.create(
        connect_account=seller,
        stripe_id="po_late",
        amount=12_345,
        currency="usd",
        status="in_transit",
        created=now - timedelta(days=20),
        arrival_date=now - timedelta(days=18),
    )
    Payout.objects.create(
        connect_account=seller,
        stripe_id="po_soon",
        amount=6_789,
        currency="usd",
        status="pending",
        created=now,
        arrival_date=now + timedelta(days=2),
    )
    client = client_as(cast.parent_owner)
    html = client.get(url(cast)).content.decode()
    next_payout = html.split("<dt>Next</dt>", 1)[1].split("</dd>", 1)[0]
    assert "po_soon" in next_payout and "po_late" not in next_payout
    late = html.split('data-testid="late-payout"', 1)[1].split("</dd>", 1)[0]
    assert "po_late" in late and ">late<" in late and "Check with your bank" in late
    listing = client.get(url(cast, "billing/payouts/")).content.decode()
    assert listing.count(">late<") == 1


def test_the_ledger_traces_many_payouts_in_a_constant_number_of_queries(
    cast, client_as, seller, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    now = timezone.now()

    def add(count, offset):
        payouts = [
            Payout(
                connect_account=seller,
                stripe_id=f"po_{offset + i}",
                amount=900,
                currency="usd",
                status="failed" if i % 2 else "paid",
                created=now,
                arrival_date=now,
            )
            for i in range(count)
        ]
        Payout.objects.bulk_create(payouts)
        BalanceTransaction.objects.bulk_create(
            [
                BalanceTransaction(
                    connect_account=seller,
                    stripe_id=f"txn_{kind}_{p.stripe_id}",
                    amount=1000,
                    fee=100,
                    net=900,
                    currency="usd",
                    type=kind,
                    status="available",
                    created=now,
                    available_on=now,
                    source_id=p.stripe_id if kind != "charge" else "",
                    payout_stripe_id=p.stripe_id if kind == "charge" else "",
                )
                for p in payouts
                for kind in ("charge", "payout_failure")
            ]
        )

    client = client_as(cast.parent_owner)
    add(2, 0)
    client.get(url(cast, "billing/transactions/"))
    with CaptureQueriesContext(connection) as few:
        client.get(url(cast, "billing/transactions/"))
    add(40, 100)
    with django_assert_max_num_queries(len(few)):
        html = client.get(url(cast, "billing/transactions/")).content.decode()
    assert html.count('data-testid="payout-trace"') == 25


@pytest.mark.parametrize(
    ("schedule", "available_on", "expected"),
    [
        ({"interval": "daily"}, datetime(2031, 3, 4, 15, 0, tzinfo=UTC), date(2031, 3, 5)),
        ({"interval": "daily"}, datetime(2031, 3, 4, 0, 0, tzinfo=UTC), date(2031, 3, 4)),
        ({"interval": "weekly", "weekly_anchor": "friday"}, datetime(2031, 3, 4, 9, tzinfo=UTC), date(2031, 3, 7)),
        ({"interval": "monthly", "monthly_anchor": 31}, datetime(2031, 4, 2, 9, tzinfo=UTC), date(2031, 4, 30)),
        ({"interval": "manual"}, datetime(2031, 3, 4, 9, tzinfo=UTC), None),
    ],
)  # fmt: skip
def test_the_expected_payout_day_follows_the_schedule(schedule, available_on, expected):
    assert payout_trace.expected_payout_day(schedule, available_on) == expected


def test_every_failure_code_reads_as_a_sentence_and_unknown_ones_keep_stripes_words():
    for code, sentence in PAYOUT_FAILURES.items():
        assert "_" not in sentence and sentence.endswith("."), code
    assert failure_reason("brand_new_code", "Stripe says so.") == "Stripe says so."


def test_with_no_payout_on_its_way_the_overview_says_when_the_schedule_pays_out_next(
    cast, client_as, seller
):
    now = timezone.now()
    Payout.objects.create(
        connect_account=seller,
        stripe_id="po_done",
        amount=1_000,
        currency="usd",
        status="paid",
        created=now - timedelta(days=9),
        arrival_date=now - timedelta(days=8),
    )
    schedule = {"interval": "weekly", "weekly_anchor": "friday", "delay_days": 2}
    seller.raw = {**seller.raw, "settings": {"payouts": {"schedule": schedule}}}
    seller.payouts_enabled = True
    seller.balance_available = [{"amount": 45_000, "currency": "usd"}]
    seller.save()
    client = client_as(cast.parent_owner)

    next_payout = client.get(url(cast)).content.decode().split("<dt>Next</dt>", 1)[1]
    next_payout = next_payout.split("</dd>", 1)[0]

    friday = payout_trace.expected_payout_day(schedule, now)
    assert friday.weekday() == 4 and friday > now.date()
    assert f"Expected {friday:%a} {friday.day} {friday:%b}" in next_payout
    assert "Weekly on Friday" in next_payout and "None scheduled" not in next_payout

    # Nothing available: nothing to expect.
    seller.balance_available = [{"amount": 0, "currency": "usd"}]
    seller.save()
    next_payout = client.get(url(cast)).content.decode().split("<dt>Next</dt>", 1)[1]
    assert "None scheduled" in next_payout.split("</dd>", 1)[0]
