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

import json
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

    def __init__(
        self, message: str, *, detail: str = "", code: str = "", replay_of: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.code = code
        # For a failure Stripe replayed under an idempotency key: the failed request's id.
        self.replay_of = replay_of


class StripeUnavailable(GatewayError):
    """Stripe did not answer, answered 5xx, or rate-limited us: try again later."""


REPLAYED_FAILURE = "replayed_failure"


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
            f"Could not {action}: Stripe did not answer, so we could not confirm whether it "
            "happened. Try again in a minute: trying again is safe.",
            detail=str(exc),
            code="unreachable",
        ) from exc
    except stripe.CardError as exc:
        # A declined payment (402): Stripe's message says why, for the seller to act on.
        message = exc.user_message or (exc.error.message if exc.error else None) or str(exc)
        raise StripeRejected(
            f"Could not {action}: {message}", detail=str(exc), code=exc.code or ""
        ) from exc
    except (stripe.InvalidRequestError, stripe.IdempotencyError, stripe.PermissionError) as exc:
        message = exc.user_message or (exc.error.message if exc.error else None) or str(exc)
        # Stripe gives a key reused with other parameters a type, not a code.
        idempotency = "idempotency_error" if isinstance(exc, stripe.IdempotencyError) else ""
        raise StripeRejected(
            f"Could not {action}: {message}", detail=str(exc), code=exc.code or idempotency
        ) from exc
    except stripe.StripeError as exc:
        # 5xx and anything else unexpected, after the SDK's own retries. A replayed one is the
        # saved answer of an earlier request with the same idempotency key: that request has
        # finished, and repeating it will only ever give this answer for 24 hours.
        logger.warning("Stripe error while trying to %s: %s", action, exc)
        headers = exc.headers or {}
        replayed = headers.get("Idempotent-Replayed") == "true"
        raise StripeUnavailable(
            f"Could not {action}: Stripe had a problem on its side. Try again in a minute.",
            detail=str(exc),
            code=REPLAYED_FAILURE if replayed else "",
            replay_of=headers.get("Original-Request", "") if replayed else "",
        ) from exc


def create_once(
    create: Callable[[str], dict[str, Any]],
    idempotency_key: str,
    find: Callable[[], dict[str, Any] | None],
) -> dict[str, Any]:
    """`create(key)` exactly once, even past a failure Stripe saved under the key.

    Stripe saves a 5xx under its idempotency key and replays it for 24 hours, so a create that
    failed once would fail for a day. When the answer is such a replay, the failed request has
    finished: `find` looks for what it may have made anyway, and if there is nothing, the create
    is repeated under a key derived from the failed request, one every concurrent caller
    derives alike (so they still make one object between them).
    """
    key = idempotency_key
    for _ in range(3):
        try:
            return create(key)
        except StripeUnavailable as exc:
            if exc.code != REPLAYED_FAILURE or not exc.replay_of:
                raise
            found = find()
            if found is not None:
                return found
            key = f"{idempotency_key}:after-{exc.replay_of}"
    return create(key)


def _find_in_list(
    service: Any, params: dict[str, Any], account_id: str | None, match: Callable[[Any], bool]
) -> dict[str, Any] | None:
    """The first object of a list (all its pages, on the platform when `account_id` is None)
    that `match` accepts."""
    params = {"limit": 100, **params}
    options = _on(account_id) if account_id else {}
    while True:
        page = service.list(params, options)
        for obj in page.data:
            if match(obj):
                return _as_dict(obj)
        if not page.has_more or not page.data:
            return None
        params["starting_after"] = page.data[-1].id


def find_customer(account_id: str, metadata: dict[str, str]) -> dict[str, Any] | None:
    """The account's customer whose metadata holds `metadata`, if any."""
    return _call(
        "look for the buyer in Stripe",
        lambda: _find_in_list(
            client().v1.customers,
            {},
            account_id,
            lambda c: bool(c.metadata) and metadata.items() <= c.metadata.to_dict().items(),
        ),
    )


