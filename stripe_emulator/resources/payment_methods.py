"""Payment methods: Stripe's test cards (`pm_card_visa`, …) attached to customers, a customer's
default for invoices, and which one an invoice payment charges.

As on Stripe, a test id such as ``pm_card_visa`` names a card, not an object: attaching it (or
creating a customer with ``payment_method=pm_card_visa``) makes a new ``pm_…`` for that customer.
"""

from __future__ import annotations

from typing import Any

from ..errors import invalid, no_such
from ..params import merge_metadata
from ..server import Request, api, paginate
from ..state import State, public

JSON = dict[str, Any]

# Stripe's test payment methods: brand, last4, funding, and the decline a charge meets (if any).
TEST_CARDS: dict[str, tuple[str, str, str, str | None]] = {
    "pm_card_visa": ("visa", "4242", "credit", None),
    "pm_card_visa_debit": ("visa", "5556", "debit", None),
    "pm_card_mastercard": ("mastercard", "4444", "credit", None),
    "pm_card_amex": ("amex", "8431", "credit", None),
    "pm_card_chargeDeclined": ("visa", "0002", "credit", "generic_decline"),
    "pm_card_chargeDeclinedInsufficientFunds": ("visa", "9995", "credit", "insufficient_funds"),
    "pm_card_chargeDeclinedExpiredCard": ("visa", "0069", "credit", "expired_card"),
}
# Test tokens (`card[token]` on create) naming the same cards.
TEST_TOKENS = {
    "tok_visa": "pm_card_visa",
    "tok_visa_debit": "pm_card_visa_debit",
    "tok_mastercard": "pm_card_mastercard",
    "tok_amex": "pm_card_amex",
    "tok_chargeDeclined": "pm_card_chargeDeclined",
    "tok_chargeDeclinedInsufficientFunds": "pm_card_chargeDeclinedInsufficientFunds",
    "tok_chargeDeclinedExpiredCard": "pm_card_chargeDeclinedExpiredCard",
}
NO_PAYMENT_METHOD = (
    "This customer has no attached payment source or default payment method. Please consider "
    "adding a default payment method. For more information, visit "
    "https://stripe.com/docs/billing/subscriptions/payment-methods-setting"
    "#payment-method-priority."
)


def billing_details(postal_code: str | None = None) -> JSON:
    """Stripe's `billing_details` of a test card, known but for the postal code: a payment
    method carries it and a charge copies it."""
    return {
        "address": {
            "city": None,
            "country": None,
            "line1": None,
            "line2": None,
            "postal_code": postal_code,
            "state": None,
        },
        "email": None,
        "name": None,
        "phone": None,
        "tax_id": None,
    }


def _new(state: State, owner: str, test_id: str, now: int) -> JSON:
    brand, last4, funding, decline = TEST_CARDS[test_id]
    method = {
        "id": state.new_id("pm"),
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": billing_details(),
        "card": {
            "brand": brand,
            "checks": {
                "address_line1_check": None,
                "address_postal_code_check": None,
                "cvc_check": "unchecked",
            },
            "country": "US",
            "display_brand": brand,
            "exp_month": 12,
            "exp_year": 2034,
            "fingerprint": f"emulator{brand.title()}{last4}",
            "funding": funding,
            "generated_from": None,
            "last4": last4,
            "networks": {"available": [brand], "preferred": None},
            "regulated_status": "unregulated",
            "three_d_secure_usage": {"supported": True},
            "wallet": None,
        },
        "created": now,
        "customer": None,
        "customer_account": None,
        "livemode": False,
        "metadata": {},
        "type": "card",
        "_decline": decline,
    }
    state.put(method, owner)
    return method


def resolve(req: Request, method_id: str, param: str) -> JSON:
    """The stored payment method, or a new one for a test id (`pm_card_visa`)."""
    if method_id in TEST_CARDS:
        return _new(req.state, req.owner, method_id, req.now)
    return _stored(req, method_id, param)


def _stored(req: Request, method_id: str, param: str) -> JSON:
    """The caller's stored payment method, or Stripe's "no such" error naming `param`."""
    method = req.state.find(method_id)
    if (
        method is None
        or method.get("object") != "payment_method"
        or req.state.owner_of(method_id) != req.owner
    ):
        raise no_such("PaymentMethod", method_id, param)
    return method


def attach(req: Request, method: JSON, customer: JSON) -> JSON:
    if method["customer"] == customer["id"]:
        return method
    if method["customer"] is not None:
        raise invalid(
            "The payment method you provided has already been attached to a customer.",
            code="payment_method_unexpected_state",
        )
    method["customer"] = customer["id"]
    req.state.touch()
    req.emit("payment_method.attached", method)
    return method


