"""What a page or API list costs stays fixed as data grows, and what pages cache stays true:
the header's customer list follows membership changes, the chart follows new transactions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import BalanceTransaction, BillingAccount, ConnectAccount
from storefront.models import ApiKey, Membership, Role, Scope
from tests.factories import make_customer


@pytest.fixture
def connect(cast) -> ConnectAccount:
    billing = BillingAccount.objects.create(customer=cast.parent)
    return ConnectAccount.objects.create(
        billing_account=billing,
        stripe_id="acct_costs",
        country="US",
        charges_enabled=True,
        payouts_enabled=True,
        details_submitted=True,
    )


def add_rows(connect: ConnectAccount, start: int, count: int) -> None:
    now = timezone.now()
    BalanceTransaction.objects.bulk_create(
        BalanceTransaction(
            connect_account=connect,
            stripe_id=f"txn_costs_{i}",
            amount=1000 + i,
            fee=-30,
            net=970 + i,
            currency="usd" if i % 3 else "eur",
            type="charge",
            reporting_category="charge",
            status="available",
            created=now - timedelta(hours=i),
            fee_details=[{"type": "stripe_fee", "amount": 30}],
        )
        for i in range(start, start + count)
    )


def count_queries(client: Client, path: str) -> int:
    assert client.get(path).status_code == 200  # warm: session, caches
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


@pytest.mark.parametrize("path", ["", "billing/transactions/"])
def test_pages_cost_the_same_queries_with_ten_times_the_rows(cast, client_as, connect, path):
    client = client_as(cast.parent_owner)
    add_rows(connect, 0, 30)
    few = count_queries(client, f"/c/{cast.parent.pk}/{path}")
    add_rows(connect, 30, 300)
    assert count_queries(client, f"/c/{cast.parent.pk}/{path}") == few


def test_the_api_list_costs_the_same_queries_with_ten_times_the_rows(cast, connect):
    _, raw = ApiKey.issue(
        user=cast.parent_owner, customer=cast.parent, name="t", scopes=[Scope.BILLING_READ]
    )
    client = Client(headers={"Authorization": f"Bearer {raw}"})
    path = "/api/v2/storefront/billing/transactions?limit=25"
    add_rows(connect, 0, 30)
    few = count_queries(client, path)
    add_rows(connect, 30, 300)
    assert count_queries(client, path) == few
    # The key's own customer is not read again to resolve access, and the page is read
    # through the customer's account: key, roles, page.
    assert few == 3


def test_an_empty_api_list_still_asks_whether_there_is_an_account(cast, connect):
    _, raw = ApiKey.issue(
        user=cast.parent_owner, customer=cast.parent, name="t", scopes=[Scope.BILLING_READ]
    )
    client = Client(headers={"Authorization": f"Bearer {raw}"})
    # No rows: the billing account is read to tell an empty ledger from no account.
    assert count_queries(client, "/api/v2/storefront/billing/transactions?limit=25") == 4


def test_the_cached_switcher_follows_membership_and_customer_changes(cast, client_as):
    client = client_as(cast.parent_owner)
    overview = f"/c/{cast.parent.pk}/"
    assert "Initech" not in client.get(overview).content.decode()

    Membership.objects.create(user=cast.parent_owner, customer=cast.other, role=Role.MEMBER)
    assert "Initech" in client.get(overview).content.decode()

    cast.other.name = "Initech Holdings"
    cast.other.save()
    make_customer("Northwind Weather", parent=cast.parent)
    html = client.get(overview).content.decode()
    assert "Initech Holdings" in html and "Northwind Weather" in html

    Membership.objects.filter(user=cast.parent_owner, customer=cast.other).delete()
    assert "Initech" not in client.get(overview).content.decode()


def test_the_cached_switcher_is_per_user(cast, client_as):
    overview = f"/c/{cast.parent.pk}/"
    Membership.objects.create(user=cast.parent_owner, customer=cast.other, role=Role.MEMBER)
    assert "Initech" in client_as(cast.parent_owner).get(overview).content.decode()
    assert "Initech" not in client_as(cast.parent_viewer).get(overview).content.decode()


def test_the_cached_chart_follows_new_transactions(cast, client_as, connect):
    client = client_as(cast.parent_owner)
    add_rows(connect, 0, 3)
    before = client.get(f"/c/{cast.parent.pk}/").content.decode()
    BalanceTransaction.objects.create(
        connect_account=connect,
        stripe_id="txn_costs_big",
        amount=777_700,
        fee=0,
        net=777_700,
        currency="usd",
        type="charge",
        reporting_category="charge",
        status="available",
        created=timezone.now() - timedelta(days=40),
    )
    after = client.get(f"/c/{cast.parent.pk}/").content.decode()
    assert "$7,777.00" not in before
    assert "$7,777.00" in after
