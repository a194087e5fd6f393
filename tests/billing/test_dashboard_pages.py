"""The seller dashboard pages: content, tenancy, roles, constant queries, outages."""

from __future__ import annotations

import csv
import io
import re

import pytest

from billing import invoicing, mirror
from billing.models import BalanceTransaction, Invoice, ItemKind, Payout


@pytest.fixture
def synced(busy_seller):
    mirror.sync_account(busy_seller, throttle=mirror.Throttle(1_000_000, sleep=lambda s: None))
    busy_seller.refresh_from_db()
    return busy_seller


def url(cast, path=""):
    return f"/c/{cast.parent.pk}/{path}"


PAGES = [
    "",
    "billing/transactions/",
    "billing/payouts/",
    "billing/invoices/",
    "billing/pending/",
    "billing/fees/",
    "billing/setup/",
    "children/",
]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_for_the_owner(cast, client_as, synced, path):
    response = client_as(cast.parent_owner).get(url(cast, path))
    assert response.status_code == 200
    assert 'data-testid="acting-customer">Northwind Media<' in response.content.decode()


@pytest.mark.parametrize("path", PAGES + ["billing/transactions.csv"])
def test_other_tenants_get_404_everywhere(cast, client_as, synced, path):
    response = client_as(cast.stranger).get(url(cast, path))
    assert response.status_code == 404


