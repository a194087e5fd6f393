"""The filtered ledger's totals: each kind counted with its sign, in one aggregate query."""

from __future__ import annotations

import re

from billing.ledger import KINDS
from billing.models import BalanceTransaction
from billing.money import format_money
from tests.billing.test_ledger_kinds import eventful  # noqa: F401  (the fixture)


def _totals(client, cast, **params) -> str:
    response = client.get(f"/c/{cast.parent.pk}/billing/transactions/totals/", params)
    assert response.status_code == 200
    return response.content.decode()


def test_totals_count_and_sum_each_kind_as_stripe_signs_it(cast, client_as, eventful):  # noqa: F811
    client = client_as(cast.parent_owner)
    rows = BalanceTransaction.objects.filter(connect_account=eventful)
    for kind in [None, *KINDS]:
        selected = [t for t in rows if kind is None or t.kind == kind]
        html = _totals(client, cast, **({"kind": kind} if kind else {}))
        count = int(re.search(r"<strong>(\d+) transactions?</strong>", html).group(1))
        assert count == len(selected), kind
        for currency in {t.currency for t in selected}:
            mine = [t for t in selected if t.currency == currency]
            line = re.search(rf'data-currency="{currency}">(.*?)</span>', html, re.S).group(1)
            for label, field in (("amount", "amount"), ("fees", "fee"), ("net", "net")):
                expected = format_money(sum(getattr(t, field) for t in mine), currency)
                assert re.search(rf"{label} (<strong>)?{re.escape(expected)}", line), (kind, label)
    # Refunds and chargebacks subtract; payouts leave the balance.
    for kind in ("refunds", "disputes", "payouts"):
        assert sum(t.net for t in rows if t.kind == kind) < 0


def test_the_page_asks_for_the_totals_of_its_filters(cast, client_as, eventful):  # noqa: F811
    client = client_as(cast.parent_owner)
    html = client.get(f"/c/{cast.parent.pk}/billing/transactions/", {"kind": "refunds"}).content
    assert b'hx-get="/c/%d/billing/transactions/totals/?kind=refunds"' % cast.parent.pk in html
    assert b'hx-trigger="load"' in html


def test_totals_take_one_query_however_many_rows(
    cast,
    client_as,
    eventful,  # noqa: F811
    django_assert_max_num_queries,
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_as(cast.parent_owner)
    _totals(client, cast)
    with CaptureQueriesContext(connection) as small:
        _totals(client, cast, kind="sales")
    BalanceTransaction.objects.bulk_create(
        BalanceTransaction(
            connect_account=eventful,
            stripe_id=f"txn_bulk_{i}",
            amount=1000,
            fee=100,
            net=900,
            currency="eur" if i % 2 else "usd",
            type="charge",
            status="available",
            created=eventful.created_at,
        )
        for i in range(300)
    )
    with django_assert_max_num_queries(len(small)):
        html = _totals(client, cast, kind="sales")
    assert 'data-currency="eur"' in html and 'data-currency="usd"' in html


def test_bad_filters_get_a_400_not_totals(cast, client_as, eventful):  # noqa: F811
    response = client_as(cast.parent_owner).get(
        f"/c/{cast.parent.pk}/billing/transactions/totals/", {"since": "2026-02-30"}
    )
    assert response.status_code == 400


def test_another_tenant_gets_404(cast, client_as, eventful):  # noqa: F811
    response = client_as(cast.stranger).get(f"/c/{cast.parent.pk}/billing/transactions/totals/")
    assert response.status_code == 404
