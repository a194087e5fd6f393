"""``python manage.py stripe_emulator``: run the Stripe emulator (a thin wrapper)."""

from __future__ import annotations

import contextlib
import signal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run the local Stripe emulator (a stand-in for api.stripe.com; never production)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=12111)
        parser.add_argument(
            "--state-file",
            default=str(Path(settings.BASE_DIR) / ".emulator" / "state.json"),
            help="JSON file the state persists to across restarts.",
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

    def handle(self, *args: Any, **options: Any) -> None:
        from billing.stripe_emulator import EmulatorServer
        from billing.stripe_emulator.controls_routes import add_endpoint

        urls, secrets = options["webhook_url"], options["webhook_secret"]
        if len(secrets) == 1 and len(urls) > 1:
            secrets = secrets * len(urls)
        if len(urls) != len(secrets):
            self.stderr.write("Give one --webhook-secret per --webhook-url.")
            raise SystemExit(2)
        server = EmulatorServer(
            options["host"],
            options["port"],
            Path(options["state_file"]),
            verbose=options["verbose_http"],
        )
        if options["reset"]:
            server.state.reset()
        with server.state.lock:
            known = {(e["url"], e["secret"]) for e in server.state.data["webhook_endpoints"]}
            for url, secret in zip(urls, secrets, strict=True):
                # The state file remembers endpoints; don't add the same one on every restart.
                if (url, secret) not in known:
                    add_endpoint(server.state, url, secret, options["webhook_connect"])

        def stop(signum: int, frame: Any) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)
        self.stdout.write(
            f"Stripe emulator on {server.base_url} (state: {options['state_file']}); "
            f"platform account {server.state.platform}. Ctrl-C to stop."
        )
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
        self.stdout.write("Stripe emulator stopped; state saved.")
