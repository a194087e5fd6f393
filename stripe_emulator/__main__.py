"""``python -m stripe_emulator``: serve the emulator until Ctrl-C or SIGTERM, saving its state."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from pathlib import Path
from typing import Any

from .controls import add_endpoint
from .server import EmulatorServer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m stripe_emulator",
        description="A local stand-in for api.stripe.com and connect.js (never production).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument(
        "--state-file",
        default=str(Path(".emulator") / "state.json"),
        help="JSON file the state persists to across restarts (default: %(default)s).",
    )
    parser.add_argument("--webhook-url", action="append", default=[])
    parser.add_argument("--webhook-secret", action="append", default=[])
    parser.add_argument(
        "--webhook-connect",
        choices=("all", "true", "false"),
        default="all",
        help="Which events the --webhook-url endpoints get: all, Connect only, platform only.",
    )
    parser.add_argument("--reset", action="store_true", help="Start from an empty state.")
    parser.add_argument("--verbose-http", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    urls, secrets = options.webhook_url, options.webhook_secret
    if len(secrets) == 1 and len(urls) > 1:
        secrets = secrets * len(urls)
    if len(urls) != len(secrets):
        print("Give one --webhook-secret per --webhook-url.", file=sys.stderr)
        return 2
    server = EmulatorServer(
        options.host, options.port, Path(options.state_file), verbose=options.verbose_http
    )
    if options.reset:
        server.state.reset()
    with server.state.lock:
        known = {(e["url"], e["secret"]) for e in server.state.data["webhook_endpoints"]}
        for url, secret in zip(urls, secrets, strict=True):
            # The state file remembers endpoints; don't add the same one on every restart.
            if (url, secret) not in known:
                add_endpoint(server.state, url, secret, options.webhook_connect)

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print(
        f"Stripe emulator on {server.base_url} (state: {options.state_file}); "
        f"platform account {server.state.platform}. Ctrl-C to stop.",
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    print("Stripe emulator stopped; state saved.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