def owned_by(req: Request, method_id: str, customer_id: str, param: str) -> JSON:
    """A payment method attached to this customer (what Stripe requires of a default)."""
    method = _stored(req, method_id, param)
    if method["customer"] != customer_id:
        raise invalid(
            f"The customer does not have a payment method with the ID {method_id}. The payment "
            "method must be attached to the customer.",
            param,
            "resource_missing",
        )
    return method


def charged_for_invoice(state: State, invoice: JSON, explicit: str | None) -> JSON | None:
    """What paying ``invoice`` charges: the ``payment_method`` passed to pay, else the invoice's
    ``default_payment_method``, else its customer's ``invoice_settings.default_payment_method``
    (Stripe's order; sources are not emulated). None when there is none."""
    customer = state.find(invoice["customer"]) or {}
    default = (customer.get("invoice_settings") or {}).get("default_payment_method")
    for method_id in (explicit, invoice.get("default_payment_method"), default):
        if method_id:
            method = state.find(method_id)
            if method is not None and method.get("customer") == invoice["customer"]:
                return method
    return None


def decline_of(method: JSON) -> str | None:
    return method.get("_decline")


@api.route("POST", "/v1/payment_methods")
def create_payment_method(req: Request) -> JSON:
    p = req.params
    kind = p.str("type", required=True)
    if kind != "card":
        raise invalid("The emulator creates card payment methods only (type=card).", "type")
    card = p.dict("card")
    token = card.str("token") if card is not None else None
    if token is None or token not in TEST_TOKENS:
        raise invalid(
            "Pass a test card token as card[token] (e.g. tok_visa), or use a test payment "
            "method such as pm_card_visa directly.",
            "card",
        )
    method = _new(req.state, req.owner, TEST_TOKENS[token], req.now)
    method["metadata"] = merge_metadata(method["metadata"], p.metadata())
    return public(method)


@api.route("GET", "/v1/payment_methods/{method_id}")
def retrieve_payment_method(req: Request, method_id: str) -> JSON:
    return public(resolve(req, method_id, "payment_method"))


@api.route("POST", "/v1/payment_methods/{method_id}/attach")
def attach_payment_method(req: Request, method_id: str) -> JSON:
    from .customers import customer_of

    customer_id = req.params.str("customer", required=True)
    assert customer_id is not None
    customer = customer_of(req, customer_id, "customer")
    method = resolve(req, method_id, "payment_method")
    return public(attach(req, method, customer))


@api.route("POST", "/v1/payment_methods/{method_id}/detach")
def detach_payment_method(req: Request, method_id: str) -> JSON:
    method = resolve(req, method_id, "payment_method")
    customer_id = method["customer"]
    if customer_id is None:
        raise invalid(
            "The payment method you provided is not attached to a customer so detachment is "
            "impossible.",
            code="payment_method_unexpected_state",
        )
    customer = req.state.find(customer_id) or {}
    settings = customer.get("invoice_settings") or {}
    if settings.get("default_payment_method") == method_id:
        before = public(customer)
        settings["default_payment_method"] = None
        req.emit_changes("customer.updated", customer, before)
    method["customer"] = None
    req.state.touch()
    req.emit("payment_method.detached", method)
    return public(method)


def _listed(req: Request, customer_id: str, url: str) -> JSON:
    kind = req.params.str("type")
    methods = [
        m
        for m in req.state.all(req.owner, "payment_method")
        if m["customer"] == customer_id and (kind is None or m["type"] == kind)
    ]
    return paginate(req, methods, url)


@api.route("GET", "/v1/payment_methods")
def list_payment_methods(req: Request) -> JSON:
    customer_id = req.params.str("customer")
    if customer_id is None:
        raise invalid("The emulator lists a customer's payment methods only: pass customer.")
    return _listed(req, customer_id, "/v1/payment_methods")


@api.route("GET", "/v1/customers/{customer_id}/payment_methods")
def list_customer_payment_methods(req: Request, customer_id: str) -> JSON:
    from .customers import customer_of

    customer_of(req, customer_id)
    return _listed(req, customer_id, f"/v1/customers/{customer_id}/payment_methods")


@api.route("GET", "/v1/customers/{customer_id}/payment_methods/{method_id}")
def retrieve_customer_payment_method(req: Request, customer_id: str, method_id: str) -> JSON:
    return public(owned_by(req, method_id, customer_id, "payment_method"))
