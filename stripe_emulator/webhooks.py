"""Signed webhook delivery: queue per endpoint, background sender with retries and backoff,
optional duplication / reordering (to prove handlers cope), and a synchronous flush for tests.

Signatures are Stripe's: ``Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>``.
The timestamp is *real* time, not the emulated clock: receivers check it against their own
clock with a 5-minute tolerance, and the emulated clock may be days ahead.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from typing import Any

import requests

from .state import State, public

JSON = dict[str, Any]
LOG_LIMIT = 2000


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def settings(state: State) -> JSON:
    defaults = {
        "duplicate": False,
        "reorder": False,
        "paused": False,
        "max_attempts": 6,
        "backoff_seconds": 1.0,
        "max_backoff_seconds": 60.0,
        "hold_seconds": 1.0,
        "timeout_seconds": 10.0,
    }
    flags = state.data.setdefault("webhook_flags", {})
    for key, value in defaults.items():
        flags.setdefault(key, value)
    return flags


class Deliverer:
    def __init__(self, state: State, *, background: bool = True) -> None:
        self.state = state
        self.background = background
        self.wakeup = threading.Condition()
        # Held while sending, so a flush waits for an in-progress background batch.
        self.send_lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None
        self.session = requests.Session()
        state.on_event = self.enqueue
        state.deliverer = self

    # --- queueing (called under the state lock) ---------------------------------------------

    def enqueue(self, event: JSON) -> None:
        flags = settings(self.state)
        platform_event = event["account"] is None
        now = time.time()
        for endpoint in self.state.data["webhook_endpoints"]:
            if not endpoint.get("enabled", True):
                continue
            mode = endpoint.get("connect", "all")
            if (mode == "true" and platform_event) or (mode == "false" and not platform_event):
                continue
            enabled = endpoint.get("enabled_events") or ["*"]
            if "*" not in enabled and event["type"] not in enabled:
                continue
            copies = 2 if flags["duplicate"] else 1
            for _ in range(copies):
                self.state.data["deliveries"].append(
                    {
                        "id": self.state.new_id("whd"),
                        "event": event["id"],
                        "endpoint": endpoint["id"],
                        "attempts": 0,
                        "next_at": now + (flags["hold_seconds"] if flags["reorder"] else 0),
                        "reorder": flags["reorder"],
                        "in_flight": False,
                    }
                )
                event["pending_webhooks"] += 1
        self.state.touch()
        with self.wakeup:
            self.wakeup.notify()

    # --- sending ------------------------------------------------------------------------------

    def _take(self, *, everything: bool) -> list[JSON]:
        with self.state.lock:
            now = time.time()
            batch = [
                d
                for d in self.state.data["deliveries"]
                if not d["in_flight"] and (everything or d["next_at"] <= now)
            ]
            for d in batch:
                d["in_flight"] = True
        # Reordering: a held batch goes out newest first.
        if any(d["reorder"] for d in batch):
            batch.reverse()
        return batch

    def _send(self, delivery: JSON) -> bool:
        with self.state.lock:
            event = self.state.find(delivery["event"])
            endpoint = next(
                (
                    e
                    for e in self.state.data["webhook_endpoints"]
                    if e["id"] == delivery["endpoint"]
                ),
                None,
            )
            if event is None or endpoint is None:
                self._finish(delivery, None, "dropped", True)
                return False
            payload = json.dumps(public(event), indent=2)
            timeout = settings(self.state)["timeout_seconds"]
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": sign(payload, endpoint["secret"]),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks) emulator",
        }
        try:
            response = self.session.post(
                endpoint["url"], data=payload.encode(), headers=headers, timeout=timeout
            )
            status: int | str = response.status_code
            ok = 200 <= response.status_code < 300
        except requests.RequestException as exc:
            status, ok = type(exc).__name__, False
        with self.state.lock:
            self._finish(delivery, event, status, ok, endpoint)
        return ok

    def _finish(
        self,
        delivery: JSON,
        event: JSON | None,
        status: int | str,
        ok: bool,
        endpoint: JSON | None = None,
    ) -> None:
        flags = settings(self.state)
        delivery["attempts"] += 1
        delivery["in_flight"] = False
        done = ok or delivery["attempts"] >= flags["max_attempts"] or event is None
        log = self.state.data["delivery_log"]
        log.append(
            {
                "delivery": delivery["id"],
                "event": delivery["event"],
                "type": event["type"] if event else None,
                "endpoint": delivery["endpoint"],
                "url": endpoint["url"] if endpoint else None,
                "attempt": delivery["attempts"],
                "status": status,
                "ok": ok,
                "at": time.time(),
            }
        )
        del log[:-LOG_LIMIT]
        if done:
            if delivery in self.state.data["deliveries"]:
                self.state.data["deliveries"].remove(delivery)
            if event is not None:
                event["pending_webhooks"] = max(0, event["pending_webhooks"] - 1)
        else:
            delay = min(
                flags["backoff_seconds"] * 2 ** (delivery["attempts"] - 1),
                flags["max_backoff_seconds"],
            )
            delivery["next_at"] = time.time() + delay
            delivery["reorder"] = False
        self.state.touch()

    def flush(self) -> JSON:
        """Send everything queued now (one attempt each), ignoring backoff and holds."""
        with self.send_lock:
            batch = self._take(everything=True)
            results = [self._send(d) for d in batch]
        return {
            "attempted": len(results),
            "delivered": sum(results),
            "failed": len(results) - sum(results),
            "pending": len(self.state.data["deliveries"]),
        }

    # --- background loop ----------------------------------------------------------------------

    def start(self) -> None:
        if not self.background or self.thread is not None:
            return
        self.thread = threading.Thread(target=self._loop, name="stripe-emulator-webhooks")
        self.thread.daemon = True
        self.thread.start()

    def _loop(self) -> None:
        while not self.stopped.is_set():
            with self.wakeup:
                self.wakeup.wait(0.2)
            if self.stopped.is_set():
                break
            with self.state.lock:
                paused = settings(self.state)["paused"]
            if paused:
                continue
            with self.send_lock:
                for delivery in self._take(everything=False):
                    self._send(delivery)

    def stop(self) -> None:
        self.stopped.set()
        with self.wakeup:
            self.wakeup.notify_all()
        if self.thread is not None:
            self.thread.join(timeout=5)
