"""Payouts name their bank and the schedule and export one at a time; balances say what is
available and what pending; invoices are searched from one box; unpaid fees are "will be
charged"."""

from __future__ import annotations

import csv
import io
from types import SimpleNamespace

import pytest

from billing import dashboard, invoicing, mirror
from billing.models import BalanceTransaction, Invoice, ItemKind, Payout

FAST = {"throttle": mirror.Throttle(1_000_000, sleep=lambda s: None)}


def url(customer, path=""):
    return f"/c/{customer.pk}/{path}"


@pytest.fixture
def synced(busy_seller):
    mirror.sync_account(busy_seller, **FAST)
    busy_seller.refresh_from_db()
    return busy_seller


def csv_rows(response):
    return list(
        csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")))
    )


class TestPayouts:
    def test_list_and_detail_name_the_destination_bank(self, cast, client_as, synced):
        payout = Payout.objects.filter(status="paid").first()
        bank = synced.raw["external_accounts"]["data"][0]
        assert payout.destination_stripe_id == bank["id"] == payout.raw["destination"]
        assert (bank["bank_name"], bank["last4"]) == ("STRIPE TEST BANK", "6789")
        assert payout.destination_label == "STRIPE TEST BANK •••• 6789"
        client = client_as(cast.parent_owner)
        for path in ("billing/payouts/", f"billing/payouts/{payout.stripe_id}/"):
            html = client.get(url(cast.parent, path)).content.decode()
            cell = html.split('data-testid="payout-bank">')[1].split("</td>")[0].split("</dd>")[0]
            assert "STRIPE TEST BANK" in cell and "•••• 6789" in cell

    def test_a_payout_to_a_bank_added_later_names_that_bank(
        self, cast, client_as, seller, emulated_stripe
    ):
        emulated_stripe.control("POST", "charges", account=seller.stripe_id, amount=50_000)
        emulated_stripe.control(
            "POST", f"accounts/{seller.stripe_id}/payouts", fail_next="no_account"
        )
        emulated_stripe.advance(days=4)  # the payout to the first bank fails
        emulated_stripe.control(
            "POST",
            f"accounts/{seller.stripe_id}/external_accounts",
            account_number="000999994321",
        )
        emulated_stripe.advance(days=2)  # and the money goes to the new one
        mirror.sync_account(seller, **FAST)
        failed = Payout.objects.get(status="failed")
        later = Payout.objects.exclude(pk=failed.pk).order_by("-created").first()
        assert failed.destination_last4 == "6789"
        assert later.destination_last4 == "4321"
        html = client_as(cast.parent_owner).get(url(cast.parent, "billing/payouts/")).content
        assert "•••• 4321" in html.decode() and "•••• 6789" in html.decode()

    def test_the_schedule_is_shown_in_words(self, cast, client_as, synced, stripe_client):
        client = client_as(cast.parent_owner)
        html = client.get(url(cast.parent, "billing/payouts/")).content.decode()
        assert "Daily, 2-day delay" in html
        stripe_client.v1.accounts.update(
            synced.stripe_id,
            {
                "settings": {
                    "payouts": {"schedule": {"interval": "weekly", "weekly_anchor": "monday"}}
                }
            },
        )
        mirror.sync_account(synced, **FAST)
        html = client.get(url(cast.parent, "billing/payouts/")).content.decode()
        assert "Weekly on Monday" in html

    @pytest.mark.parametrize(
        ("schedule", "words"),
        [
            ({"interval": "daily", "delay_days": 2}, "Daily, 2-day delay"),
            ({"interval": "weekly", "weekly_anchor": "monday"}, "Weekly on Monday"),
            (
                {"interval": "weekly", "weekly_payout_days": ["monday", "thursday"]},
                "Weekly on Monday and Thursday",
            ),
            ({"interval": "monthly", "monthly_anchor": 15}, "Monthly on the 15th"),
            ({"interval": "monthly", "monthly_anchor": 1}, "Monthly on the 1st"),
            ({"interval": "monthly", "monthly_anchor": 22}, "Monthly on the 22nd"),
            ({"interval": "monthly", "monthly_anchor": 13}, "Monthly on the 13th"),
            ({"interval": "manual"}, "Manual"),
            (None, ""),
        ],
    )
    def test_schedule_words(self, schedule, words):
        raw = {"settings": {"payouts": {"schedule": schedule}}} if schedule else {}
        assert dashboard.payout_schedule(SimpleNamespace(raw=raw)) == words

    def test_a_payouts_csv_holds_exactly_its_transactions(self, cast, client_as, synced):
        client = client_as(cast.parent_owner)
        payouts = list(Payout.objects.filter(status="paid", reconciliation_status="completed"))
        assert len(payouts) >= 2
        for payout in payouts:
            response = client.get(
                url(cast.parent, f"billing/payouts/{payout.stripe_id}/transactions.csv")
            )
            assert response.status_code == 200
            assert payout.stripe_id in response["Content-Disposition"]
            rows = csv_rows(response)
            expected = set(
                BalanceTransaction.objects.filter(payout_stripe_id=payout.stripe_id)
                .carried_by_payouts()
                .values_list("stripe_id", flat=True)
            )
            assert expected and {row["id"] for row in rows} == expected
            assert {row["payout"] for row in rows} == {payout.stripe_id}
            assert sum(int(row["net"].replace(".", "")) for row in rows) == payout.amount
        detail = client.get(url(cast.parent, f"billing/payouts/{payouts[0].stripe_id}/"))
        assert f"payouts/{payouts[0].stripe_id}/transactions.csv" in detail.content.decode()

    def test_another_tenants_payout_csv_is_404(self, cast, client_as, synced):
        payout = Payout.objects.first()
        path = f"billing/payouts/{payout.stripe_id}/transactions.csv"
        assert client_as(cast.stranger).get(url(cast.parent, path)).status_code == 404
        # A child billed through the parent does not get the parent's payouts either.
        assert client_as(cast.child_owner).get(url(cast.child, path)).status_code == 404

    def test_balances_say_available_and_pending(self, cast, client_as, synced, emulated_stripe):
        emulated_stripe.control("POST", "charges", account=synced.stripe_id, amount=12_300)
        mirror.sync_account(synced, **FAST)
        synced.refresh_from_db()
        available = sum(e["amount"] for e in synced.balance_available if e["currency"] == "usd")
        pending = sum(e["amount"] for e in synced.balance_pending if e["currency"] == "usd")
        assert pending > 0
        from billing.money import format_money

        expected = (
            f"{format_money(available, 'usd')} available · {format_money(pending, 'usd')} pending"
        )
        client = client_as(cast.parent_owner)
        assert expected in client.get(url(cast.parent, "billing/payouts/")).content.decode()
        # The child list: a child with its own account shows both parts, never one sum.
        from billing import onboarding
        from storefront import access

        child_connect, _ = onboarding.provision(access.resolve(cast.parent_owner, cast.child.pk))
        emulated_stripe.complete_onboarding(child_connect.stripe_id)
        emulated_stripe.control("POST", "charges", account=child_connect.stripe_id, amount=4_500)
        onboarding.refresh(child_connect)
        html = client.get(url(cast.parent, "children/")).content.decode()
        assert "$0.00 available · $45.00 pending" in html or "available · $45.00 pending" in html
        assert "In Northwind Media’s balance" in html  # the inheriting sibling


