from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing import gateway, invoicing
from billing.models import ConnectAccount


class Command(BaseCommand):
    help = "Invoice every buyer's pending items (all accounts, or one customer's). Safe to re-run."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customer", type=int, help="Only this customer's own account.")

    def handle(self, *args: Any, **options: Any) -> None:
        accounts = ConnectAccount.objects.select_related("billing_account__customer").filter(
            charges_enabled=True
        )
        if options["customer"]:
            accounts = accounts.filter(billing_account__customer_id=options["customer"])
        errors = 0
        for connect in accounts.order_by("id"):
            name = connect.billing_account.customer.name
            try:
                result = invoicing.run_billing(connect)
            except gateway.GatewayError as exc:
                errors += 1
                self.stderr.write(f"{name}: {exc.message}")
                continue
            for message in result.errors:
                self.stderr.write(f"{name}: {message}")
            errors += len(result.errors)
            self.stdout.write(
                f"{name}: {len(result.invoices)} invoice(s) sent"
                + (
                    f", {len(result.finished)} unfinished one(s) completed"
                    if result.finished
                    else ""
                )
            )
        if errors:
            raise CommandError(f"{errors} problem(s); run again to finish what is left.")
