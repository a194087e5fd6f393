"""A child billed through its parent's Stripe account sees its own activity there: the
invoices, pending items, payments and CSV rows of its own buyers, labelled as settled through
the parent, and never a sibling's nor the parent's other rows."""

from __future__ import annotations

import csv
import io

import pytest

from billing import invoicing, mirror
from billing.models import BalanceTransaction, Invoice, ItemKind
from storefront.models import Role
from tests.factories import make_member

AMOUNTS = {"child": 111_100, "sibling": 222_200, "parent": 333_300}
NAMES = {"child": "Kid Brands", "sibling": "Sib Brands", "parent": "Parent Brands"}


@pytest.fixture
def family(cast, seller, emulated_stripe):
    """On Northwind Media's account: a buyer of each child and one of its own, each with a paid
    invoice (so a payment in the ledger) and a pending item."""
    seller.billing_account.change_fee_schedule(platform_fee_percent="10")
    sellers = {"child": cast.child, "sibling": cast.sibling, "parent": None}
    buyers = {
        who: invoicing.buyer_for(seller, reference=who, name=NAMES[who], seller=sellers[who])
        for who in AMOUNTS
    }
    for who, buyer in buyers.items():
        invoicing.record_usage(
            seller,
            buyer,
            usage_id=f"plan-{who}",
            kind=ItemKind.PLAN_COST,
            description=f"Plan of {who}",
            currency="usd",
            amount=AMOUNTS[who],
        )
    for invoice in invoicing.run_billing(seller).invoices:
        emulated_stripe.control("POST", f"invoices/{invoice.stripe_id}/pay")
    for who, buyer in buyers.items():
        invoicing.record_usage(
            seller,
            buyer,
            usage_id=f"later-{who}",
            kind=ItemKind.PLAN_COST,
            description=f"Pending of {who}",
            currency="usd",
            amount=AMOUNTS[who] + 1,
        )
    emulated_stripe.advance(days=7)  # funds settle and are paid out (to the parent's bank)
    mirror.sync_account(seller, throttle=mirror.Throttle(1_000_000, sleep=lambda s: None))
    invoices = {who: Invoice.objects.get(buyer=buyer) for who, buyer in buyers.items()}
    assert all(i.status == "paid" and i.charge_stripe_id for i in invoices.values())
    return invoices


def page(client, customer, path):
    response = client.get(f"/c/{customer.pk}/billing/{path}")
    return response.status_code, response.content.decode()


def test_the_stripe_customer_carries_the_child_and_the_buyer_keeps_it(
    cast, family, emulated_stripe
):
    buyer = family["child"].buyer
    assert buyer.seller == cast.child
    customer = emulated_stripe.client().v1.customers.retrieve(
        buyer.stripe_customer_id,
        None,
        {"stripe_account": family["child"].connect_account.stripe_id},
    )
    assert customer.metadata["seller_customer_id"] == str(cast.child.pk)


def test_a_buyer_can_only_belong_to_a_child_of_the_accounts_customer(cast, seller):
    with pytest.raises(ValueError, match="child"):
        invoicing.buyer_for(seller, reference="x", name="X", seller=cast.standalone)


@pytest.mark.parametrize("user_name", ["child_owner", "parent_owner"])
def test_the_childs_invoices_are_its_own_only(cast, client_as, family, user_name):
    status, html = page(client_as(getattr(cast, user_name)), cast.child, "invoices/")
    assert status == 200
    assert 'data-testid="through-parent"' in html
    assert "Settled through Northwind Media’s Stripe account" in html
    assert family["child"].number in html and NAMES["child"] in html
    for other in ("sibling", "parent"):
        assert family[other].number not in html and NAMES[other] not in html


def test_the_childs_invoice_opens_and_a_siblings_or_the_parents_is_404(cast, client_as, family):
    client = client_as(cast.child_owner)
    status, html = page(client, cast.child, f"invoices/{family['child'].number.lower()}/")
    assert status == 200 and "$1,111.00" in html
    assert "Open billing portal" not in html  # the parent's buyers' portal is not the child's
    for other in ("sibling", "parent"):
        for ref in (family[other].number, family[other].stripe_id):
            assert page(client, cast.child, f"invoices/{ref}/")[0] == 404
    assert (
        client.post(
            f"/c/{cast.child.pk}/billing/invoices/{family['child'].number}/portal/"
        ).status_code
        == 404
    )


