"""Every object the emulator returns carries the fields the SDK's classes declare for it
(class annotations, checked recursively into nested classes), and deserializes to that class.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
import stripe
from stripe.billing_portal import Configuration as PortalConfiguration
from stripe.billing_portal import Session as PortalSession

from tests.stripe_emulator.helpers import express_account, onboarded_account, paid_invoice

# Present on the SDK classes only for deleted objects (Stripe omits it otherwise).
ONLY_WHEN_DELETED = {"deleted"}
# Nested hashes Stripe fills sparsely (a key per requested capability, per payment method
# type, per funding source, only on ``*.updated`` events, ...): present, but not every key.
SPARSE = {
    "capabilities",
    "payment_method_details",
    "source_types",
    "features",
    "fee_source",
    "issuer",
    "fraud_details",
    "previous_attributes",
    "proration_details",
}


def _declared(cls: type) -> dict[str, str]:
    fields = {}
    for klass in reversed(cls.__mro__):
        for name, annotation in getattr(klass, "__annotations__", {}).items():
            text = annotation if isinstance(annotation, str) else repr(annotation)
            if "ClassVar" in text or name.startswith("_"):
                continue
            fields[name] = text
    return fields


def _nested_class(owner: type, annotation: str) -> type | None:
    for name in re.findall(r"\b([A-Z]\w*)\b", annotation):
        candidate = getattr(owner, name, None)
        if isinstance(candidate, type) and issubclass(candidate, stripe.StripeObject):
            if candidate.__dict__.get("OBJECT_NAME"):
                return None  # a top-level resource (expandable id), checked on its own
            return candidate
    return None


def missing_fields(cls: type, payload: dict[str, Any], path: str = "") -> list[str]:
    missing = []
    for name, annotation in _declared(cls).items():
        if name in ONLY_WHEN_DELETED or (path and name in SPARSE):
            continue
        if name not in payload:
            missing.append(f"{path}{name}")
            continue
        value = payload[name]
        nested = _nested_class(cls, annotation)
        if nested is None or name in SPARSE:
            continue
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, dict):
                missing += missing_fields(nested, item, f"{path}{name}.")
    return missing


@pytest.fixture
def world(stripe_client, stripe_emulator):
    """One of every object, fetched raw (JSON) with the URL that returns it."""
    account = onboarded_account(stripe_client, stripe_emulator)
    fresh = express_account(stripe_client)
    opts = {"stripe_account": account.id}
    invoice = paid_invoice(stripe_client, account.id)
    stripe_emulator.advance(days=5)
    customer = invoice.customer
    item = stripe_client.v1.invoice_items.list(None, opts).data[0]
    payout = stripe_client.v1.payouts.list(None, opts).data[0]
    txn = stripe_client.v1.balance_transactions.list(None, opts).data[0]
    charge = stripe_client.v1.charges.list(None, opts).data[0]
    fee = stripe_client.v1.application_fees.list().data[0]
    event = stripe_client.v1.events.list(None, opts).data[0]
    link = stripe_client.v1.account_links.create(
        {
            "account": fresh.id,
            "type": "account_onboarding",
            "refresh_url": "http://a.test/r",
            "return_url": "http://a.test/x",
        }
    )
    session = stripe_client.v1.account_sessions.create(
        {"account": fresh.id, "components": {"account_onboarding": {"enabled": True}}}
    )
    login = stripe_client.v1.accounts.login_links.create(account.id)
    config = stripe_client.v1.billing_portal.configurations.create(
        {"features": {"invoice_history": {"enabled": True}}}, opts
    )
    portal = stripe_client.v1.billing_portal.sessions.create(
        {"customer": customer, "configuration": config.id}, opts
    )
    return {
        "account": account,
        "opts": opts,
        "objects": {
            "account": (stripe.Account, f"/v1/accounts/{account.id}", None),
            "fresh_account": (stripe.Account, f"/v1/accounts/{fresh.id}", None),
            "capability": (
                stripe.Capability,
                f"/v1/accounts/{account.id}/capabilities/transfers",
                None,
            ),
            "balance": (stripe.Balance, "/v1/balance", account.id),
            "platform_balance": (stripe.Balance, "/v1/balance", None),
            "balance_transaction": (
                stripe.BalanceTransaction,
                f"/v1/balance_transactions/{txn.id}",
                account.id,
            ),
            "payout": (stripe.Payout, f"/v1/payouts/{payout.id}", account.id),
            "customer": (stripe.Customer, f"/v1/customers/{customer}", account.id),
            "invoiceitem": (stripe.InvoiceItem, f"/v1/invoiceitems/{item.id}", account.id),
            # `payments` is includable: Stripe shows it only when expanded.
            "invoice": (
                stripe.Invoice,
                f"/v1/invoices/{invoice.id}?expand[]=payments",
                account.id,
            ),
            "line_item": (stripe.InvoiceLineItem, f"/v1/invoices/{invoice.id}/lines", account.id),
            "charge": (stripe.Charge, f"/v1/charges/{charge.id}", account.id),
            "application_fee": (stripe.ApplicationFee, f"/v1/application_fees/{fee.id}", None),
            "event": (stripe.Event, f"/v1/events/{event.id}", account.id),
            "billing_portal.configuration": (
                PortalConfiguration,
                f"/v1/billing_portal/configurations/{config.id}",
                account.id,
            ),
            "list": (stripe.ListObject, "/v1/customers", account.id),
        },
        "created": {
            "account_link": (stripe.AccountLink, link),
            "account_session": (stripe.AccountSession, session),
            "login_link": (stripe.LoginLink, login),
            "billing_portal.session": (PortalSession, portal),
        },
    }


def _raw(base: str, path: str, account: str | None) -> dict[str, Any]:
    headers = {"Authorization": "Bearer sk_test_fields"}
    if account:
        headers["Stripe-Account"] = account
    response = requests.get(base + path, headers=headers, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def test_retrieved_objects_carry_every_declared_field(stripe_emulator, world):
    problems = {}
    for name, (cls, path, account) in world["objects"].items():
        payload = _raw(stripe_emulator.base_url, path, account)
        if name == "line_item":
            payload = payload["data"][0]
        missing = missing_fields(cls, payload)
        if missing:
            problems[name] = missing
    assert problems == {}, "\n".join(f"{k}: {v}" for k, v in problems.items())


def test_created_objects_carry_every_declared_field(world):
    problems = {}
    for name, (cls, obj) in world["created"].items():
        assert isinstance(obj, cls), name
        missing = missing_fields(cls, obj.to_dict())
        if missing:
            problems[name] = missing
    assert problems == {}, "\n".join(f"{k}: {v}" for k, v in problems.items())


def test_sdk_deserializes_each_object_into_its_class(stripe_client, world):
    opts = world["opts"]
    assert isinstance(stripe_client.v1.accounts.retrieve(world["account"].id), stripe.Account)
    assert isinstance(stripe_client.v1.balance.retrieve(options=opts), stripe.Balance)
    for service, cls in (
        (stripe_client.v1.balance_transactions, stripe.BalanceTransaction),
        (stripe_client.v1.payouts, stripe.Payout),
        (stripe_client.v1.customers, stripe.Customer),
        (stripe_client.v1.invoice_items, stripe.InvoiceItem),
        (stripe_client.v1.invoices, stripe.Invoice),
        (stripe_client.v1.charges, stripe.Charge),
        (stripe_client.v1.events, stripe.Event),
    ):
        page = service.list(None, opts)
        assert isinstance(page, stripe.ListObject)
        assert page.data and all(isinstance(o, cls) for o in page.data), cls
    fees = stripe_client.v1.application_fees.list()
    assert all(isinstance(f, stripe.ApplicationFee) for f in fees.data)
    invoice = stripe_client.v1.invoices.list(None, opts).data[0]
    assert all(isinstance(line, stripe.InvoiceLineItem) for line in invoice.lines.data)
