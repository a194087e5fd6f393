"""Every balance transaction named in a seller's words, and the ledger filtered by kind."""

from __future__ import annotations

import csv
import io
import re
import typing

import pytest
from stripe._balance_transaction import BalanceTransaction as StripeBalanceTransaction

from billing import invoicing, mirror
from billing.ledger import KINDS, TYPE_NAMES, type_name
from billing.models import BalanceTransaction, Payout
from tests.billing_fixtures import plan_invoice


def _stripe_types() -> tuple[str, ...]:
    annotation = StripeBalanceTransaction.__annotations__["type"]
    [literal] = [
        arg for arg in typing.get_args(annotation) if typing.get_origin(arg) is typing.Literal
    ]
    return typing.get_args(literal)


def test_every_type_stripe_lists_has_a_name():
    types = _stripe_types()
    assert len(types) > 40
    assert set(types) <= set(TYPE_NAMES)
    for name in TYPE_NAMES.values():
        assert "_" not in name and name[0].isupper()


@pytest.mark.parametrize(
    ("type_", "category", "name"),
    [
        ("charge", "charge", "Sale"),
        ("payment", "charge", "Sale"),
        ("refund", "refund", "Refund"),
        ("payment_refund", "refund", "Refund"),
        ("adjustment", "dispute", "Chargeback"),
        ("adjustment", "dispute_reversal", "Chargeback reversal"),
        ("adjustment", "other_adjustment", "Adjustment"),
        ("application_fee_refund", "platform_earning_refund", "Fee refund"),
        ("payout", "payout", "Payout"),
        ("payout_failure", "payout_reversal", "Payout returned"),
        ("payout_cancel", "payout_reversal", "Payout cancelled"),
        ("stripe_fee", "fee", "Stripe fee"),
        ("brand_new_thing", "", "Brand new thing"),
        ("", "", "Transaction"),
    ],
)
def test_names(type_, category, name):
    assert type_name(type_, category) == name


@pytest.fixture
def eventful(busy_seller, emulated_stripe, stripe_client):
    """The busy seller after a refund, a chargeback and a payout that came back."""
    on_seller = {"stripe_account": busy_seller.stripe_id}
    charges = stripe_client.v1.charges.list({"limit": 10}, on_seller).data
    assert len(charges) >= 2
    stripe_client.v1.refunds.create({"charge": charges[0].id, "amount": 5_000}, on_seller)
    emulated_stripe.control("POST", f"charges/{charges[1].id}/dispute", reason="fraudulent")
    # Fresh money for a payout, which the bank then returns.
    buyer = invoicing.buyer_for(busy_seller, reference="b1", name="Acme")
    invoice = plan_invoice(busy_seller, buyer, 250_000, usage_id="late", description="Plan, late")
    emulated_stripe.control("POST", f"invoices/{invoice.stripe_id}/pay")
    emulated_stripe.control(
        "POST", f"accounts/{busy_seller.stripe_id}/payouts", fail_next="account_closed"
    )
    emulated_stripe.advance(days=10)
    mirror.sync_account(busy_seller, throttle=mirror.Throttle(1_000_000, sleep=lambda s: None))
    busy_seller.refresh_from_db()
    return busy_seller


def _ledger(client, cast, **params) -> str:
    response = client.get(f"/c/{cast.parent.pk}/billing/transactions/", params)
    assert response.status_code == 200
    return response.content.decode()


def _ids(html: str) -> set[str]:
    return set(re.findall(r'data-txn="(txn_\w+)"', html))


