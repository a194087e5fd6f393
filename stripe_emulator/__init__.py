"""Stripe emulator: a local, stateful stand-in for the subset of the Stripe API (and
connect.js) that Storefront Billing uses, spoken to by the real ``stripe`` SDK over HTTP.

What it is:
  * an HTTP server (``python -m stripe_emulator``, or ``EmulatorServer`` in tests)
    answering ``/v1/...`` with Stripe's wire format, errors, ids, pagination, idempotency and
    ``Stripe-Account`` scoping, for accounts, account links and sessions, balances, balance
    transactions, payouts (automatic, manual, instant), charges, refunds, disputes,
    application fees and their refunds, external (bank) accounts, customers, invoice items,
    invoices, billing portal configurations and sessions, and events; charges settle in a
    currency the account holds, converted at fixed rates;
  * signed webhook delivery with retries, and a connect.js stand-in with hosted pages;
  * ``/_emulator/`` controls (clock, onboarding outcomes, faults, webhooks, reset) that Stripe
    does not have.

What it is not:
  * not Stripe: fees, timings and requirement lists are realistic, not authoritative;
  * not a library for production code: the app reaches it only over HTTP via
    ``STRIPE_API_BASE``; nothing of the product imports it;
  * not secure: any ``sk_test_...`` key is accepted and there is no TLS. Bind it to localhost.
  * not complete: endpoints outside the project's needs answer Stripe's "Unrecognized request
    URL" 404. Parameters of every ``/v1`` request are checked against the installed SDK's own
    params types (``schema.py``): unknown, missing or mistyped ones are refused as Stripe
    refuses them; valid ones the emulator does not model are accepted and ignored.
"""

from .server import EmulatorServer
from .state import API_VERSION

__all__ = ["API_VERSION", "EmulatorServer"]