class TestInvoiceSearch:
    @pytest.fixture
    def invoices(self, seller, emulated_stripe):
        seller.billing_account.change_fee_schedule(platform_fee_percent="10")
        made = {}
        for ref, name, amount in [
            ("a", "Acme Agency", 123_456),
            ("b", "Initech Ads", 50_000),
            ("c", "Umbrella Brands", 77_700),
        ]:
            buyer = invoicing.buyer_for(seller, reference=ref, name=name)
            invoicing.record_usage(
                seller,
                buyer,
                usage_id=f"u-{ref}",
                kind=ItemKind.PLAN_COST,
                description="Plan",
                currency="usd",
                amount=amount,
            )
        for invoice in invoicing.run_billing(seller).invoices:
            made[invoice.buyer.reference] = invoice
        emulated_stripe.control("POST", f"invoices/{made['b'].stripe_id}/pay")
        mirror.sync_account(seller, **FAST)
        return {ref: Invoice.objects.get(pk=i.pk) for ref, i in made.items()}

    def search(self, client, customer, q, **headers):
        response = client.get(url(customer, "billing/invoices/"), {"q": q}, **headers)
        assert response.status_code == 200
        return response.content.decode()

    @pytest.mark.parametrize(
        ("query", "found"),
        [
            ("acme", {"a"}),
            ("INITECH", {"b"}),
            ("1,234.56", {"a"}),
            ("$1234.56", {"a"}),
            ("777", {"c"}),
            ("paid", {"b"}),
            ("open", {"a", "c"}),
            ("nothing like it", set()),
        ],
    )
    def test_one_box_finds_by_buyer_amount_or_status(self, cast, client_as, invoices, query, found):
        html = self.search(client_as(cast.parent_owner), cast.parent, query)
        shown = {ref for ref, invoice in invoices.items() if f">{invoice.number}<" in html}
        assert shown == found
        if not found:
            assert "No invoice matches" in html

    def test_numbers_are_found_in_any_case_and_opened_in_any_case(self, cast, client_as, invoices):
        client = client_as(cast.parent_owner)
        number = invoices["c"].number
        assert number != number.lower()
        html = self.search(client, cast.parent, number.lower())
        assert f">{number}<" in html and f">{invoices['a'].number}<" not in html
        detail = client.get(url(cast.parent, f"billing/invoices/{number.lower()}/"))
        assert detail.status_code == 200 and number in detail.content.decode()

    def test_the_url_keeps_the_query_and_htmx_gets_only_the_list(self, cast, client_as, invoices):
        client = client_as(cast.parent_owner)
        full = self.search(client, cast.parent, "acme")
        assert 'value="acme"' in full and "<form" in full  # a shared link shows the query
        partial = self.search(client, cast.parent, "acme", HTTP_HX_REQUEST="true")
        assert partial.lstrip().startswith('<section class="card" id="invoice-list"')
        assert invoices["a"].number in partial and "<form" not in partial

    def test_unpaid_fees_will_be_charged_and_paid_fees_were(self, cast, client_as, invoices):
        client = client_as(cast.parent_owner)
        unpaid = client.get(url(cast.parent, f"billing/invoices/{invoices['a'].number}/"))
        html = unpaid.content.decode()
        assert "will be charged when it is paid" in html and "charged when it was paid" not in html
        paid = client.get(url(cast.parent, f"billing/invoices/{invoices['b'].number}/"))
        html = paid.content.decode()
        assert "charged when it was paid" in html and "will be charged" not in html
