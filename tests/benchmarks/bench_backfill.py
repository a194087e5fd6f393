"""Backfilling a large account: the mirror's sync against the emulator, current vs an older one.

    .venv/bin/python tests/benchmarks/bench_backfill.py                                  # 100,000
    .venv/bin/python tests/benchmarks/bench_backfill.py --baseline-dir ../old --baseline-seconds 120
    .venv/bin/python tests/benchmarks/bench_backfill.py --small                          # 5,000

Seeds one onboarded Express account with ``--transactions`` balance transactions (charges with
their application fee, a third still pending) in an emulator of this checkout, saves its state
file, and starts the emulator of each checkout on a copy of it (``python -m stripe_emulator``,
a subprocess). Then ``billing.mirror.sync_account`` (what ``manage.py billing_sync`` runs)
backfills the account into a scratch SQLite database twice against each emulator: once paced
by the sync's throttle (``--rate``, requests per second; the setting's default is 20), once
unthrottled (what the emulator itself allows). Prints transactions/second, list pages, the emulator's
CPU time, the requests it served (``/_emulator/requests``; an emulator without the counter shows
``-``) and the time against the throttle's own bound (requests / rate; 1.0 means the sync is
bounded by its throttle, not by the emulator), with current/baseline ratios of the same run.
An older emulator may be too slow to finish: ``--baseline-seconds`` stops its runs after that
long and reports the rate they had. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
import stripe

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks.common import free_port, onboarded_express_account, setup_django  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--transactions", type=int, default=100_000)
parser.add_argument("--small", action="store_true", help="5,000 transactions")
parser.add_argument("--baseline-dir", type=Path, help="an older checkout whose emulator to compare")
parser.add_argument("--baseline-seconds", type=float, default=300.0)
parser.add_argument("--rate", type=float, default=20.0, help="the sync's throttle, requests/s")
ARGS = parser.parse_args()
if ARGS.small:
    ARGS.transactions = 5_000
WORKDIR = Path(tempfile.mkdtemp(prefix="storefront-backfill-"))
setup_django(
    f"sqlite:///{WORKDIR}/bench.sqlite3", DJANGO_DEBUG="1", STRIPE_SECRET_KEY="sk_test_bench"
)

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from billing import mirror  # noqa: E402
from billing.models import (  # noqa: E402
    BalanceTransaction,
    BillingAccount,
    ConnectAccount,
    SyncProgress,
)
from storefront.models import Customer  # noqa: E402
from stripe_emulator import EmulatorServer  # noqa: E402
from stripe_emulator.resources import balance  # noqa: E402

KEY = "sk_test_bench"


class OutOfTime(Exception):
    pass


def seed(path: Path, count: int) -> str:
    """A state file holding one onboarded account with `count` balance transactions."""
    server = EmulatorServer("127.0.0.1", 0, path, deliver_in_background=False).start()
    client = stripe.StripeClient(KEY, base_addresses={"api": server.base_url})
    account_id = onboarded_express_account(client, server.base_url)
    state = server.state
    with state.lock:
        now = state.now()
        for n in range(count):
            # Two in three already available, the rest pending for days (as a busy seller's).
            available_on = now - 86_400 if n % 3 else now + 2 * 86_400
            fee = 100 + n % 50
            fee_details = [
                {
                    "amount": fee,
                    "application": None,
                    "currency": "usd",
                    "description": "Application fee",
                    "type": "application_fee",
                }
            ]
            balance.add_transaction(
                state,
                account_id,
                amount=1_000 + n % 9_000,
                currency="usd",
                type_="charge",
                source=None,
                description=f"Bench charge {n}",
                fee_details=fee_details,
                available_on=available_on,
            )
        state.touch()
    server.stop()
    return account_id


def start_emulator(checkout: Path, state_file: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stripe_emulator",
            "--port",
            str(port),
            "--state-file",
            str(state_file),
        ],
        cwd=checkout,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            requests.get(f"{base}/_emulator/clock", timeout=5)
            return process, base
        except requests.RequestException:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"The emulator in {checkout} did not start.")


def served(base: str) -> int | None:
    response = requests.get(f"{base}/_emulator/requests", timeout=30)
    return response.json()["total"] if response.status_code == 200 else None


def reset_counts(base: str) -> None:
    requests.delete(f"{base}/_emulator/requests", timeout=30)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backfill(
    connect: ConnectAccount, base: str, rate: float, limit: float, pid: int
) -> dict[str, Any]:
    BalanceTransaction.objects.filter(connect_account=connect).delete()
    SyncProgress.objects.filter(connect_account=connect).delete()
    settings.STRIPE_API_BASE = base
    settings.STRIPE_READ_TIMEOUT = 120
    reset_counts(base)
    pages = 0
    emulator_cpu = cpu_seconds(pid)
    started = time.monotonic()

    def on_page(resource: str, count: int) -> None:
        nonlocal pages
        pages += 1
        if time.monotonic() - started > limit:
            raise OutOfTime

    finished = True
    try:
        mirror.sync_account(connect, throttle=mirror.Throttle(rate or 1e9), on_page=on_page)
    except OutOfTime:
        finished = False
    seconds = time.monotonic() - started
    emulator_cpu = cpu_seconds(pid) - emulator_cpu
    stored = BalanceTransaction.objects.filter(connect_account=connect).count()
    return {
        "seconds": seconds,
        "stored": stored,
        "per_second": stored / seconds,
        "pages": pages,
        "requests": served(base),
        "finished": finished,
        "emulator_cpu": emulator_cpu,
        "bound": (pages / rate) if rate else None,
    }


def show(name: str, result: dict[str, Any]) -> None:
    requests_made = "-" if result["requests"] is None else f"{result['requests']:,}"
    bound = (
        f"{result['seconds'] / result['bound']:.2f}× the throttle's bound"
        if result["bound"]
        else "unthrottled"
    )
    done = "" if result["finished"] else f" (stopped after {result['seconds']:.0f} s)"
    print(
        f"  {name:<28} {result['stored']:>8,} txns in {result['seconds']:7.1f} s = "
        f"{result['per_second']:8.1f} txns/s, {result['pages']:,} list pages, "
        f"{requests_made} requests served, emulator CPU {result['emulator_cpu']:.1f} s, "
        f"{bound}{done}"
    )


def main() -> None:
    call_command("migrate", verbosity=0)
    seed_file = WORKDIR / "seed.json"
    print(f"Seeding {ARGS.transactions:,} balance transactions …", flush=True)
    started = time.monotonic()
    account_id = seed(seed_file, ARGS.transactions)
    print(
        f"  seeded in {time.monotonic() - started:.1f} s; state file "
        f"{seed_file.stat().st_size / 1e6:.1f} MB",
        flush=True,
    )
    customer = Customer.objects.create(name="Bench seller")
    connect = ConnectAccount.objects.create(
        billing_account=BillingAccount.objects.create(customer=customer),
        stripe_id=account_id,
        country="US",
        charges_enabled=True,
        payouts_enabled=True,
        details_submitted=True,
    )
    checkouts = [("current", ROOT, float("inf"))]
    if ARGS.baseline_dir:
        checkouts.append(("baseline", ARGS.baseline_dir.resolve(), ARGS.baseline_seconds))
    results: dict[tuple[str, str], dict[str, Any]] = {}
    for name, checkout, limit in checkouts:
        state_file = WORKDIR / f"{name}.json"
        shutil.copy(seed_file, state_file)
        process, base = start_emulator(checkout, state_file)
        try:
            for pacing, rate in (("throttled", ARGS.rate), ("unthrottled", 0.0)):
                print(f"{name}, {pacing} …", flush=True)
                result = backfill(connect, base, rate, limit, process.pid)
                results[(name, pacing)] = result
                show(f"{name} ({pacing})", result)
        finally:
            process.terminate()
            process.wait(timeout=300)
    if ARGS.baseline_dir:
        print("current / baseline (transactions per second):")
        for pacing in ("throttled", "unthrottled"):
            ratio = (
                results[("current", pacing)]["per_second"]
                / results[("baseline", pacing)]["per_second"]
            )
            print(f"  {pacing:<12} {ratio:6.1f}×")
    shutil.rmtree(WORKDIR, ignore_errors=True)


if __name__ == "__main__":
    main()
