"""Webhook intake and processing over HTTP under gunicorn, current checkout vs an older one.

    .venv/bin/python tests/benchmarks/bench_webhooks.py --baseline-dir ../old           # 600 events
    .venv/bin/python tests/benchmarks/bench_webhooks.py --events 1560 --postgres postgres://postgres@127.0.0.1:5432/
    .venv/bin/python tests/benchmarks/bench_webhooks.py --small                         # current only

One Stripe emulator (this checkout's, for its request counter) holds an onboarded Express
account with ``--events``/2 card payments: a ``charge.succeeded`` on the account and an
``application_fee.created`` on the platform each, as Stripe sends them. For each checkout (the
current one and, with ``--baseline-dir``, an older one) the bench makes a scratch database
(SQLite, or with ``--postgres`` a scratch PostgreSQL database dropped afterwards), starts
``gunicorn storefront.wsgi`` with ``--gunicorn-workers`` workers, and:

* intake: posts every event, signed, from ``--threads`` threads (events/s, p50 and p99 latency);
* processing: runs one ``manage.py db_worker --batch`` over the queue the intake filled
  (events/s, and Stripe calls per event from the emulator's ``/_emulator/requests``).

Prints current/baseline ratios measured in the same run. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
import stripe

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from stripe_emulator import EmulatorServer  # noqa: E402
from tests.benchmarks.common import (  # noqa: E402
    create_scratch_database,
    drop_scratch_database,
    free_port,
    onboarded_express_account,
)

parser = argparse.ArgumentParser()
parser.add_argument("--events", type=int, default=600)
parser.add_argument("--small", action="store_true", help="200 events")
parser.add_argument("--baseline-dir", type=Path)
parser.add_argument("--postgres", metavar="URL", help="a server URL; scratch databases on it")
parser.add_argument("--gunicorn-workers", type=int, default=2)
parser.add_argument("--threads", type=int, default=8)
ARGS = parser.parse_args()
if ARGS.small:
    ARGS.events = 200
SECRET = "whsec_bench_webhooks"
KEY = "sk_test_bench"
PYTHON = sys.executable


def sign(payload: bytes) -> str:
    timestamp = int(time.time())
    digest = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def make_events(emulator: EmulatorServer, count: int) -> tuple[str, list[bytes]]:
    client = stripe.StripeClient(KEY, base_addresses={"api": emulator.base_url})
    account_id = onboarded_express_account(client, emulator.base_url)
    control = f"{emulator.base_url}/_emulator"
    for n in range(count // 2):
        requests.post(
            f"{control}/charges",
            json={"account": account_id, "amount": 2_000 + n, "application_fee_amount": 200},
            timeout=30,
        ).raise_for_status()
    listed = [
        *client.v1.events.list(
            {"type": "charge.succeeded", "limit": 100}, {"stripe_account": account_id}
        ).auto_paging_iter(),
        *client.v1.events.list(
            {"type": "application_fee.created", "limit": 100}
        ).auto_paging_iter(),
    ]
    # Oldest first, the two kinds interleaved as Stripe sends them.
    listed.sort(key=lambda e: (e.created, e.id))
    return account_id, [
        json.dumps(e.to_dict(recursive=True, for_json=True)).encode() for e in listed
    ]


class App:
    """One checkout's app: its scratch database, gunicorn, and its worker."""

    def __init__(self, name: str, checkout: Path, workdir: Path, stripe_base: str) -> None:
        self.name, self.checkout = name, checkout
        self.scratch = f"bench_webhooks_{name}_{os.getpid()}"
        if ARGS.postgres:
            database = create_scratch_database(ARGS.postgres, self.scratch)
        else:
            database = f"sqlite:///{workdir}/{name}.sqlite3"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "storefront.settings",
            "DATABASE_URL": database,
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": "bench-" + "x" * 50,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            "DJANGO_SECURE_COOKIES": "0",
            "STRIPE_SECRET_KEY": KEY,
            "STRIPE_WEBHOOK_SECRET": SECRET,
            "STRIPE_PLATFORM_WEBHOOK_SECRET": SECRET,
            "STRIPE_API_BASE": stripe_base,
            "LOG_LEVEL": "WARNING",
        }
        self.port = free_port()
        self.gunicorn: subprocess.Popen | None = None

    def manage(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=self.checkout,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )

    def prepare(self, account_id: str) -> None:
        self.manage("migrate", "--verbosity", "0")
        self.manage(
            "shell",
            "-c",
            "from billing.models import BillingAccount, ConnectAccount\n"
            "from storefront.models import Customer\n"
            "c = Customer.objects.create(name='Bench seller')\n"
            "ConnectAccount.objects.create(billing_account=BillingAccount.objects.create("
            f"customer=c), stripe_id='{account_id}', country='US', charges_enabled=True,"
            " payouts_enabled=True, details_submitted=True)\n",
        )
        self.gunicorn = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "gunicorn",
                "storefront.wsgi",
                "--workers",
                str(ARGS.gunicorn_workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
            ],
            cwd=self.checkout,
            env=self.env,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(f"http://127.0.0.1:{self.port}/webhooks/stripe/", timeout=5)
                return
            except requests.RequestException:
                time.sleep(0.2)
        raise SystemExit(f"gunicorn for {self.name} did not start")

    def intake(self, events: list[bytes]) -> dict[str, float]:
        url = f"http://127.0.0.1:{self.port}/webhooks/stripe/"
        session_per_thread: dict[int, requests.Session] = {}

        def post(body: bytes) -> float:
            import threading

            session = session_per_thread.setdefault(threading.get_ident(), requests.Session())
            started = time.perf_counter()
            response = session.post(
                url,
                data=body,
                headers={"Content-Type": "application/json", "Stripe-Signature": sign(body)},
                timeout=60,
            )
            elapsed = time.perf_counter() - started
            if response.status_code != 200 or "duplicate" in response.text:
                raise SystemExit(f"{self.name}: intake answered {response.status_code}")
            return elapsed

        started = time.perf_counter()
        with ThreadPoolExecutor(ARGS.threads) as pool:
            latencies = sorted(pool.map(post, events))
        seconds = time.perf_counter() - started
        return {
            "per_second": len(events) / seconds,
            "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        }

    def process(self, events: int, emulator_base: str) -> dict[str, float]:
        requests.delete(f"{emulator_base}/_emulator/requests", timeout=30)
        started = time.perf_counter()
        self.manage("db_worker", "--batch", "--no-startup-delay", "--no-reload")
        seconds = time.perf_counter() - started
        calls = requests.get(f"{emulator_base}/_emulator/requests", timeout=30).json()["total"]
        unprocessed = (
            self.manage(
                "shell",
                "-c",
                "from billing.models import WebhookEvent\n"
                "print(WebhookEvent.objects.exclude(status='processed').count())",
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        return {
            "per_second": events / seconds,
            "calls_per_event": calls / events,
            "seconds": seconds,
            "not_processed": float(unprocessed),
        }

    def stop(self) -> None:
        if self.gunicorn is not None:
            self.gunicorn.terminate()
            self.gunicorn.wait(timeout=60)
        if ARGS.postgres:
            drop_scratch_database(ARGS.postgres, self.scratch)


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="storefront-bench-webhooks-"))
    emulator = EmulatorServer("127.0.0.1", free_port(), None, deliver_in_background=False).start()
    try:
        print(f"Making {ARGS.events} events …", flush=True)
        account_id, events = make_events(emulator, ARGS.events)
        checkouts = [("current", ROOT)]
        if ARGS.baseline_dir:
            checkouts.append(("baseline", ARGS.baseline_dir.resolve()))
        results: dict[str, dict[str, dict[str, float]]] = {}
        for name, checkout in checkouts:
            app = App(name, checkout, workdir, emulator.base_url)
            try:
                app.prepare(account_id)
                intake = app.intake(events)
                print(
                    f"  {name:<9} intake     {intake['per_second']:7.1f} events/s, p50 "
                    f"{intake['p50_ms']:6.1f} ms, p99 {intake['p99_ms']:6.1f} ms",
                    flush=True,
                )
                processing = app.process(len(events), emulator.base_url)
                print(
                    f"  {name:<9} processing {processing['per_second']:7.1f} events/s "
                    f"({processing['seconds']:.1f} s), {processing['calls_per_event']:.3f} "
                    f"Stripe calls per event, {processing['not_processed']:.0f} not processed",
                    flush=True,
                )
                results[name] = {"intake": intake, "processing": processing}
            finally:
                app.stop()
        if "baseline" in results:
            cur, base = results["current"], results["baseline"]
            print("current / baseline:")
            print(
                f"  intake events/s      {cur['intake']['per_second'] / base['intake']['per_second']:6.2f}×"
            )
            print(
                f"  intake p99           {cur['intake']['p99_ms'] / base['intake']['p99_ms']:6.2f}×"
            )
            print(
                f"  processing events/s  {cur['processing']['per_second'] / base['processing']['per_second']:6.2f}×"
            )
            calls = base["processing"]["calls_per_event"]
            print(f"  Stripe calls/event   {cur['processing']['calls_per_event'] / calls:6.3f}×")
    finally:
        emulator.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
