"""The emulator and the product never import each other, and ``python -m stripe_emulator``
serves the API and persists its state."""

from __future__ import annotations

import ast
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
import stripe

ROOT = Path(__file__).resolve().parents[2]
EMULATOR = ROOT / "stripe_emulator"
PRODUCT = ("storefront", "billing")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _mentions(names: set[str], package: str) -> bool:
    return any(name == package or name.startswith(f"{package}.") for name in names)


def test_production_code_never_imports_the_emulator():
    offenders = []
    for package in PRODUCT:
        for path in (ROOT / package).rglob("*.py"):
            # The dotted string also catches importlib.import_module("stripe_emulator").
            if (
                _mentions(_imports(path), "stripe_emulator")
                or "stripe_emulator" in path.read_text()
            ):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_the_emulator_never_imports_the_product_or_django():
    offenders = []
    for path in EMULATOR.rglob("*.py"):
        names = _imports(path)
        if any(_mentions(names, package) for package in (*PRODUCT, "django", "tests")):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_the_emulator_runs_without_the_product_on_the_path(tmp_path):
    """Started from a directory where only the emulator package is importable."""
    (tmp_path / "stripe_emulator").symlink_to(EMULATOR)
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH")}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import stripe_emulator.__main__, sys; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('billing', 'storefront', 'django')))",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(port: int, state_file: Path) -> subprocess.Popen:
    env = dict(os.environ)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stripe_emulator",
            "--port",
            str(port),
            "--state-file",
            str(state_file),
            "--webhook-url",
            "http://127.0.0.1:9/hook",
            "--webhook-secret",
            "whsec_emulator",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/_emulator/state", timeout=1)
            return process
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError(process.stdout.read().decode() if process.stdout else "no output")


def test_command_serves_the_api_and_state_survives_a_restart(tmp_path):
    port = _free_port()
    state_file = tmp_path / "state.json"
    base = f"http://127.0.0.1:{port}"
    process = _start(port, state_file)
    try:
        client = stripe.StripeClient(
            "sk_test_cmd", base_addresses={"api": base}, max_network_retries=0
        )
        account = client.v1.accounts.create({"type": "express", "country": "US"})
        endpoints = requests.get(f"{base}/_emulator/webhook_endpoints", timeout=5).json()
        assert [e["secret"] for e in endpoints["data"]] == ["whsec_emulator"]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
    assert state_file.exists()
    process = _start(port, state_file)
    try:
        again = client.v1.accounts.retrieve(account.id)
        assert again.id == account.id
        endpoints = requests.get(f"{base}/_emulator/webhook_endpoints", timeout=5).json()
        assert len(endpoints["data"]) == 1  # not re-added on restart
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
