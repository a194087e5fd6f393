"""Mirror performance: keyset pages, webhook intake, bulk upserts. See README.md here."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

parser = argparse.ArgumentParser()
parser.add_argument("--small", action="store_true")
parser.add_argument(
    "--postgres",
    metavar="URL",
    help="run on PostgreSQL instead of SQLite: a server URL such as postgres://postgres@127.0.0.1:5432/"
    " (a scratch database is created there and dropped afterwards)",
)
ARGS = parser.parse_args()
WORKDIR = tempfile.mkdtemp(prefix="storefront-bench-")
SCRATCH_DB = f"storefront_bench_{os.getpid()}"
if ARGS.postgres:
    import psycopg

    with psycopg.connect(
        ARGS.postgres.replace("postgres://", "postgresql://"), autocommit=True
    ) as pg:
        pg.execute(f'CREATE DATABASE "{SCRATCH_DB}"')
    DATABASE = urlsplit(ARGS.postgres)._replace(path=f"/{SCRATCH_DB}").geturl()
else:
    DATABASE = f"sqlite:///{WORKDIR}/bench.sqlite3"
os.environ.update(
    DJANGO_SETTINGS_MODULE="storefront.settings",
    DATABASE_URL=DATABASE,
    DJANGO_DEBUG="1",
    STRIPE_WEBHOOK_SECRET="whsec_bench",
    DJANGO_ALLOWED_HOSTS="testserver",
)

import django  # noqa: E402

django.setup()

from datetime import UTC, datetime, timedelta  # noqa: E402

from django.core.management import call_command  # noqa: E402
from django.db import connection, connections, reset_queries  # noqa: E402
from django.db.models import Q, QuerySet  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from billing import mirror  # noqa: E402
from billing.ledger import KINDS, kind_condition  # noqa: E402
from billing.models import BalanceTransaction, BillingAccount, ConnectAccount  # noqa: E402
from billing.pagination import decode_cursor, encode_cursor, keyset_page  # noqa: E402
from storefront.models import Customer, Membership, Role, User  # noqa: E402
from tests.billing.conftest import sign  # noqa: E402

# (type, reporting_category, sign) in a repeating pattern of 200 rows: 150 sales, 10 refunds,
# 8 fee refunds, 25 payouts, 2 returned payouts, 2 chargebacks, 1 chargeback reversal,
# 1 plain adjustment and 1 reserve release ("other"). Rare kinds are the hard case: a filter
# that scans the ledger in date order reads the whole account to fill one page.
MIX: list[tuple[str, str, int]] = (
    [("charge", "charge", 1)] * 150
    + [("refund", "refund", -1)] * 10
    + [("application_fee_refund", "platform_earning_refund", 1)] * 8
    + [("payout", "payout", -1)] * 25
    + [("payout_failure", "payout_reversal", 1)] * 2
    + [("adjustment", "dispute", -1)] * 2
    + [("adjustment", "dispute_reversal", 1)]
    + [("adjustment", "other_adjustment", -1)]
    + [("reserve_release", "risk_reserved_funds", 1)]
)
assert len(MIX) == 200
# Spread the rare ones through the pattern rather than bunching them at its end.
MIX = [MIX[(i * 7) % 200] for i in range(200)]


def build(accounts: int, total: int, big: int) -> tuple[ConnectAccount, User]:
    customers = Customer.objects.bulk_create(
        [Customer(name=f"Seller {i}") for i in range(accounts)]
    )
    billing = BillingAccount.objects.bulk_create([BillingAccount(customer=c) for c in customers])
    connects = ConnectAccount.objects.bulk_create(
        [ConnectAccount(billing_account=b, stripe_id=f"acct_bench{i}", country="US", charges_enabled=True, payouts_enabled=True, details_submitted=True) for i, b in enumerate(billing)]
    )  # fmt: skip
    start = datetime(2025, 1, 1, tzinfo=UTC)
    per_other = (total - big) // max(1, accounts - 1)
    batch: list[BalanceTransaction] = []
    made = 0
    for index, connect in enumerate(connects):
        count = big if index == 0 else per_other
        for n in range(count):
            type_, category, sign = MIX[n % len(MIX)]
            batch.append(
                BalanceTransaction(
                    connect_account=connect, stripe_id=f"txn_{index}_{n}", amount=sign * 10_000, fee=620, net=sign * 10_000 - 620,
                    currency="usd", type=type_, reporting_category=category, status="available",
                    created=start + timedelta(seconds=n * 37), available_on=start + timedelta(days=2, seconds=n * 37),
                    fee_details=[{"type": "application_fee", "amount": 300}, {"type": "stripe_fee", "amount": 320}],
                )
            )  # fmt: skip
            if len(batch) == 20_000:
                BalanceTransaction.objects.bulk_create(batch)
                made += len(batch)
                batch = []
                print(f"\r  {made:,} transactions", end="", flush=True)
    BalanceTransaction.objects.bulk_create(batch)
    print()
    user = User.objects.create_user("bench@example.com", "pw")
    Membership.objects.create(user=user, customer=customers[0], role=Role.ADMIN)
    return connects[0], user


def timed(fn, repeat: int = 20) -> tuple[float, int]:
    reset_queries()  # DEBUG keeps a bounded query log; a full one would hide these counts
    fn()  # warm caches
    best = float("inf")
    queries = 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - began)
        queries = len(captured)
    return best * 1000, queries


def plan(queryset: QuerySet[BalanceTransaction]) -> str:
    """The database's plan for a query, on one line (index names are what to look for)."""
    text = queryset.explain()
    lines = [line.strip(" -|`") for line in text.splitlines() if line.strip()]
    return " / ".join(line for line in lines if line)[:300]


