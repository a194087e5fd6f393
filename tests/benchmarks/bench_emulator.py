"""Stripe emulator speed and memory, the current package against an older checkout.

    .venv/bin/python tests/benchmarks/bench_emulator.py                      # current only
    .venv/bin/python tests/benchmarks/bench_emulator.py --baseline-dir ../old --rounds 30
    .venv/bin/python tests/benchmarks/bench_emulator.py --small              # quick look
    .venv/bin/python tests/benchmarks/bench_emulator.py --profile /tmp/prof  # + cProfile

The baseline is a checkout from before the emulator became the top-level ``stripe_emulator``
package (it ran as ``python manage.py stripe_emulator`` under ``tests.settings``). Both run as
subprocesses on free ports with a temporary state file each, and get the same workload through
the real ``stripe`` SDK: per round an Express account onboarded by the ``/_emulator/`` control,
a buyer, invoice items, an invoice with an application fee finalized and paid, three days on
the clock, the balance transactions (auto-paged), payouts and the balance. Rounds alternate
between the emulators (A, B, A, B, ...) so a noisy, shared machine slows both alike; the figures
are medians. Not collected by pytest (the name does not match ``test_*.py``).
"""

from __future__ import annotations

import argparse
import os
import pstats
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import stripe

ROOT = Path(__file__).resolve().parents[2]
# How the bench starts an emulator under cProfile: ``python -c PROFILED OUT ARGV...``.
# ``python -m cProfile`` only sees the main thread, which sits in ``select``; the requests run
# in ``ThreadingHTTPServer``'s per-connection threads, so each of those gets its own profiler
# and the stats are merged when the process exits. (``-c`` puts the working directory first on
# ``sys.path``, so the checkout the emulator starts in is the one imported.)
PROFILED = """
import atexit, cProfile, pstats, runpy, socketserver, sys, threading

out, argv = sys.argv[1], sys.argv[2:]
profiles, lock = [], threading.Lock()
original = socketserver.ThreadingMixIn.process_request_thread

def profiled(self, request, client_address):
    profile = cProfile.Profile()
    profile.enable()
    try:
        original(self, request, client_address)
    finally:
        profile.disable()
        with lock:
            profiles.append(profile)

def dump():
    with lock:
        if profiles:
            stats = pstats.Stats(*profiles)
            stats.dump_stats(out)

socketserver.ThreadingMixIn.process_request_thread = profiled
atexit.register(dump)
if argv[0] == "-m":
    sys.argv = argv[1:]
    runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
else:
    sys.argv = argv
    runpy.run_path(argv[0], run_name="__main__")
"""


# --- the emulators under test -------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used. Unlike wall time, it hardly moves when other
    work on the machine competes for the cores."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in KiB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found


@dataclass
class Emulator:
    label: str
    cwd: Path
    command: list[str]  # after the interpreter
    env: dict[str, str]
    profile_to: Path | None = None
    url: str = ""
    process: subprocess.Popen[bytes] | None = None
    state_dir: str = ""
    rss_start: dict[str, int] = field(default_factory=dict)

    def start(self) -> None:
        port = free_port()
        self.state_dir = tempfile.mkdtemp(prefix=f"bench-emulator-{self.label}-")
        args = [*self.command, "--port", str(port), "--state-file", f"{self.state_dir}/state.json"]
        if self.profile_to is not None:
            args = ["-c", PROFILED, str(self.profile_to), *args]
        self.process = subprocess.Popen(
            [sys.executable, *args],
            cwd=self.cwd,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.label} emulator exited: {self.process.stderr.read()!r}")  # type: ignore[union-attr]
            try:
                if requests.get(f"{self.url}/_emulator/clock", timeout=2).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            raise SystemExit(f"{self.label} emulator did not answer on {self.url}")
        time.sleep(1)  # let start-up work in background threads (the schema index) finish
        self.rss_start = memory(self.process.pid)

    def cpu(self) -> float:
        assert self.process is not None
        return cpu_seconds(self.process.pid)

    def memory(self) -> dict[str, int]:
        assert self.process is not None
        return memory(self.process.pid)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # both save their state and exit cleanly
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.state_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)


# --- the workload ---------------------------------------------------------------------------