@pytest.mark.parametrize("path", PAGES[:6])
def test_pages_use_a_constant_number_of_queries(
    cast, client_as, synced, path, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_as(cast.parent_owner)
    client.get(url(cast, path))  # warm the session
    with CaptureQueriesContext(connection) as small:
        client.get(url(cast, path))
    # Much more data must not mean more queries.
    rows = [
        BalanceTransaction(
            connect_account=synced,
            stripe_id=f"txn_bulk_{i}",
            amount=1000,
            fee=100,
            net=900,
            currency="usd",
            type="charge",
            status="available",
            created=synced.created_at,
            fee_details=[
                {"type": "application_fee", "amount": 60},
                {"type": "stripe_fee", "amount": 40},
            ],
        )
        for i in range(300)
    ]
    BalanceTransaction.objects.bulk_create(rows)
    few = len(small)
    assert few <= 20
    # Viewed once more first, as `small` was: what pages cache by the data they show (the
    # overview's chart, keyed by the newest transaction) fills on the first view after a change.
    client.get(url(cast, path))
    with django_assert_max_num_queries(few):
        assert client.get(url(cast, path)).status_code == 200


def test_the_overview_shows_balance_payouts_activity_and_a_chart(cast, client_as, synced):
    html = client_as(cast.parent_owner).get(url(cast)).content.decode()
    assert "Available" in html and "Pending" in html
    assert "<svg" in html and 'class="chart-values"' in html
    assert "Recent activity" in html
    assert "Complete" in html
    assert "Open Stripe Express dashboard" in html


def test_members_see_no_admin_actions(cast, client_as, synced):
    client = client_as(cast.parent_viewer)
    html = client.get(url(cast)).content.decode()
    assert "Open Stripe Express dashboard" not in html
    assert client.post(url(cast, "billing/express-dashboard/")).status_code == 403


def test_pages_render_from_the_mirror_during_a_stripe_outage(
    cast, client_as, synced, emulated_stripe
):
    emulated_stripe.inject_fault("500", count=100)
    client = client_as(cast.parent_owner)
    for path in PAGES[:6]:
        assert client.get(url(cast, path)).status_code == 200
    response = client.post(url(cast, "billing/refresh/"), follow=True)
    assert "Showing what we last knew" in response.content.decode()


class TestTransactions:
    def test_it_shows_the_fee_breakdown(self, cast, client_as, synced):
        html = client_as(cast.parent_owner).get(url(cast, "billing/transactions/")).content.decode()
        assert "Platform fee 10 %" in html
        # The platform pays Stripe's processing fee: the seller never sees one it did not pay.
        assert "Stripe processing" not in html

    def test_filters_narrow_the_ledger(self, cast, client_as, synced):
        html = (
            client_as(cast.parent_owner)
            .get(url(cast, "billing/transactions/"), {"kind": "payouts"})
            .content.decode()
        )
        rows = html.count('data-testid="txn-row"')
        assert rows == BalanceTransaction.objects.filter(type="payout").count() > 0
        assert "Sale</td>" not in html

    def test_a_bad_date_range_rerenders_with_a_message(self, cast, client_as, synced):
        response = client_as(cast.parent_owner).get(
            url(cast, "billing/transactions/"), {"since": "2026-05-01", "until": "2026-04-01"}
        )
        assert response.status_code == 400
        assert "must be on or before" in response.content.decode()

    def test_htmx_gets_just_the_ledger(self, cast, client_as, synced):
        response = client_as(cast.parent_owner).get(
            url(cast, "billing/transactions/"), HTTP_HX_REQUEST="true"
        )
        html = response.content.decode()
        assert html.strip().startswith('<section id="ledger"')
        assert "<html" not in html

    def test_back_and_forward_get_the_whole_page_with_its_form(self, cast, client_as, synced):
        # htmx asks for the URL again on Back/Forward (the form keeps no snapshot) and puts the
        # answer in place of the whole page; the browser's cache must keep the two apart.
        response = client_as(cast.parent_owner).get(
            url(cast, "billing/transactions/"),
            {"kind": "sales"},
            HTTP_HX_REQUEST="true",
            HTTP_HX_HISTORY_RESTORE_REQUEST="true",
        )
        html = response.content.decode()
        assert "<html" in html and '<select name="kind"' in html
        assert '<option value="sales" selected>' in html
        assert "HX-Request" in response["Vary"]

    def test_pages_walk_the_whole_ledger(self, cast, client_as, synced):
        client = client_as(cast.parent_owner)
        BalanceTransaction.objects.bulk_create(
            [
                BalanceTransaction(
                    connect_account=synced,
                    stripe_id=f"txn_more_{i}",
                    amount=1,
                    fee=0,
                    net=1,
                    currency="usd",
                    type="adjustment",
                    status="available",
                    created=synced.created_at,
                )
                for i in range(60)
            ]
        )
        seen, after = [], None
        while True:
            html = client.get(
                url(cast, "billing/transactions/"), {"after": after} if after else {}
            ).content.decode()
            seen += re.findall(r'data-testid="txn-row"', html)
            older = re.search(r'href="\?after=([\w-]+)"', html)
            if not older:
                break
            after = older.group(1)
        assert len(seen) == BalanceTransaction.objects.filter(connect_account=synced).count()

    def test_csv_streams_the_filtered_set_with_exact_amounts(self, cast, client_as, synced):
        response = client_as(cast.parent_owner).get(
            url(cast, "billing/transactions.csv"), {"kind": "sales"}
        )
        assert response.status_code == 200
        assert response.streaming
        assert "attachment" in response["Content-Disposition"]
        text = b"".join(response.streaming_content).decode("utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(text)))
        charges = BalanceTransaction.objects.filter(type="charge")
        assert len(rows) == charges.count() == 3
        first = charges.get(stripe_id=rows[0]["id"])
        assert rows[0]["net"] == f"{first.net / 100:.2f}"
        assert rows[0]["currency"] == "USD"
        assert {(row["type"], row["kind"]) for row in rows} == {("charge", "Sale")}


def test_payouts_say_which_ones_stripe_itemises_and_what_a_failure_did(
    cast, client_as, seller, emulated_stripe, stripe_client
):
    """A manual payout is not itemised by Stripe, and a failed one returned its money: the
    pages say so instead of "not reconciled yet"."""
    on_seller = {"stripe_account": seller.stripe_id}
    emulated_stripe.control("POST", "charges", account=seller.stripe_id, amount=50_000)
    emulated_stripe.control("POST", f"accounts/{seller.stripe_id}/payouts", fail_next="no_account")
    emulated_stripe.advance(days=4)  # funds settle; the daily payout goes out and fails
    emulated_stripe.control("POST", f"accounts/{seller.stripe_id}/external_accounts")
    stripe_client.v1.accounts.update(
        seller.stripe_id, {"settings": {"payouts": {"schedule": {"interval": "manual"}}}}
    )
    stripe_client.v1.payouts.create({"amount": 20_000, "currency": "usd"}, on_seller)
    mirror.sync_account(seller, throttle=mirror.Throttle(1_000_000, sleep=lambda s: None))
    failed = Payout.objects.get(status="failed")
    manual = Payout.objects.get(automatic=False)
    client = client_as(cast.parent_owner)
    listing = client.get(url(cast, "billing/payouts/")).content.decode()
    assert "Not itemised by Stripe (manual payout)" in listing
    assert "Returned to your balance" in listing
    detail = client.get(url(cast, f"billing/payouts/{manual.stripe_id}/")).content.decode()
    assert "Stripe does not itemise manual payouts" in detail and "$200.00" in detail
    assert "Not reconciled yet" not in detail
    detail = client.get(url(cast, f"billing/payouts/{failed.stripe_id}/")).content.decode()
    assert "came back to your balance" in detail


class TestPayoutsAndInvoices:
    def test_a_payout_detail_adds_up(self, cast, client_as, synced):
        payout = Payout.objects.filter(status="paid").first()
        html = (
            client_as(cast.parent_owner)
            .get(url(cast, f"billing/payouts/{payout.stripe_id}/"))
            .content.decode()
        )
        assert "Adds up to the payout" in html

    def test_another_accounts_payout_is_404(self, cast, client_as, synced):
        assert (
            client_as(cast.parent_owner).get(url(cast, "billing/payouts/po_nope/")).status_code
            == 404
        )

    def test_invoices_open_by_number_or_id(self, cast, client_as, synced):
        invoice = Invoice.objects.exclude(number="").first()
        client = client_as(cast.parent_owner)
        by_number = client.get(url(cast, f"billing/invoices/{invoice.number}/"))
        by_id = client.get(url(cast, f"billing/invoices/{invoice.stripe_id}/"))
        assert by_number.status_code == by_id.status_code == 200
        assert invoice.number in by_id.content.decode()
        assert "Status history" in by_number.content.decode()

    def test_the_billing_portal_is_minted_on_click(self, cast, client_as, synced, emulated_stripe):
        invoice = Invoice.objects.exclude(number="").first()
        response = client_as(cast.parent_owner).post(
            url(cast, f"billing/invoices/{invoice.number}/portal/")
        )
        assert response.status_code == 302
        assert response["Location"].startswith(emulated_stripe.base_url)
        # Stripe refuses a portal session on a connected account without a configuration: we
        # made ours on the seller's account once, and reuse it on the next click.
        client = emulated_stripe.client()
        on_seller = {"stripe_account": synced.stripe_id}
        [config] = client.v1.billing_portal.configurations.list(None, on_seller).data
        assert config.features.invoice_history.enabled is True
        again = client_as(cast.parent_owner).post(
            url(cast, f"billing/invoices/{invoice.number}/portal/")
        )
        assert again.status_code == 302
        assert len(client.v1.billing_portal.configurations.list(None, on_seller).data) == 1

    def test_pending_items_are_grouped_by_buyer(self, cast, client_as, synced):
        buyer = invoicing.buyer_for(synced, reference="z", name="Zeta Brands")
        invoicing.record_usage(
            synced,
            buyer,
            usage_id="p1",
            kind=ItemKind.VARIABLE_COST,
            description="CTV impressions",
            currency="usd",
            quantity=1_500,
            unit_amount=250,
            metric="impressions (thousands)",
        )
        html = client_as(cast.parent_owner).get(url(cast, "billing/pending/")).content.decode()
        assert "Zeta Brands" in html and "impressions (thousands)" in html and "$3,750.00" in html


class TestInheritanceAndChildren:
    def test_an_inheriting_child_sees_where_its_money_goes(self, cast, client_as, synced):
        html = (
            client_as(cast.parent_owner)
            .get(f"/c/{cast.sibling.pk}/billing/transactions/")
            .content.decode()
        )
        assert "Settled through Northwind Media’s Stripe account" in html
        # Only its own share of the parent's ledger: none of the parent's own payments.
        assert 'data-testid="txn-row"' not in html

    def test_fees_show_inheritance(self, cast, client_as, synced):
        html = (
            client_as(cast.parent_owner).get(f"/c/{cast.sibling.pk}/billing/fees/").content.decode()
        )
        assert "Inherited from Northwind Media" in html
        assert "<dd>10 %</dd>" in html
        assert "E+" not in html

    def test_fees_say_the_platform_pays_stripe_processing(self, cast, client_as, synced):
        # Our Express accounts have controller.fees.payer=application: Stripe bills its
        # processing fee to the platform, so the seller keeps the payment less our fees.
        html = client_as(cast.parent_owner).get(url(cast, "billing/fees/")).content.decode()
        assert "paid by the platform" in html
        assert "before Stripe processing" not in html

    def test_the_children_page_lists_each_child(self, cast, client_as, synced):
        html = client_as(cast.parent_owner).get(url(cast, "children/")).content.decode()
        assert "Northwind News" in html and "Northwind Sports" in html
        assert f'href="/c/{cast.child.pk}/"' in html

    def test_children_page_is_only_for_parents(self, cast, client_as, synced):
        assert client_as(cast.child_owner).get(f"/c/{cast.child.pk}/children/").status_code == 404


def test_members_cannot_open_a_buyers_billing_portal(cast, client_as, synced):
    invoice = Invoice.objects.exclude(number="").first()
    client = client_as(cast.parent_viewer)
    assert (
        "Open billing portal"
        not in client.get(url(cast, f"billing/invoices/{invoice.number}/")).content.decode()
    )
    assert client.post(url(cast, f"billing/invoices/{invoice.number}/portal/")).status_code == 403


def test_a_forged_cursor_shows_the_newest_page_not_an_error(cast, client_as, synced):
    import base64

    forged = "cur_" + base64.urlsafe_b64encode(b"9" * 30 + b":1").decode().rstrip("=")
    response = client_as(cast.parent_owner).get(
        url(cast, "billing/transactions/"), {"after": forged}, follow=True
    )
    assert response.status_code == 200
    assert "showing the newest transactions" in response.content.decode()


def test_csv_cells_never_start_a_spreadsheet_formula(cast, client_as, synced):
    BalanceTransaction.objects.filter(type="charge").update(
        description='=HYPERLINK("http://evil","x")'
    )
    response = client_as(cast.parent_owner).get(
        url(cast, "billing/transactions.csv"), {"kind": "sales"}
    )
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and all(row["description"].startswith("'=") for row in rows)


def test_an_inheriting_child_shows_the_status_of_the_account_that_bills_it(cast, client_as, synced):
    html = client_as(cast.parent_owner).get(url(cast, "children/")).content.decode()
    news_row = html.split("<tbody>", 1)[1].split("Northwind News", 1)[1].split("</tr>", 1)[0]
    assert "Inherits Northwind Media’s billing" in news_row
    assert "Complete" in news_row


def test_a_payout_still_in_transit_after_its_arrival_date_is_flagged_late(cast, client_as, synced):
    from datetime import timedelta

    from django.utils import timezone

    Payout.objects.create(
        connect_account=synced,
        stripe_id="po_stuck",
        amount=12_345,
        currency="usd",
        status="in_transit",
        created=timezone.now() - timedelta(days=20),
        arrival_date=timezone.now() - timedelta(days=18),
    )
    html = client_as(cast.parent_owner).get(url(cast)).content.decode()
    assert "$123.45" in html and ">late<" in html


def test_a_payout_without_reconciled_transactions_shows_no_zero_totals(cast, client_as, synced):
    from django.utils import timezone

    Payout.objects.create(
        connect_account=synced,
        stripe_id="po_fresh",
        amount=5_000,
        currency="usd",
        status="in_transit",
        created=timezone.now(),
        arrival_date=timezone.now(),
    )
    html = client_as(cast.parent_owner).get(url(cast, "billing/payouts/po_fresh/")).content.decode()
    assert 'data-testid="payout-totals"' not in html
    assert "listed once it has been paid" in html


def test_a_csv_with_bad_filters_goes_back_to_the_ledger_with_the_message(cast, client_as, synced):
    response = client_as(cast.parent_owner).get(
        url(cast, "billing/transactions.csv"),
        {"since": "2026-10-01", "until": "2026-01-01"},
        follow=True,
    )
    assert response.status_code == 400
    assert "must be on or before" in response.content.decode()
    assert response.redirect_chain[0][0].startswith(url(cast, "billing/transactions/?"))


@pytest.mark.parametrize(
    "since,until",
    [
        ("", "9999-12-31"),
        ("0001-01-01", ""),
        ("9999-12-31", ""),
        ("0001-01-01", "9999-12-31"),
        ("9999-12-31", "9999-12-31"),
        ("0001-01-01", "0001-01-01"),
    ],
)
def test_the_ends_of_the_calendar_filter_the_ledger_and_its_csv(
    cast, client_as, synced, since, until
):
    client = client_as(cast.parent_owner)
    params = {"since": since, "until": until}
    everything = BalanceTransaction.objects.filter(connect_account=synced).count()
    expected = (
        everything
        if (since, until) in {("", "9999-12-31"), ("0001-01-01", ""), ("0001-01-01", "9999-12-31")}
        else 0
    )
    response = client.get(url(cast, "billing/transactions/"), params)
    assert response.status_code == 200
    assert response.content.decode().count('data-testid="txn-row"') == min(expected, 25)
    response = client.get(url(cast, "billing/transactions.csv"), params)
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) - 1 == expected
