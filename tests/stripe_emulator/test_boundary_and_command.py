"""The emulator stays out of production code, and its command serves and persists state."""

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
ALLOWED = {
    ROOT / "billing" / "stripe_emulator",
    ROOT / "billing" / "management" / "commands" / "stripe_emulator.py",
}


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


def test_production_code_never_imports_the_emulator():
    offenders = []
    for package in ("storefront", "billing"):
        for path in (ROOT / package).rglob("*.py"):
            if any(path == a or a in path.parents for a in ALLOWED):
                continue
            imported = any(
                name == "billing.stripe_emulator" or name.startswith("billing.stripe_emulator.")
                for name in _imports(path)
            )
            # The dotted string also catches importlib.import_module("billing.stripe_emulator").
            if imported or "billing.stripe_emulator" in path.read_text():
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(port: int, state_file: Path) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "stripe_emulator",
            "--port",
            str(port),
            "--state-file",
            str(state_file),
            "--webhook-url",
            "http://127.0.0.1:9/hook",
            "--webhook-secret",
            "whsec_emulator",
        ],  # fmt: skip
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
