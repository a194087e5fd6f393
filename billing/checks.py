"""Django system checks for billing's production settings.

`manage.py check`, `migrate` and `runserver` run these; the WSGI/ASGI entry points run them too
(`storefront.startup`), so a production server with a missing secret stops at start instead of
refusing every webhook later.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security)
def webhook_secret_is_set(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    if settings.DEBUG or settings.STRIPE_WEBHOOK_SECRET:
        return []
    return [
        checks.Error(
            "STRIPE_WEBHOOK_SECRET is not set, so every Stripe webhook would be refused.",
            hint="Set STRIPE_WEBHOOK_SECRET (or STRIPE_WEBHOOK_SECRET_FILE) to the signing "
            "secret (whsec_…) of the Connect webhook endpoint POST /webhooks/stripe/.",
            id="billing.E001",
        )
    ]