def test_the_ledger_names_each_transaction_and_filters_by_kind(cast, client_as, eventful):
    txns = BalanceTransaction.objects.filter(connect_account=eventful)
    types = set(txns.values_list("type", "reporting_category"))
    assert ("refund", "refund") in types
    assert ("adjustment", "dispute") in types
    assert ("payout_failure", "payout_reversal") in types
    assert Payout.objects.filter(connect_account=eventful, status="failed").exists()
    assert txns.count() <= 25  # one page holds them all

    client = client_as(cast.parent_owner)
    html = _ledger(client, cast)
    for name in ("Sale", "Refund", "Chargeback", "Payout returned", "Payout"):
        assert f'<td class="hide-sm">{name}</td>' in html
    for raw in ("Payout_failure", "payout_failure", "Adjustment</td>", "Charge</td>"):
        assert raw not in html

    by_kind = {
        "sales": {"charge"},
        "refunds": {"refund"},
        "disputes": {"adjustment"},
        "fees": {"application_fee", "application_fee_refund", "stripe_fee"},
        "payouts": {"payout", "payout_failure", "payout_cancel"},
        "adjustments": set(),
        "other": set(),
    }
    assert set(by_kind) == set(KINDS)
    seen: set[str] = set()
    for kind, kind_types in by_kind.items():
        expected = {
            t.stripe_id
            for t in txns
            if t.type in kind_types
            and (kind != "disputes" or t.reporting_category in ("dispute", "dispute_reversal"))
        }
        assert _ids(_ledger(client, cast, kind=kind)) == expected, kind
        assert not seen & expected  # no row is of two kinds
        seen |= expected
    assert seen == set(txns.values_list("stripe_id", flat=True))  # and every row is of one
    assert _ids(_ledger(client, cast, kind="disputes"))
    assert len(_ids(_ledger(client, cast, kind="payouts"))) >= 2


def test_a_plain_adjustment_is_not_a_chargeback(cast, client_as, eventful):
    adjustment = BalanceTransaction.objects.create(
        connect_account=eventful,
        stripe_id="txn_adjust",
        amount=-100,
        fee=0,
        net=-100,
        currency="usd",
        type="adjustment",
        reporting_category="other_adjustment",
        status="available",
        created=eventful.created_at,
    )
    odd = BalanceTransaction.objects.create(
        connect_account=eventful,
        stripe_id="txn_odd",
        amount=100,
        fee=0,
        net=100,
        currency="usd",
        type="reserve_release",
        reporting_category="risk_reserved_funds",
        status="available",
        created=eventful.created_at,
    )
    client = client_as(cast.parent_owner)
    assert _ids(_ledger(client, cast, kind="adjustments")) == {adjustment.stripe_id}
    assert _ids(_ledger(client, cast, kind="other")) == {odd.stripe_id}
    assert adjustment.stripe_id not in _ids(_ledger(client, cast, kind="disputes"))
    assert "Reserve released" in _ledger(client, cast, kind="other")


def test_an_unknown_kind_is_a_clear_error(cast, client_as, eventful):
    response = client_as(cast.parent_owner).get(
        f"/c/{cast.parent.pk}/billing/transactions/", {"kind": "bogus"}
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_the_csv_keeps_stripes_type_and_adds_the_kind(cast, client_as, eventful):
    response = client_as(cast.parent_owner).get(
        f"/c/{cast.parent.pk}/billing/transactions.csv", {"kind": "disputes"}
    )
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows
    assert {(row["type"], row["reporting_category"], row["kind"]) for row in rows} == {
        ("adjustment", "dispute", "Chargeback")
    }
    everything = client_as(cast.parent_owner).get(f"/c/{cast.parent.pk}/billing/transactions.csv")
    text = b"".join(everything.streaming_content).decode("utf-8-sig")
    kinds = {row["type"]: row["kind"] for row in csv.DictReader(io.StringIO(text))}
    assert kinds["payout_failure"] == "Payout returned"
    assert kinds["refund"] == "Refund"
    assert kinds["charge"] == "Sale"


def test_the_overview_and_payout_detail_use_the_names(cast, client_as, eventful):
    client = client_as(cast.parent_owner)
    overview = client.get(f"/c/{cast.parent.pk}/").content.decode()
    recent = BalanceTransaction.objects.filter(connect_account=eventful).newest_first()[:6]
    for txn in recent:
        assert f'<td class="hide-sm">{txn.type_name}</td>' in overview
    assert "Payout_failure" not in overview and "Charge</td>" not in overview
    paid = Payout.objects.filter(connect_account=eventful, status="paid").first()
    detail = client.get(f"/c/{cast.parent.pk}/billing/payouts/{paid.stripe_id}/").content.decode()
    assert '<td class="hide-sm">Sale</td>' in detail
    assert "Charge</td>" not in detail
