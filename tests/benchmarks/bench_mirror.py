"""Mirror performance: keyset pages, webhook intake, bulk upserts. See README.md here."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
WORKDIR = tempfile.mkdtemp(prefix="storefront-bench-")
os.environ.update(
    DJANGO_SETTINGS_MODULE="storefront.settings",
    DATABASE_URL=f"sqlite:///{WORKDIR}/bench.sqlite3",
    DJANGO_DEBUG="1",
    STRIPE_WEBHOOK_SECRET="whsec_bench",
    DJANGO_ALLOWED_HOSTS="testserver",
)

import django  # noqa: E402

django.setup()

from datetime import UTC, datetime, timedelta  # noqa: E402

from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from billing import mirror  # noqa: E402
from billing.models import BalanceTransaction, BillingAccount, ConnectAccount  # noqa: E402
from billing.pagination import encode_cursor, keyset_page  # noqa: E402
from storefront.models import Customer, Membership, Role, User  # noqa: E402
from tests.billing.conftest import sign  # noqa: E402


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
            batch.append(
                BalanceTransaction(
                    connect_account=connect, stripe_id=f"txn_{index}_{n}", amount=10_000, fee=620, net=9_380,
                    currency="usd", type="charge", status="available",
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true")
    args = parser.parse_args()
    accounts, total, big = (50, 60_000, 30_000) if args.small else (1_000, 1_000_000, 100_000)
    print(f"Database: {WORKDIR}/bench.sqlite3")
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
    main()