class CountingClient(stripe.RequestsClient):
    """The SDK's own requests-based HTTP client, counting the requests it sends."""

    def __init__(self) -> None:
        super().__init__(timeout=60)
        self.count = 0

    def request(self, *args: Any, **kwargs: Any) -> Any:
        self.count += 1
        return super().request(*args, **kwargs)


CONTROLLER = {
    "stripe_dashboard": {"type": "express"},
    "fees": {"payer": "application"},
    "losses": {"payments": "application"},
    "requirement_collection": "stripe",
}
CAPABILITIES = {"card_payments": {"requested": True}, "transfers": {"requested": True}}


@dataclass
class Runner:
    emulator: Emulator
    items: int
    http: CountingClient = field(default_factory=CountingClient)
    session: requests.Session = field(default_factory=requests.Session)
    # Per counted round: wall seconds, SDK requests, emulator CPU seconds.
    rounds: list[tuple[float, int, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.client = stripe.StripeClient(
            "sk_test_bench",
            base_addresses={"api": self.emulator.url},
            max_network_retries=0,
            http_client=self.http,
        )

    def control(self, path: str, **payload: Any) -> Any:
        response = self.session.post(f"{self.emulator.url}/_emulator/{path}", json=payload)
        response.raise_for_status()
        return response.json()

    def round(self) -> tuple[float, int, float]:
        client, sent = self.client, self.http.count
        cpu = self.emulator.cpu()
        began = time.perf_counter()
        account = client.v1.accounts.create(
            {
                "country": "US",
                "email": "seller@example.com",
                "controller": CONTROLLER,
                "capabilities": CAPABILITIES,
            }
        )
        self.control(f"accounts/{account.id}/onboarding", action="complete")
        opts: Any = {"stripe_account": account.id}
        # A card on file: Stripe (and the emulator) charge an invoice only with one.
        card = {"default_payment_method": "pm_card_visa"}
        customer = client.v1.customers.create(
            {
                "email": "buyer@example.com",
                "payment_method": "pm_card_visa",
                "invoice_settings": card,
            },
            opts,
        )
        for n in range(self.items):
            client.v1.invoice_items.create(
                {
                    "customer": customer.id,
                    "amount": 1_000 + n,
                    "currency": "usd",
                    "description": f"Line {n}",
                },
                opts,
            )
        invoice = client.v1.invoices.create(
            {
                "customer": customer.id,
                "collection_method": "send_invoice",
                "days_until_due": 14,
                "pending_invoice_items_behavior": "include",
                "application_fee_amount": 500,
            },
            opts,
        )
        client.v1.invoices.finalize_invoice(invoice.id, None, opts)
        paid = client.v1.invoices.pay(invoice.id, None, opts)
        assert paid.status == "paid", paid.status
        self.control("clock/advance", days=3)
        # The charge and, once due, its automatic payout: pages of one, so auto-paging really
        # follows ``starting_after``.
        txns = client.v1.balance_transactions.list({"limit": 1}, opts)
        assert sum(1 for _ in txns.auto_paging_iter()) >= 1
        client.v1.payouts.list({"limit": 10}, opts)
        client.v1.balance.retrieve(None, opts)
        elapsed = time.perf_counter() - began
        return elapsed, self.http.count - sent, self.emulator.cpu() - cpu

    def close(self) -> None:
        # Close the keep-alive connections so the emulator's handler threads end (and, when
        # profiled, hand in their stats) before the process is stopped.
        self.session.close()
        self.http.close()


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summary(runner: Runner) -> dict[str, float]:
    times = [t for t, _, _ in runner.rounds]
    requests_sent = sum(n for _, n, _ in runner.rounds)
    cpu = sum(c for _, _, c in runner.rounds)
    mem = runner.emulator.memory()
    start = runner.emulator.rss_start["VmRSS"]
    return {
        "rps": median([n / t for t, n, _ in runner.rounds]),
        "round_ms": median(times) * 1000,
        # CPU is counted in 10 ms ticks: the mean over all rounds is finer than one round.
        "cpu_ms": cpu / len(runner.rounds) * 1000,
        "cpu_per_request_ms": cpu / requests_sent * 1000,
        "requests": median([float(n) for _, n, _ in runner.rounds]),
        "rss_start_mb": start / 1024,
        "rss_mb": mem["VmRSS"] / 1024,
        "rss_growth_mb": (mem["VmRSS"] - start) / 1024,
        "hwm_mb": mem["VmHWM"] / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline-dir", type=Path, help="old checkout (billing/stripe_emulator)")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--items", type=int, default=20, help="invoice items per invoice")
    parser.add_argument("--small", action="store_true", help="6 rounds of 5 invoice items")
    parser.add_argument("--profile", type=Path, help="directory for <label>.prof (cProfile)")
    args = parser.parse_args()
    rounds, items = (6, 5) if args.small else (args.rounds, args.items)

    def profile_to(label: str) -> Path | None:
        return args.profile / f"{label}.prof" if args.profile else None

    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    emulators = [Emulator("current", ROOT, ["-m", "stripe_emulator"], {}, profile_to("current"))]
    if args.baseline_dir:
        baseline = Emulator(
            "baseline",
            args.baseline_dir.resolve(),
            ["manage.py", "stripe_emulator"],
            {"DJANGO_SETTINGS_MODULE": "tests.settings"},
            profile_to("baseline"),
        )
        emulators.insert(0, baseline)
    runners: list[Runner] = []
    try:
        for emulator in emulators:
            emulator.start()
            runners.append(Runner(emulator, items))
        print(f"{rounds} rounds of {items} invoice items, interleaved; medians.")
        first: dict[str, float] = {}
        for runner in runners:  # the first round pays for first use of each route: not counted
            first[runner.emulator.label] = runner.round()[0] * 1000
        for n in range(rounds):
            # Alternate which emulator goes first too, so neither always follows the other.
            for runner in runners if n % 2 == 0 else runners[::-1]:
                runner.rounds.append(runner.round())
        results = {r.emulator.label: summary(r) for r in runners}
        for runner in runners:
            runner.close()
    finally:
        time.sleep(0.5)
        for emulator in emulators:
            emulator.stop()

    rows = [
        ("SDK requests/s (median of rounds)", "rps", "{:9.1f}"),
        ("round time, ms (median)", "round_ms", "{:9.1f}"),
        ("emulator CPU per round, ms (mean)", "cpu_ms", "{:9.1f}"),
        ("emulator CPU / SDK requests, ms", "cpu_per_request_ms", "{:9.2f}"),
        ("SDK requests per round", "requests", "{:9.0f}"),
        ("RSS at start, MiB", "rss_start_mb", "{:9.1f}"),
        ("RSS after the workload, MiB", "rss_mb", "{:9.1f}"),
        ("RSS growth during the workload, MiB", "rss_growth_mb", "{:9.1f}"),
        ("peak RSS (VmHWM), MiB", "hwm_mb", "{:9.1f}"),
    ]
    labels = list(results)
    header = f"{'':38}" + "".join(f"{label:>10}" for label in labels)
    if "baseline" in results:
        header += f"{'ratio':>10}"
    print(header)
    print(f"{'first round (not counted), ms':38}" + "".join(f"{first[x]:10.1f}" for x in labels))
    for title, key, fmt in rows:
        line = f"{title:38}" + "".join(" " + fmt.format(results[x][key]) for x in labels)
        if "baseline" in results:
            line += f"{results['current'][key] / results['baseline'][key]:10.2f}"
        print(line)
    if "baseline" in results:
        print("ratio = current / baseline (requests/s: above 1 is faster; times: below 1).")
        # Round n of each ran back to back, under about the same load: the median of those
        # pairs' ratios shrugs off load that comes and goes better than a ratio of medians.
        by_label = {r.emulator.label: r.rounds for r in runners}
        pairs = zip(by_label["current"], by_label["baseline"], strict=True)
        paired = median([current[0] / base[0] for current, base in pairs])
        print(
            f"round time, paired ratio (median of round n current / round n baseline): {paired:.2f}"
        )
    if args.profile:
        for emulator in emulators:
            path = profile_to(emulator.label)
            if path and path.exists():
                print(f"\n== {emulator.label}: {path} (top 25 by own time)")
                pstats.Stats(str(path)).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
