"""Page and API throughput as ratios to a trivial view on the same server. See README.md here.

Builds a scratch SQLite database (a parent customer with children, an owner, a Connect account
with a ledger, payouts and balances), then requests the overview, the transactions page and
the REST API's transaction list in interleaved rounds with `/healthz` (one `SELECT 1` through
every middleware) through Django's test client in this process, and prints each page's
requests/second, its ratio to `/healthz`, and its query count at two ledger sizes (which must
not differ). `--profile FILE` writes a cProfile of the page requests.
"""

from __future__ import annotations

import argparse
import cProfile
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks.common import setup_django  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--rounds", type=int, default=7)
parser.add_argument("--per-round", type=int, default=40, help="requests per page per round")
parser.add_argument("--rows", type=int, default=5_000, help="ledger rows")
parser.add_argument("--profile", metavar="FILE")
parser.add_argument("--show-queries", action="store_true", help="print each page's SQL")
parser.add_argument("--only", help="one page to measure besides healthz (e.g. overview)")
ARGS = parser.parse_args()
WORKDIR = tempfile.mkdtemp(prefix="storefront-bench-pages-")
setup_django(
    f"sqlite:///{WORKDIR}/bench.sqlite3",
    DJANGO_DEBUG="0",
    DJANGO_SECRET_KEY="bench-secret-key-bench-secret-key-bench-secret-key",
    DJANGO_SECURE_COOKIES="0",
    SECURE_SSL_REDIRECT="0",
    STRIPE_SECRET_KEY="sk_test_bench",
    STRIPE_PUBLISHABLE_KEY="pk_test_bench",
    STRIPE_API_BASE="http://127.0.0.1:9",
    DJANGO_CACHE_BACKEND="django.core.cache.backends.locmem.LocMemCache",
    LOG_LEVEL="ERROR",
)

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from billing.models import BalanceTransaction, BillingAccount, ConnectAccount, Payout  # noqa: E402
from storefront.models import ApiKey, Customer, Membership, Role, Scope, User  # noqa: E402

