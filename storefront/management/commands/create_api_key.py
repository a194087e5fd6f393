from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from storefront import access
from storefront.models import READ_SCOPES, WRITE_SCOPES, ApiKey, Scope, User


class Command(BaseCommand):
    help = "Create an API key for a user and print it once. Only a hash is stored."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="The user the key acts as.")
        parser.add_argument(
            "--customer",
            type=int,
            help="Customer id the key belongs to (default: the user's own top-level customer).",
        )
        parser.add_argument(
            "--scopes",
            nargs="+",
            choices=Scope.values,
            help="Scopes to grant (default: read only, billing:read and storefront:read; write "
            "scopes and the Billing API scope `finance` only when named).",
        )
        parser.add_argument("--name", default="Command-line key", help="A label for the key.")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(email__iexact=options["email"]).first()
        if user is None:
            raise CommandError(f"No user with email {options['email']}.")
        try:
            acting = access.resolve(user, options["customer"])
        except access.AccessDenied as exc:
            raise CommandError(str(exc)) from None
        allowed = [scope.value for scope in acting.allowed_scopes()]
        # Read-only by default: writing, and the Billing API grant, are asked for by name.
        default = [s for s in allowed if s in READ_SCOPES]
        scopes = options["scopes"] or default
        too_much = sorted(set(scopes) - set(allowed))
        if too_much:
            raise CommandError(
                f"{user.email} ({acting.role.label} of {acting.customer.name}) may not hold: "
                f"{', '.join(too_much)}."
            )
        key, raw_key = ApiKey.issue(
            user=user, customer=acting.customer, name=options["name"], scopes=scopes
        )
        self.stderr.write(
            f"API key for {user.email} on {acting.customer.name} (customer {acting.customer.pk}), "
            f"scopes: {', '.join(key.scopes)}. It is shown only this once:"
        )
        if key.can_write:
            writes = ", ".join(s for s in key.scopes if s in WRITE_SCOPES)
            self.stderr.write(
                f"Warning: this key can change data ({writes}). Keep it where few can read it."
            )
        self.stdout.write(raw_key)
