"""The one module that talks to Stripe.

Everything else in the codebase calls these functions and gets plain dicts back; nothing else
imports `stripe` for API calls (a test checks). Rules kept here:

- one `StripeClient`, built from settings: `base_addresses` from STRIPE_API_BASE when set (the
  emulator in development and tests), `max_network_retries=2` (StripeClient's default is 0),
  connect/read timeouts so a hung Stripe never hangs a page;
- `stripe_account` always travels in request options (the `Stripe-Account` header), never in
  params, where Stripe would read it as a body field;
- SDK errors become a few app exceptions whose messages a seller can act on. The SDK's own
  messages are kept on the exception (`detail`) for logs, not shown as the headline.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any, TypeVar

import stripe
from django.conf import settings

logger = logging.getLogger(__name__)

T = TypeVar("T")

MAX_NETWORK_RETRIES = 2


class GatewayError(Exception):
    """Stripe could not do what we asked. `message` is for people; `detail` for logs."""

    def __init__(self, message: str, *, detail: str = "", code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.code = code


class StripeUnavailable(GatewayError):
    """Stripe did not answer, answered 5xx, or rate-limited us: try again later."""


class StripeRejected(GatewayError):
    """Stripe refused the request as asked (bad parameters, wrong state)."""


class StripeNotConfigured(GatewayError):
    """Our Stripe credentials are missing or wrong: an operator must fix settings."""


@lru_cache(maxsize=4)
def _client(api_key: str, api_base: str, timeouts: tuple[int, int]) -> stripe.StripeClient:
    http_client = stripe.RequestsClient(timeout=timeouts)
    options: dict[str, Any] = {
        "max_network_retries": MAX_NETWORK_RETRIES,
        "http_client": http_client,
    }
    if api_base:
        options["base_addresses"] = {"api": api_base}
    return stripe.StripeClient(api_key, **options)


def client() -> stripe.StripeClient:
    """The configured client; rebuilt only when the settings it depends on change."""
    if not settings.STRIPE_SECRET_KEY:
        raise StripeNotConfigured(
            "Stripe is not configured on this server, so billing cannot be set up yet. "
            "Ask the platform team to set STRIPE_SECRET_KEY."
        )
    return _client(
        settings.STRIPE_SECRET_KEY,
        settings.STRIPE_API_BASE,
        (settings.STRIPE_CONNECT_TIMEOUT, settings.STRIPE_READ_TIMEOUT),
    )


def _call(action: str, fn: Callable[[], T]) -> T:
    """Run one SDK call, translating its errors. `action` completes "Stripe could not …"."""
    try:
        return fn()
    except stripe.AuthenticationError as exc:
        logger.error("Stripe rejected our API key while trying to %s: %s", action, exc)
        raise StripeNotConfigured(
            f"Could not {action}: the platform's Stripe credentials were refused. "
            "The platform team has to fix the server configuration.",
            detail=str(exc),
        ) from exc
    except stripe.RateLimitError as exc:
        raise StripeUnavailable(
            f"Could not {action}: Stripe is busy right now. Try again in a minute.",
            detail=str(exc),
            code="rate_limited",
        ) from exc
    except stripe.APIConnectionError as exc:
        raise StripeUnavailable(
            f"Could not {action}: Stripe did not answer. Nothing was changed; try again in a minute.",
            detail=str(exc),
            code="unreachable",
        ) from exc
    except (stripe.InvalidRequestError, stripe.IdempotencyError, stripe.PermissionError) as exc:
        message = exc.user_message or (exc.error.message if exc.error else None) or str(exc)
        raise StripeRejected(
            f"Could not {action}: {message}", detail=str(exc), code=exc.code or ""
        ) from exc
    except stripe.StripeError as exc:
        # 5xx and anything else unexpected, after the SDK's own retries.
        logger.warning("Stripe error while trying to %s: %s", action, exc)
        raise StripeUnavailable(
            f"Could not {action}: Stripe had a problem on its side. Try again in a minute.",
            detail=str(exc),
        ) from exc


def _as_dict(obj: Any) -> dict[str, Any]:
    # for_json: decimal_string fields come back as strings, so the result can go into a JSONField.
    return obj.to_dict(recursive=True, for_json=True)


def _on(account_id: str, **extra: Any) -> dict[str, Any]:
    """Request options acting as a connected account."""
    return {"stripe_account": account_id, **extra}


# Accounts


def create_express_account(
    *,
    idempotency_key: str,
    country: str,
    metadata: dict[str, str],
) -> dict[str, Any]:
    """Create an Express account (via controller properties).

    The idempotency key must be derived from our own billing account, so retries and double
    clicks get the same account back instead of a second one.
    """
    params: dict[str, Any] = {
        "country": country,
        "controller": {
            "stripe_dashboard": {"type": "express"},
            "fees": {"payer": "application"},
            "losses": {"payments": "application"},
            "requirement_collection": "stripe",
        },
        "capabilities": {"card_payments": {"requested": True}, "transfers": {"requested": True}},
        "metadata": metadata,
    }
    return _call(
        "create the Stripe account",
        lambda: _as_dict(client().v1.accounts.create(params, {"idempotency_key": idempotency_key})),
    )


def update_account(account_id: str, *, email: str, business_name: str) -> dict[str, Any]:
    """Prefill what we know of the seller. Do it before the first account link or session:
    afterwards Express accounts lock some of these fields."""
    params = {"email": email, "business_profile": {"name": business_name}}
    return _call(
        "update the Stripe account",
        lambda: _as_dict(client().v1.accounts.update(account_id, params)),
    )


def retrieve_account(account_id: str) -> dict[str, Any]:
    return _call(
        "read the Stripe account", lambda: _as_dict(client().v1.accounts.retrieve(account_id))
    )


def create_account_link(account_id: str, *, refresh_url: str, return_url: str) -> dict[str, Any]:
    """A fresh single-use Stripe onboarding link (lives about five minutes)."""
    params = {
        "account": account_id,
        "type": "account_onboarding",
        "refresh_url": refresh_url,
        "return_url": return_url,
        "collection_options": {"fields": "eventually_due"},
    }
    return _call(
        "start Stripe onboarding", lambda: _as_dict(client().v1.account_links.create(params))
    )


def create_account_session(account_id: str, components: list[str]) -> dict[str, Any]:
    """A single-use account session enabling only `components`. Never store or log it."""
    params = {
        "account": account_id,
        "components": {name: {"enabled": True} for name in components},
    }
    return _call(
        "start embedded onboarding",
        lambda: _as_dict(client().v1.account_sessions.create(params)),
    )


def create_login_link(account_id: str) -> str:
    link = _call(
        "open the Stripe Express dashboard",
        lambda: client().v1.accounts.login_links.create(account_id),
    )
    return str(link.url)


def retrieve_balance(account_id: str) -> dict[str, Any]:
    return _call(
        "read the Stripe balance",
        lambda: _as_dict(client().v1.balance.retrieve(options=_on(account_id))),
    )


def list_all(
    resource: str, account_id: str, params: dict[str, Any] | None = None
) -> Iterator[dict[str, Any]]:
    """Every object of a list endpoint on a connected account, page by page, newest first.

    `resource` names a `client.v1` service, e.g. "balance_transactions" or "payouts".
    """
    service = getattr(client().v1, resource)
    page = _call(
        f"list {resource.replace('_', ' ')}",
        lambda: service.list({"limit": 100, **(params or {})}, _on(account_id)),
    )
    iterator = page.auto_paging_iter()
    while True:
        item = _call(f"list {resource.replace('_', ' ')}", lambda: next(iterator, None))
        if item is None:
            return
        yield _as_dict(item)