def kinds(connect: ConnectAccount, client: Client, base: str) -> None:
    """Each kind filter: page 1 and page 1,000 (or the last page when the kind has fewer
    rows), the full page request with its query count, and the database's plan."""
    print("Ledger by kind (query: page 1 / deep page; full request: page 1 / deep page):")
    for kind in KINDS:
        filtered = BalanceTransaction.objects.filter(connect_account=connect).filter(
            kind_condition(kind)
        )
        rows = filtered.count()
        depth = max(1, min(1_000, (rows - 1) // 25 + 1))  # page 1,000, or the last page
        cursor = None
        if depth > 1:
            anchor = filtered.order_by("-created", "-id")[25 * (depth - 1) - 1]
            cursor = encode_cursor(anchor.created, anchor.pk)
        ms1, q1 = timed(lambda f=filtered: keyset_page(f, limit=25).items)
        msd, qd = timed(
            lambda f=filtered, c=cursor: keyset_page(f, limit=25, starting_after=c).items
        )
        pms1, pq1 = timed(lambda k=kind: client.get(base, {"kind": k}), repeat=5)
        params = {"kind": kind, **({"after": cursor} if cursor else {})}
        pmsd, pqd = timed(lambda p=params: client.get(base, p), repeat=5)
        print(
            f"  {kind:<12} {rows:>7,} rows, page {depth:>5,}: query {ms1:7.2f} / {msd:7.2f} ms"
            f" ({q1}/{qd} q); request {pms1:7.2f} / {pmsd:7.2f} ms ({pq1}/{pqd} q)"
        )
        deep = filtered.order_by("-created", "-id")
        if cursor:
            created, pk = decode_cursor(cursor)
            deep = deep.filter(created__lte=created).filter(Q(created__lt=created) | Q(id__lt=pk))
        print(f"      plan: {plan(deep[:26])}")


def main() -> None:
    args = ARGS
    accounts, total, big = (50, 60_000, 30_000) if args.small else (1_000, 1_000_000, 100_000)
    print(f"Database: {DATABASE}")
    call_command("migrate", verbosity=0)
    began = time.perf_counter()
    connect, user = build(accounts, total, big)
    print(
        f"Built {accounts:,} accounts, {BalanceTransaction.objects.count():,} transactions in {time.perf_counter() - began:.0f}s"
    )

    ledger = BalanceTransaction.objects.filter(connect_account=connect)
    # The cursor a client holds after reading 999 pages of 25.
    anchor = ledger.order_by("-created", "-id")[25 * 999 - 1]
    cursor_999 = encode_cursor(anchor.created, anchor.pk)
    ms1, q1 = timed(lambda: keyset_page(ledger, limit=25).items)
    ms1000, q1000 = timed(lambda: keyset_page(ledger, limit=25, starting_after=cursor_999).items)
    print(f"Ledger query, page 1:     {ms1:6.2f} ms, {q1} queries")
    print(f"Ledger query, page 1,000: {ms1000:6.2f} ms, {q1000} queries")

    client = Client()
    client.force_login(user)
    base = f"/c/{connect.billing_account.customer_id}/billing/transactions/"
    pms1, pq1 = timed(lambda: client.get(base), repeat=10)
    pms1000, pq1000 = timed(lambda: client.get(base, {"after": cursor_999}), repeat=10)
    print(f"Ledger page (full request), page 1:     {pms1:6.2f} ms, {pq1} queries")
    print(f"Ledger page (full request), page 1,000: {pms1000:6.2f} ms, {pq1000} queries")
    kinds(connect, client, base)

    from storefront.models import ApiKey

    _, raw_key = ApiKey.issue(
        user=user, customer=connect.billing_account.customer, name="bench", scopes=["billing:read"]
    )
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    ams1, aq1 = timed(lambda: api.get("/api/v2/storefront/billing/transactions"), repeat=10)
    ams1000, aq1000 = timed(
        lambda: api.get("/api/v2/storefront/billing/transactions", {"starting_after": cursor_999}),
        repeat=10,
    )
    print(f"API list (full request), page 1:     {ams1:6.2f} ms, {aq1} queries")
    print(f"API list (full request), page 1,000: {ams1000:6.2f} ms, {aq1000} queries")

    # Webhook intake: verify + store + enqueue (the database task backend writes a task row).
    events = []
    for n in range(2_000):
        payload = json.dumps({"id": f"evt_bench_{n}", "type": "charge.succeeded", "account": connect.stripe_id, "created": 1_700_000_000 + n, "data": {"object": {"id": f"ch_{n}", "object": "charge"}}}).encode()  # fmt: skip
        events.append((payload, sign(payload, "whsec_bench")))
    webhook_client = Client()
    began = time.perf_counter()
    for payload, header in events:
        response = webhook_client.post(
            "/webhooks/stripe/",
            data=payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=header,
        )
        assert response.status_code == 200, response.status_code
    elapsed = time.perf_counter() - began
    print(
        f"Webhook intake: {len(events) / elapsed:,.0f} events/s ({len(events):,} events, one process)"
    )

    # Sync writes: bulk upsert of Stripe-shaped objects, 100 per page as Stripe pages them.
    objects = [
        {"id": f"txn_sync_{n}", "object": "balance_transaction", "amount": 5_000, "fee": 300, "net": 4_700, "currency": "usd",
         "type": "charge", "reporting_category": "charge", "status": "available", "created": 1_700_000_000 + n,
         "available_on": 1_700_172_800 + n, "description": "Payment", "source": f"ch_{n}",
         "fee_details": [{"type": "stripe_fee", "amount": 300, "currency": "usd", "description": "Stripe processing fees", "application": None}]}
        for n in range(100_000)
    ]  # fmt: skip
    began = time.perf_counter()
    for offset in range(0, len(objects), 100):
        mirror.upsert_balance_transactions(connect, objects[offset : offset + 100])
    elapsed = time.perf_counter() - began
    print(
        f"Mirror bulk upsert: {len(objects) / elapsed:,.0f} transactions/s ({len(objects) // 100:,} pages of 100, {elapsed * 1000 / (len(objects) / 100):.1f} ms per page)"
    )
    print(
        "Stripe allows 25 list requests/s in test mode (100 live): at most 2,500–10,000 transactions/s to write."
    )


if __name__ == "__main__":
    try:
        main()
    finally:
        if ARGS.postgres:
            connections.close_all()
            with psycopg.connect(
                ARGS.postgres.replace("postgres://", "postgresql://"), autocommit=True
            ) as pg:
                pg.execute(f'DROP DATABASE IF EXISTS "{SCRATCH_DB}"')
