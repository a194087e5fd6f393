"""Pytest fixtures that run the Stripe emulator in-process, on a free port.

* ``stripe_emulator_server`` (session): one running server per test process (xdist worker).
* ``stripe_emulator`` (function): that server with a clean state, as an ``EmulatorHandle``
  (``.base_url``, ``.control(...)``, ``.advance(...)``, ``.flush_webhooks()``, ...).
* ``stripe_client``: ``stripe.StripeClient`` pointed at it (``max_network_retries=0``).

Billing tests point Django at it with ``settings.STRIPE_API_BASE = stripe_emulator.base_url``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import stripe

from stripe_emulator import EmulatorServer

TEST_SECRET_KEY = "sk_test_emulator"


@dataclass
class EmulatorHandle:
    server: EmulatorServer

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def platform_account(self) -> str:
        return self.server.state.platform

    def control(self, method: str, path: str, /, **payload: Any) -> Any:
        """Call an ``/_emulator/`` control, e.g. ``control("POST", "clock/advance", days=2)``."""
        url = f"{self.base_url}/_emulator/{path.lstrip('/')}"
        response = requests.request(method, url, json=payload or None, timeout=30)
        if response.status_code >= 400:
            raise AssertionError(f"{method} {url} → {response.status_code}: {response.text}")
        return response.json()

    def advance(self, *, days: int = 0, hours: int = 0, seconds: int = 0) -> int:
        return self.control("POST", "clock/advance", days=days, hours=hours, seconds=seconds)["now"]

    def now(self) -> int:
        return self.control("GET", "clock")["now"]

    def complete_onboarding(self, account_id: str, action: str = "complete", **extra: Any):
        return self.control("POST", f"accounts/{account_id}/onboarding", action=action, **extra)

    def add_webhook_endpoint(self, url: str, secret: str, connect: str = "all") -> dict:
        return self.control("POST", "webhook_endpoints", url=url, secret=secret, connect=connect)

    def webhook_settings(self, **flags: Any) -> dict:
        return self.control("POST", "webhooks/settings", **flags)

    def flush_webhooks(self) -> dict:
        return self.control("POST", "webhooks/flush")

    def inject_fault(self, kind: str, count: int = 1, **extra: Any) -> dict:
        return self.control("POST", "faults", kind=kind, count=count, **extra)

    def requests_served(self) -> dict[str, Any]:
        """``/v1`` requests since the last reset: ``{"total", "by_route", "by_path"}``."""
        return self.control("GET", "requests")

    def reset_request_counts(self) -> None:
        self.control("DELETE", "requests")

    def client(self, **kwargs: Any) -> stripe.StripeClient:
        options: dict[str, Any] = {"max_network_retries": 0, **kwargs}
        return stripe.StripeClient(
            TEST_SECRET_KEY, base_addresses={"api": self.base_url}, **options
        )

    def reset(self) -> None:
        self.server.state.reset()


@pytest.fixture(scope="session")
def stripe_emulator_server() -> Iterator[EmulatorServer]:
    server = EmulatorServer("127.0.0.1", 0, None).start()
    yield server
    server.stop()


@pytest.fixture
def stripe_emulator(stripe_emulator_server: EmulatorServer) -> Iterator[EmulatorHandle]:
    handle = EmulatorHandle(stripe_emulator_server)
    handle.reset()
    yield handle
    handle.reset()


@pytest.fixture
def stripe_client(stripe_emulator: EmulatorHandle) -> stripe.StripeClient:
    return stripe_emulator.client()
