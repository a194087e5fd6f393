"""The four cursor-paginated lists, served from the local mirror, newest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from billing import invoicing, mirror
from billing.models import (
    BalanceTransaction,
    Buyer,
    Invoice,
    InvoiceItem,
    ItemKind,
    Payout,
)
from tests.api import contract
from tests.api.conftest import assert_error, assert_ok, local_connect
from tests.billing_fixtures import plan_invoice

LISTS = [
    "/billing/transactions",
    "/billing/payouts",
    "/billing/invoices",
    "/billing/pending-invoice-items",
]
BASE_TIME = datetime(2026, 5, 1, tzinfo=UTC)


def _ts(dt: datetime) -> int:
    return int(dt.timestamp())


@pytest.fixture
def ledger(cast):
    """120 balance transactions on Northwind Media's account, pairs sharing a timestamp."""
    connect = local_connect(cast.parent, "acct_parent")
    BalanceTransaction.objects.bulk_create(
        BalanceTransaction(
            connect_account=connect,
            stripe_id=f"txn_{i:04}",
            amount=1000 + i,
            fee=100,
            net=900 + i,
            currency="usd",
            type="charge",
            status="available",
            created=BASE_TIME + timedelta(seconds=i // 2),
            description=f"Charge {i}",
        )
        for i in range(120)
    )
    return connect


def test_walking_a_long_ledger_visits_every_row_once_newest_first(parent_api, ledger):
    seen, cursor, pages = [], None, 0
    while True:
        response = parent_api.get("/billing/transactions", limit=7, starting_after=cursor)
        body = response.json()
        assert response.status_code == 200 and body["error"] is None
        meta = body["meta"]
        assert (meta["count"], meta["limit"]) == (len(body["data"]), 7)
        seen += [row["id"] for row in body["data"]]
        pages += 1
        if not meta["hasMore"]:
            assert meta["cursor"] is None
            break
        # The cursor is opaque; the public contract also lets a client pass the last item's id instead.
        by_id = parent_api.get(
            "/billing/transactions", limit=7, starting_after=body["data"][-1]["id"]
        )
        cursor = meta["cursor"]
        by_cursor = parent_api.get("/billing/transactions", limit=7, starting_after=cursor)
        assert by_id.json()["data"] == by_cursor.json()["data"]
    expected = list(
        BalanceTransaction.objects.order_by("-created", "-id").values_list("stripe_id", flat=True)
    )
    assert seen == expected
    assert len(seen) == len(set(seen)) == 120
    assert pages == 18  # 17 full pages of 7 and one of 1


def test_the_default_page_is_25_and_the_largest_100(parent_api, ledger):
    body = parent_api.get("/billing/transactions").json()
    assert (len(body["data"]), body["meta"]["limit"], body["meta"]["hasMore"]) == (25, 25, True)
    body = parent_api.get("/billing/transactions", limit=100).json()
    assert (len(body["data"]), body["meta"]["hasMore"]) == (100, True)
    last = parent_api.get("/billing/transactions", limit=100, starting_after=body["meta"]["cursor"])
    assert (len(last.json()["data"]), last.json()["meta"]["hasMore"]) == (20, False)


def test_a_transaction_has_the_documented_fields(parent_api, ledger):
    body = parent_api.get("/billing/transactions", limit=1).json()
    contract.assert_shaped_like(body["meta"], contract.LIST_META, nullable={"cursor"})
    [row] = body["data"]
    contract.assert_shaped_like(row, contract.TRANSACTION, nullable=contract.TRANSACTION_NULLABLE)
    assert row == {
        "id": "txn_0119",
        "type": "charge",
        "amount": 1119,
        "currency": "usd",
        "created": _ts(BASE_TIME) + 59,
        "description": "Charge 119",
        "status": "available",
        "fee": 100,
        "net": 1019,
    }


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("limit", [0, 101, -5, "ten"])
def test_a_limit_outside_1_to_100_is_a_validation_error(parent_api, ledger, path, limit):
    assert_error(parent_api.get(path, limit=limit), 400, "VALIDATION_ERROR", "limit")


@pytest.mark.parametrize(
    "cursor",
    [
        "txn_unknown",
        "po_of_another_list",
        "not a cursor!",
        "cur_OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OjE",
    ],
)
def test_an_unknown_cursor_is_a_validation_error(parent_api, ledger, cursor):
    response = parent_api.get("/billing/transactions", starting_after=cursor)
    assert_error(response, 400, "VALIDATION_ERROR", "starting_after")


def test_a_cursor_from_another_accounts_ledger_is_refused(cast, parent_api, ledger, api_as):
    other = local_connect(cast.other, "acct_other")
    BalanceTransaction.objects.create(
        connect_account=other,
        stripe_id="txn_other",
        amount=1,
        fee=0,
        net=1,
        currency="usd",
        type="charge",
        status="available",
        created=BASE_TIME,
    )
    response = parent_api.get("/billing/transactions", starting_after="txn_other")
    assert_error(response, 400, "VALIDATION_ERROR", "starting_after")


@pytest.mark.parametrize("path", LISTS)
def test_lists_are_empty_for_a_new_account(cast, parent_api, path):
    local_connect(cast.parent, "acct_parent")
    body = parent_api.get(path).json()
    assert body == {
        "data": [],
        "meta": {"count": 0, "limit": 25, "hasMore": False, "cursor": None},
        "error": None,
    }


@pytest.mark.parametrize("path", LISTS)
def test_lists_before_provisioning_are_validation_errors(cast, parent_api, path):
    error = assert_error(parent_api.get(path), 400, "VALIDATION_ERROR")
    assert "provisioned" in error["message"]


@pytest.mark.parametrize("path", LISTS)
def test_lists_make_no_stripe_call(cast, parent_api, settings, path):
    settings.STRIPE_SECRET_KEY = ""
    local_connect(cast.parent, "acct_parent")
    assert_ok(parent_api.get(path))


def test_payouts_invoices_and_pending_items_from_the_mirror(cast, parent_api):
    connect = local_connect(cast.parent, "acct_parent")
    Payout.objects.create(
        connect_account=connect,
        stripe_id="po_1",
        amount=4250000,
        currency="usd",
        status="paid",
        method="standard",
        created=BASE_TIME,
        arrival_date=BASE_TIME + timedelta(days=2),
        description="STRIPE PAYOUT",
        # The API reads the promoted columns, never Stripe's raw object.
        raw={"description": "not read"},
    )
    buyer = Buyer.objects.create(
        connect_account=connect,
        reference="globex",
        name="Globex Corporation",
        email="ap@globex.example",
        stripe_customer_id="cus_Globex",
    )
    Invoice.objects.create(
        connect_account=connect,
        buyer=buyer,
        stripe_id="in_1",
        number="ACME-0042",
        status="paid",
        currency="usd",
        total=500000,
        amount_due=500000,
        amount_paid=500000,
        amount_remaining=0,
        created=BASE_TIME,
        due_date=BASE_TIME + timedelta(days=30),
        hosted_invoice_url="https://invoice.example/in_1",
        invoice_pdf="https://invoice.example/in_1.pdf",
        period_start=datetime.fromtimestamp(1746057600, tz=UTC),
        period_end=datetime.fromtimestamp(1748649600, tz=UTC),
        description="May settlement",
        raw={"period_start": 1, "period_end": 2, "description": "not read"},
    )
    InvoiceItem.objects.create(
        connect_account=connect,
        buyer=buyer,
        stripe_id="ii_1",
        kind=ItemKind.VARIABLE_COST,
        description="Impressions",
        quantity=500,
        unit_amount=250,
        amount=125000,
        currency="usd",
        created=BASE_TIME,
        period_start=BASE_TIME,
        period_end=BASE_TIME + timedelta(days=30),
    )
    InvoiceItem.objects.create(
        connect_account=connect,
        buyer=buyer,
        stripe_id="ii_invoiced",
        kind=ItemKind.PLAN_COST,
        description="Already invoiced",
        amount=1,
        currency="usd",
        created=BASE_TIME,
        invoice_stripe_id="in_1",
    )

    [payout] = assert_ok(parent_api.get("/billing/payouts"))
    contract.assert_shaped_like(payout, contract.PAYOUT, nullable=contract.PAYOUT_NULLABLE)
    assert payout == {
        "id": "po_1",
        "amount": 4250000,
        "currency": "usd",
        "created": _ts(BASE_TIME),
        "arrivalDate": _ts(BASE_TIME) + 2 * 86400,
        "status": "paid",
        "method": "standard",
        "description": "STRIPE PAYOUT",
    }

    [invoice] = assert_ok(parent_api.get("/billing/invoices"))
    contract.assert_shaped_like(invoice, contract.INVOICE, nullable=contract.INVOICE_NULLABLE)
    assert invoice["dueDate"] - invoice["created"] == 30 * 86400
    assert (invoice["customerName"], invoice["customerEmail"]) == (
        "Globex Corporation",
        "ap@globex.example",
    )
    assert (invoice["periodStart"], invoice["periodEnd"]) == (1746057600, 1748649600)

    [item] = assert_ok(parent_api.get("/billing/pending-invoice-items"))
    contract.assert_shaped_like(
        item, contract.PENDING_ITEM, nullable=contract.PENDING_ITEM_NULLABLE
    )
    assert item == {
        "id": "ii_1",
        "description": "Impressions",
        "currency": "usd",
        "amount": 125000,
        "quantity": 500,
        "unitAmount": 250,
        "date": _ts(BASE_TIME),
        "period": {"start": _ts(BASE_TIME), "end": _ts(BASE_TIME) + 30 * 86400},
        "proration": False,
        "customerId": "cus_Globex",
    }


def test_lists_of_a_real_account_synced_from_the_emulator_match_the_contract(
    cast, parent_api, onboarded_parent, emulated_stripe
):
    """Everything the mirror stores from Stripe's own objects maps onto the API's documented fields."""
    seller = onboarded_parent
    buyer = invoicing.buyer_for(seller, reference="globex", name="Globex", email="ap@globex.test")
    seller.billing_account.change_fee_schedule(platform_fee_percent="12.5", default_net_days=30)
    for month in range(2):
        invoice = plan_invoice(
            seller, buyer, 500_000, usage_id=f"m{month}", description=f"Plan, month {month}"
        )
        emulated_stripe.control("POST", f"invoices/{invoice.stripe_id}/pay")
        emulated_stripe.advance(days=5)
    invoicing.record_usage(
        seller,
        buyer,
        usage_id="next",
        kind=ItemKind.VARIABLE_COST,
        description="Impressions",
        currency="usd",
        quantity=400,
        unit_amount=250,
        metric="impressions (thousands)",
    )
    emulated_stripe.advance(days=5)
    mirror.sync_account(seller, throttle=mirror.Throttle(1_000_000, sleep=lambda s: None))

    checks = {
        "/billing/transactions": (contract.TRANSACTION, contract.TRANSACTION_NULLABLE),
        "/billing/payouts": (contract.PAYOUT, contract.PAYOUT_NULLABLE),
        "/billing/invoices": (contract.INVOICE, contract.INVOICE_NULLABLE),
        "/billing/pending-invoice-items": (contract.PENDING_ITEM, contract.PENDING_ITEM_NULLABLE),
    }
    for path, (example, nullable) in checks.items():
        rows = assert_ok(parent_api.get(path, limit=100))
        assert rows, f"{path} is empty"
        for row in rows:
            contract.assert_shaped_like(row, example, nullable=nullable)
        created = [row.get("created", row.get("date")) for row in rows]
        assert created == sorted(created, reverse=True), f"{path} is not newest first"

    invoices = assert_ok(parent_api.get("/billing/invoices"))
    assert [i["status"] for i in invoices] == ["paid", "paid"]
    assert all(i["customerEmail"] == "ap@globex.test" for i in invoices)
    assert all(i["dueDate"] - i["created"] == 30 * 86400 for i in invoices)
    [pending] = assert_ok(parent_api.get("/billing/pending-invoice-items"))
    assert (pending["amount"], pending["quantity"], pending["unitAmount"]) == (100_000, 400, 250)
    assert pending["customerId"] == buyer.stripe_customer_id
    charges = [
        t for t in assert_ok(parent_api.get("/billing/transactions")) if t["type"] == "charge"
    ]
    assert len(charges) == 2
    assert all(t["net"] == t["amount"] - t["fee"] for t in charges)


def test_an_invoice_longer_than_stripes_embedded_lines_leaves_nothing_pending(
    parent_api, onboarded_parent
):
    """Stripe embeds only an invoice's first ten lines; the items on the others are invoiced too."""
    seller = onboarded_parent
    buyer = invoicing.buyer_for(seller, reference="globex", name="Globex", email="ap@globex.test")
    for n in range(1, 26):
        invoicing.record_usage(
            seller,
            buyer,
            usage_id=f"u{n}",
            kind=ItemKind.VARIABLE_COST,
            description=f"Usage line {n:02d}",
            currency="usd",
            quantity=n,
            unit_amount=100,
            metric="clicks",
        )
    assert len(assert_ok(parent_api.get("/billing/pending-invoice-items", limit=100))) == 25
    [invoice] = invoicing.run_billing(seller).invoices
    assert len(invoice.lines) == 25

    [row] = assert_ok(parent_api.get("/billing/invoices"))
    assert (row["id"], row["total"], row["status"]) == (invoice.stripe_id, 32_500, "open")
    assert assert_ok(parent_api.get("/billing/pending-invoice-items", limit=100)) == []


def test_the_mirror_promotes_the_stripe_fields_the_api_reads():
    invoice = Invoice.values_from_stripe(
        {
            "id": "in_1",
            "currency": "usd",
            "created": 1748520000,
            "period_start": 1746057600,
            "period_end": 1748649600,
            "description": "May 2026 media settlement",
            "customer_email": "ap@globex.example",
            "customer_name": "Globex Corporation",
        }
    )
    assert (invoice["period_start"].timestamp(), invoice["period_end"].timestamp()) == (
        1746057600,
        1748649600,
    )
    assert (invoice["description"], invoice["customer_email"], invoice["customer_name"]) == (
        "May 2026 media settlement",
        "ap@globex.example",
        "Globex Corporation",
    )
    payout = Payout.values_from_stripe(
        {"amount": 1, "currency": "usd", "created": 1748520000, "description": "STRIPE PAYOUT"}
    )
    assert payout["description"] == "STRIPE PAYOUT"


@pytest.mark.parametrize("path", ["/billing/transactions", "/billing/payouts"])
def test_a_list_built_without_revalidation_is_what_its_schema_validates(cast, parent_api, path):
    """The transactions and payouts lists build their rows from column values without
    validating them again: each page is exactly what validating the rows through the
    declared schema gives (blank text as null, dates as epoch seconds, the cursor)."""
    from billing.api import PayoutOut, Transaction
    from storefront.api import ListEnvelope, ok_list

    connect = local_connect(cast.parent, "acct_parent")
    for i in range(5):
        created = BASE_TIME + timedelta(days=i)
        BalanceTransaction.objects.create(
            connect_account=connect,
            stripe_id=f"txn_{i}",
            amount=-500 * i,
            fee=30,
            net=-500 * i - 30,
            currency="eur",
            type="refund" if i % 2 else "charge",
            status="pending",
            created=created,
            description="" if i % 2 else f"Order {i}",
        )
        Payout.objects.create(
            connect_account=connect,
            stripe_id=f"po_{i}",
            amount=100 * i,
            currency="usd",
            status="paid",
            created=created,
            arrival_date=None if i % 2 else created,
            method="" if i % 2 else "standard",
            description="" if i % 2 else "STRIPE PAYOUT",
        )
    model, schema = (
        (BalanceTransaction, Transaction) if "transactions" in path else (Payout, PayoutOut)
    )
    rows = list(model.objects.filter(connect_account=connect).order_by("-created", "-id"))
    body = parent_api.get(path, limit=3).json()
    validated = ListEnvelope[schema].model_validate(
        ok_list(rows[:3], limit=3, has_more=True, cursor=body["meta"]["cursor"])
    )
    assert body == validated.model_dump()
    assert any(item["description"] is None for item in body["data"])
    last = parent_api.get(path, limit=3, starting_after=body["meta"]["cursor"]).json()
    assert (
        last
        == ListEnvelope[schema]
        .model_validate(ok_list(rows[3:], limit=3, has_more=False, cursor=None))
        .model_dump()
    )


def test_only_a_plain_schema_is_listed_without_revalidation():
    from billing.api import InvoiceOut, PendingItem, Transaction, plain_fields

    assert [column for _, column, _ in plain_fields(Transaction)][:1] == ["stripe_id"]
    for schema in (InvoiceOut, PendingItem):  # resolvers: they must be validated
        with pytest.raises(TypeError):
            plain_fields(schema)