# No collectstatic for a bench: plain static storage.
settings.STORAGES["staticfiles"] = {
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
settings.API_RATE_LIMIT_PER_MINUTE = 10**9


# The ledger ends now, so the overview's six-month chart, "available soon" and the pending
# rows all have something to show.
NOW = datetime.now(UTC)


def add_ledger(connect: ConnectAccount, start: int, count: int) -> None:
    base = NOW - timedelta(minutes=37 * ARGS.rows)
    kinds = [("charge", "charge", 1)] * 8 + [("refund", "refund", -1), ("payout", "payout", -1)]
    BalanceTransaction.objects.bulk_create(
        [
            BalanceTransaction(
                connect_account=connect,
                stripe_id=f"txn_bench{i:08d}",
                amount=sign * (1000 + i % 977),
                fee=-(30 + i % 7) if kind == "charge" else 0,
                net=sign * (1000 + i % 977) - ((30 + i % 7) if kind == "charge" else 0),
                currency="usd" if i % 5 else "eur",
                type=kind,
                reporting_category=category,
                status="available" if i < start + count - 30 else "pending",
                created=base + timedelta(minutes=37 * i),
                available_on=base + timedelta(minutes=37 * i, days=2),
                source_id=f"ch_bench{i:08d}",
                description=f"Order #{i}",
                fee_details=[{"type": "stripe_fee", "amount": 30 + i % 7}],
            )
            for i in range(start, start + count)
            for kind, category, sign in [kinds[i % len(kinds)]]
        ],
        batch_size=2000,
    )


def build() -> tuple[Customer, ConnectAccount, User, str]:
    call_command("migrate", verbosity=0)
    parent = Customer.objects.create(name="Northwind Media")
    for name in ("Northwind Sports", "Northwind News", "Northwind Radio"):
        Customer.objects.create(name=name, parent=parent)
    other = Customer.objects.create(name="Globex Publishing")
    owner = User.objects.create_user(email="owner@northwind.test", password="pw")
    Membership.objects.create(user=owner, customer=parent, role=Role.ADMIN)
    Membership.objects.create(user=owner, customer=other, role=Role.MEMBER)
    billing = BillingAccount.objects.create(customer=parent)
    connect = ConnectAccount.objects.create(
        billing_account=billing,
        stripe_id="acct_bench",
        country="US",
        default_currency="usd",
        charges_enabled=True,
        payouts_enabled=True,
        details_submitted=True,
        balance_available=[
            {"amount": 123456, "currency": "usd"},
            {"amount": 9900, "currency": "eur"},
        ],
        balance_pending=[{"amount": 4567, "currency": "usd"}],
        balance_as_of=datetime.now(UTC),
        refreshed_at=datetime.now(UTC),
    )
    base = datetime(2025, 1, 1, tzinfo=UTC)
    Payout.objects.bulk_create(
        [
            Payout(
                connect_account=connect,
                stripe_id=f"po_bench{i:05d}",
                amount=50_000 + i,
                currency="usd",
                status="paid" if i < 58 else "in_transit",
                method="standard",
                created=base + timedelta(days=7 * i),
                arrival_date=base + timedelta(days=7 * i + 2),
            )
            for i in range(60)
        ]
    )
    _, raw_key = ApiKey.issue(
        user=owner, customer=parent, name="bench", scopes=[Scope.BILLING_READ]
    )
    return parent, connect, owner, raw_key


def main() -> None:
    parent, connect, owner, raw_key = build()
    browser = Client()
    browser.force_login(owner)
    api = Client(headers={"Authorization": f"Bearer {raw_key}"})
    pages = {
        "healthz": (browser, "/healthz"),
        "overview": (browser, f"/c/{parent.pk}/"),
        "transactions": (browser, f"/c/{parent.pk}/billing/transactions/"),
        "api list": (api, "/api/v2/storefront/billing/transactions?limit=25"),
    }

    if ARGS.only:
        pages = {name: page for name, page in pages.items() if name in ("healthz", ARGS.only)}

    def get(name: str) -> None:
        client, path = pages[name]
        response = client.get(path)
        assert response.status_code == 200, (name, response.status_code, response.content[:300])

    def query_counts(show: bool) -> dict[str, int]:
        # Each page's queries on a warm second request (the first fills caches).
        counts = {}
        for name in pages:
            get(name)
            with CaptureQueriesContext(connection) as queries:
                get(name)
            counts[name] = len(queries)
            if show:
                print(f"== {name}")
                for query in queries.captured_queries:
                    print("  ", query["sql"][:220])
        return counts

    add_ledger(connect, 0, 100)
    small = query_counts(show=False)
    add_ledger(connect, 100, ARGS.rows - 100)
    large = query_counts(show=ARGS.show_queries)

    profile = cProfile.Profile() if ARGS.profile else None
    rates: dict[str, list[float]] = {name: [] for name in pages}
    for _ in range(ARGS.rounds):
        for name in pages:  # interleaved: every page once per round, in the same order
            if profile and name != "healthz":
                profile.enable()
            started = time.perf_counter()
            for _ in range(ARGS.per_round):
                get(name)
            rates[name].append(ARGS.per_round / (time.perf_counter() - started))
            if profile:
                profile.disable()
    if profile:
        profile.dump_stats(ARGS.profile)

    trivial = statistics.median(rates["healthz"])
    print(
        f"{ARGS.rounds} interleaved rounds of {ARGS.per_round} requests, ledger of {ARGS.rows} rows"
    )
    print(f"{'page':14} {'req/s':>8} {'ratio':>7} {'queries @100':>13} {f'@{ARGS.rows}':>8}")
    for name in pages:
        rate = statistics.median(rates[name])
        print(f"{name:14} {rate:8.1f} {rate / trivial:7.3f} {small[name]:13d} {large[name]:8d}")


if __name__ == "__main__":
    main()