def find_invoice_item(account_id: str, customer_id: str, usage_id: str) -> dict[str, Any] | None:
    """The buyer's invoice item recorded for our `usage_id`, if Stripe has one."""
    return _call(
        "look for the usage in Stripe",
        lambda: _find_in_list(
            client().v1.invoice_items,
            {"customer": customer_id},
            account_id,
            lambda item: (
                bool(item.metadata) and item.metadata.to_dict().get("usage_id") == usage_id
            ),
        ),
    )


def find_draft_invoice(
    account_id: str, customer_id: str, items_digest: str
) -> dict[str, Any] | None:
    """The buyer's draft invoice a billing run made for these pending items, if any."""
    return _call(
        "look for the invoice",
        lambda: _find_in_list(
            client().v1.invoices,
            {"customer": customer_id, "status": "draft"},
            account_id,
            lambda invoice: (
                bool(invoice.metadata)
                and invoice.metadata.to_dict().get("items_digest") == items_digest
            ),
        ),
    )


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


def find_connected_account(
    *, metadata: dict[str, str], created_since: int
) -> dict[str, Any] | None:
    """The platform's connected account created at or after `created_since` whose metadata
    holds `metadata`, if any: how a create whose answer was lost finds what it made."""

    return _call(
        "look for the Stripe account",
        lambda: _find_in_list(
            client().v1.accounts,
            {"created": {"gte": created_since}},
            None,
            lambda a: bool(a.metadata) and metadata.items() <= a.metadata.to_dict().items(),
        ),
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
    action = f"list {resource.replace('_', ' ')}"
    page = _call(action, lambda: service.list({"limit": 100, **(params or {})}, _on(account_id)))
    yield from _every(action, page)


def _every(action: str, page: Any) -> Iterator[dict[str, Any]]:
    """Every object from `page` on, fetching the following pages as they are reached."""
    iterator = page.auto_paging_iter()
    while True:
        item = _call(action, lambda: next(iterator, None))
        if item is None:
            return
        yield _as_dict(item)


def list_invoice_lines(account_id: str, invoice_id: str) -> list[dict[str, Any]]:
    """All of an invoice's lines, oldest first. The invoice object embeds only the first ten
    (`lines.has_more` says when there are more); this reads them all, 100 a page."""
    action = "read the invoice's lines"
    page = _call(
        action,
        lambda: client().v1.invoices.line_items.list(invoice_id, {"limit": 100}, _on(account_id)),
    )
    return list(_every(action, page))


def list_page(
    resource: str, account_id: str, params: dict[str, Any] | None = None
) -> tuple[list[dict[str, Any]], bool]:
    """One page of a list endpoint on a connected account: (objects, has_more)."""
    service = getattr(client().v1, resource)
    page = _call(
        f"list {resource.replace('_', ' ')}",
        lambda: service.list({"limit": 100, **(params or {})}, _on(account_id)),
    )
    return [_as_dict(item) for item in page.data], bool(page.has_more)


def retrieve(resource: str, object_id: str, account_id: str) -> dict[str, Any]:
    """One object of `client.v1.<resource>` on a connected account, as Stripe has it now."""
    service = getattr(client().v1, resource)
    return _call(
        f"read {resource.replace('_', ' ').rstrip('s')} {object_id}",
        lambda: _as_dict(service.retrieve(object_id, None, _on(account_id))),
    )


def retrieve_application_fee(fee_id: str) -> dict[str, Any]:
    """An application fee, which lives on the platform (its `account` names the seller)."""
    return _call(
        f"read application fee {fee_id}",
        lambda: _as_dict(client().v1.application_fees.retrieve(fee_id)),
    )


# Webhooks


class WebhookSignatureInvalid(Exception):
    pass


def verify_webhook(payload: bytes, signature_header: str) -> dict[str, Any]:
    """The event in `payload` if its `Stripe-Signature` is valid for one of our endpoints'
    secrets: the Connect endpoint's, or the platform endpoint's (if set) at the same URL."""
    if not signature_header:
        raise WebhookSignatureInvalid("Missing Stripe-Signature header")
    secrets = [settings.STRIPE_WEBHOOK_SECRET, settings.STRIPE_PLATFORM_WEBHOOK_SECRET]
    failure: Exception | None = None
    for secret in filter(None, secrets):
        try:
            stripe.WebhookSignature.verify_header(
                payload.decode("utf-8"),
                signature_header,
                secret,
                tolerance=stripe.Webhook.DEFAULT_TOLERANCE,  # 5 minutes: refuses replays
            )
            break
        except (stripe.SignatureVerificationError, UnicodeDecodeError) as exc:
            failure = exc
    else:
        raise WebhookSignatureInvalid(str(failure or "No webhook secret is configured"))
    try:
        event = json.loads(payload)
    except ValueError as exc:
        raise WebhookSignatureInvalid("Payload is not JSON") from exc
    if not isinstance(event, dict) or "id" not in event or "type" not in event:
        raise WebhookSignatureInvalid("Payload is not a Stripe event")
    return event


# Invoicing buyers (direct: everything lives on the seller's connected account)


def create_customer(
    account_id: str, *, name: str, email: str, metadata: dict[str, str], idempotency_key: str
) -> dict[str, Any]:
    params = {"name": name, "metadata": metadata}
    if email:
        params["email"] = email
    return _call(
        "create the buyer in Stripe",
        lambda: _as_dict(
            client().v1.customers.create(params, _on(account_id, idempotency_key=idempotency_key))
        ),
    )


def create_invoice_item(
    account_id: str, params: dict[str, Any], *, idempotency_key: str
) -> dict[str, Any]:
    return _call(
        "record the usage in Stripe",
        lambda: _as_dict(
            client().v1.invoice_items.create(
                params, _on(account_id, idempotency_key=idempotency_key)
            )
        ),
    )


def create_invoice(
    account_id: str, params: dict[str, Any], *, idempotency_key: str
) -> dict[str, Any]:
    return _call(
        "create the invoice",
        lambda: _as_dict(
            client().v1.invoices.create(params, _on(account_id, idempotency_key=idempotency_key))
        ),
    )


def update_invoice(account_id: str, invoice_id: str, params: dict[str, Any]) -> dict[str, Any]:
    return _call(
        "update the invoice",
        lambda: _as_dict(client().v1.invoices.update(invoice_id, params, _on(account_id))),
    )


def invoice_action(
    action: str,
    account_id: str,
    invoice_id: str,
    params: dict[str, Any] | None = None,
    *,
    idempotency_key: str = "",
) -> dict[str, Any]:
    """Run `finalize_invoice`, `send_invoice`, `pay`, `void_invoice`, `mark_uncollectible`,
    `add_lines`, `update_lines` or `remove_lines` on an invoice."""
    allowed = {
        "finalize_invoice": "finalize the invoice",
        "send_invoice": "send the invoice",
        "pay": "mark the invoice paid",
        "void_invoice": "void the invoice",
        "mark_uncollectible": "mark the invoice uncollectible",
        "add_lines": "add lines to the invoice",
        "update_lines": "update the invoice's lines",
        "remove_lines": "remove lines from the invoice",
    }
    method = getattr(client().v1.invoices, action) if action in allowed else None
    if method is None:
        raise ValueError(f"Unknown invoice action {action}")
    key = {"idempotency_key": idempotency_key} if idempotency_key else {}
    return _call(
        allowed[action], lambda: _as_dict(method(invoice_id, params, _on(account_id, **key)))
    )


def invoice_was_sent(account_id: str, invoice_id: str, since: int) -> bool:
    """Whether Stripe sent this invoice to its customer (an `invoice.sent` event since
    `since`): how a send whose answer was lost learns that it happened."""

    return (
        _call(
            "check whether the invoice was sent",
            lambda: _find_in_list(
                client().v1.events,
                {"type": "invoice.sent", "created": {"gte": since}},
                account_id,
                lambda event: event.data.object.id == invoice_id,
            ),
        )
        is not None
    )


# A connected account has no default billing portal configuration (Stripe refuses a session
# without one), so we create ours on the account once and pass it on every session. It is found
# again by this metadata mark rather than stored, so an account set up elsewhere still works.
PORTAL_MARK = {"storefront_billing": "buyer_portal"}
PORTAL_FEATURES = {
    "invoice_history": {"enabled": True},
    "payment_method_update": {"enabled": True},
    "customer_update": {"enabled": True, "allowed_updates": ["email", "address", "name"]},
}


def portal_configuration(account_id: str) -> str:
    """Our billing portal configuration on a connected account, created on first use."""
    page = _call(
        "read the billing portal settings",
        lambda: client().v1.billing_portal.configurations.list(
            {"active": True, "limit": 100}, _on(account_id)
        ),
    )
    for config in map(_as_dict, page.data):
        if PORTAL_MARK.items() <= (config.get("metadata") or {}).items():
            return str(config["id"])
    config = _call(
        "set up the billing portal",
        lambda: client().v1.billing_portal.configurations.create(
            {"features": PORTAL_FEATURES, "metadata": PORTAL_MARK},
            _on(account_id, idempotency_key=f"portal-configuration-{account_id}"),
        ),
    )
    return str(config.id)


def create_billing_portal_session(account_id: str, customer_id: str, return_url: str) -> str:
    configuration = portal_configuration(account_id)
    session = _call(
        "open the billing portal",
        lambda: client().v1.billing_portal.sessions.create(
            {"customer": customer_id, "return_url": return_url, "configuration": configuration},
            _on(account_id),
        ),
    )
    return str(session.url)


# Money the platform moves on a seller's account: refunds by its support staff, payouts the
# seller asks for. All on the connected account (`Stripe-Account`), where the charges live.


def create_refund(
    account_id: str,
    charge_id: str,
    *,
    idempotency_key: str,
    amount: int | None = None,
    refund_application_fee: bool = False,
    reason: str = "",
) -> dict[str, Any]:
    """Refund a buyer's payment, in full or `amount` minor units of it. With
    `refund_application_fee` the platform also gives back its fee, in proportion."""
    params: dict[str, Any] = {"charge": charge_id, "refund_application_fee": refund_application_fee}
    if amount is not None:
        params["amount"] = amount
    if reason:
        params["reason"] = reason
    return _call(
        "refund the payment",
        lambda: _as_dict(
            client().v1.refunds.create(params, _on(account_id, idempotency_key=idempotency_key))
        ),
    )


def set_payout_schedule(account_id: str, interval: str, **schedule: Any) -> dict[str, Any]:
    """Pay the seller out `daily`, `weekly` (with `weekly_anchor`), `monthly` (with
    `monthly_anchor`) or only when asked (`manual`)."""
    params = {"settings": {"payouts": {"schedule": {"interval": interval, **schedule}}}}
    return _call(
        "change the payout schedule",
        lambda: _as_dict(client().v1.accounts.update(account_id, params)),
    )


def create_payout(
    account_id: str, *, amount: int, currency: str, idempotency_key: str, method: str = "standard"
) -> dict[str, Any]:
    """Pay `amount` out to the seller's bank now. Stripe allows a `standard` one only on a
    manual payout schedule; an `instant` one (to an eligible bank account or debit card) on
    any schedule, from funds still pending too."""
    params = {"amount": amount, "currency": currency.lower(), "method": method}
    return _call(
        "create the payout",
        lambda: _as_dict(
            client().v1.payouts.create(params, _on(account_id, idempotency_key=idempotency_key))
        ),
    )