def test_the_childs_transactions_are_the_payments_of_its_invoices(cast, client_as, family):
    client = client_as(cast.child_owner)
    status, html = page(client, cast.child, "transactions/")
    assert status == 200 and 'data-testid="through-parent"' in html
    mine = set(
        BalanceTransaction.objects.filter(source_id=family["child"].charge_stripe_id).values_list(
            "stripe_id", flat=True
        )
    )
    assert mine
    shown = {
        line.split('data-txn="')[1].split('"')[0]
        for line in html.split("\n")
        if 'data-txn="' in line
    }
    assert shown == mine
    # The totals and the CSV cover the same rows, and nothing else.
    response = client.get(f"/c/{cast.child.pk}/billing/transactions.csv")
    rows = list(
        csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")))
    )
    assert {row["id"] for row in rows} == mine
    assert {row["invoice"] for row in rows} == {family["child"].number}
    totals = client.get(f"/c/{cast.child.pk}/billing/transactions/totals/").content.decode()
    assert f"{len(mine)} transaction" in totals and "amount $1,111.00" in totals


def test_the_childs_pending_items_are_its_own(cast, client_as, family):
    status, html = page(client_as(cast.child_owner), cast.child, "pending/")
    assert status == 200 and 'data-testid="through-parent"' in html
    assert "Pending of child" in html
    assert "Pending of sibling" not in html and "Pending of parent" not in html


def test_a_sibling_sees_its_own_and_never_the_childs(cast, client_as, family):
    sibling_owner = make_member(cast.sibling, Role.ADMIN, "owner@news.northwind.test")
    client = client_as(sibling_owner)
    _, invoices = page(client, cast.sibling, "invoices/")
    assert family["sibling"].number in invoices and family["child"].number not in invoices
    _, pending = page(client, cast.sibling, "pending/")
    assert "Pending of sibling" in pending and "Pending of child" not in pending
    # And it can never reach the child's pages at all.
    assert page(client, cast.child, "invoices/")[0] == 404


def test_the_parent_still_sees_everything_on_its_account(cast, client_as, family):
    _, html = page(client_as(cast.parent_owner), cast.parent, "invoices/")
    assert 'data-testid="through-parent"' not in html
    assert all(invoice.number in html for invoice in family.values())
    # Whose sale each child's invoice is.
    assert "for Northwind Sports" in html and "for Northwind News" in html


def test_a_childs_payouts_page_says_where_its_money_is_paid_out_without_a_cta_it_cannot_take(
    cast, client_as, family
):
    status, html = page(client_as(cast.child_owner), cast.child, "payouts/")
    assert status == 200
    assert "pays them out to Northwind Media’s bank account" in html
    assert "its own Stripe account" not in html  # only the parent's admins may give it one
    assert f'href="/c/{cast.child.pk}/billing/transactions/"' in html
    [payout] = family["parent"].connect_account.payouts.all()
    assert page(client_as(cast.child_owner), cast.child, f"payouts/{payout.stripe_id}/")[0] == 404
    assert page(client_as(cast.parent_owner), cast.parent, f"payouts/{payout.stripe_id}/")[0] == 200


def test_the_childs_overview_sums_up_its_own_share(cast, client_as, family):
    response = client_as(cast.child_owner).get(f"/c/{cast.child.pk}/")
    html = response.content.decode()
    assert 'data-testid="own-activity"' in html
    assert "Your sales through Northwind Media" in html
    own = BalanceTransaction.objects.get(source_id=family["child"].charge_stripe_id)
    sibling = BalanceTransaction.objects.get(source_id=family["sibling"].charge_stripe_id)
    section = html.split('data-testid="own-activity"')[1].split("</section>")[0]
    from billing.money import format_money

    assert format_money(own.net, "usd") in section
    assert format_money(sibling.net, "usd") not in section
    assert "<dd>1 <a" in section.replace("\n", "")  # one pending item of its own
    # The parent's overview has no such section.
    parent = client_as(cast.parent_owner).get(f"/c/{cast.parent.pk}/").content.decode()
    assert 'data-testid="own-activity"' not in parent
