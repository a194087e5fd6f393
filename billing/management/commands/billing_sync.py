from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing import account_lease, gateway, mirror
from billing.models import ConnectAccount


class Command(BaseCommand):
    help = (
        "Backfill the local mirror from Stripe for every connected account (or one customer's): "
        "throttled, resumable after an interruption, and idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customer", type=int, help="Only this customer's own account.")
        parser.add_argument(
            "--since", type=_date, help="Only objects created on or after this date (YYYY-MM-DD)."
        )
        parser.add_argument(
            "--rate", type=float, default=20.0, help="Stripe requests per second (default 20)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        accounts = ConnectAccount.objects.select_related("billing_account__customer").order_by("id")
        if options["customer"]:
            accounts = accounts.filter(billing_account__customer_id=options["customer"])
            if not accounts.exists():
                raise CommandError(
                    f"Customer {options['customer']} has no Stripe account of its own."
                )
        throttle = mirror.Throttle(options["rate"])
        tty = self.stdout.isatty()
        failed = 0
        for connect in accounts:
            label = f"{connect.billing_account.customer.name} ({connect.stripe_id})"
            seen: dict[str, int] = {}

            def progress(
                resource: str, count: int, label: str = label, seen: dict[str, int] = seen
            ) -> None:
                seen[resource] = seen.get(resource, 0) + count
                if tty:
                    summary = " · ".join(f"{name} {n}" for name, n in seen.items())
                    self.stdout.write(f"\r{label}: {summary}", ending="")
                    self.stdout.flush()

            try:
                # Holding the account's lease, like the workers: never two syncs of one account.
                with account_lease.hold(connect.stripe_id):
                    counts = mirror.sync_account(
                        connect, since=options["since"], throttle=throttle, on_page=progress
                    )
            except gateway.GatewayError as exc:
                failed += 1
                self.stdout.write("")
                self.stderr.write(f"{label}: {exc.message} Run the command again to resume.")
                continue
            except account_lease.AccountBusy:
                failed += 1
                self.stdout.write("")
                self.stderr.write(f"{label}: a worker is busy with this account; run again later.")
                continue
            if tty:
                self.stdout.write("")
            summary = ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in counts.items())
            self.stdout.write(f"{label}: synced {summary}")
        if failed:
            raise CommandError(f"{failed} account(s) did not finish; run again to resume.")


def _date(value: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise CommandError(f"--since {value!r} is not a date like 2026-01-31") from None
