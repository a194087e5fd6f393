"""Customers on the platform or on a connected account (the buyers we invoice)."""

from __future__ import annotations

from typing import Any

from ..errors import invalid, no_such
from ..params import Params, merge_metadata
from ..server import Request, api, list_matching
from ..state import public, random_token
from . import payment_methods

JSON = dict[str, Any]

# --- customers -----------------------------------------------------------------------------


def _customer_fields(customer: JSON, p: Params) -> None:
    for key in ("email", "name", "description", "phone"):
        if key in p:
            customer[key] = p.str(key)
    if "address" in p:
        address = p.dict("address")
        customer["address"] = {
            f: (address.str(f) if address else None)
            for f in ("city", "country", "line1", "line2", "postal_code", "state")
        }
    if "preferred_locales" in p:
        customer["preferred_locales"] = [str(x) for x in p.list("preferred_locales")]
    customer["metadata"] = merge_metadata(customer["metadata"], p.metadata())


def _invoice_settings(req: Request, customer: JSON, p: Params) -> None:
    """``invoice_settings``: the default payment method must be attached to the customer
    (checked before anything changes); an empty value clears it."""
    settings = p.dict("invoice_settings")
    if settings is None:
        return
    if "default_payment_method" in settings:
        method_id = settings.str("default_payment_method")
        if method_id:
            payment_methods.owned_by(
                req, method_id, customer["id"], "invoice_settings[default_payment_method]"
            )
        customer["invoice_settings"]["default_payment_method"] = method_id or None
    if "footer" in settings:
        customer["invoice_settings"]["footer"] = settings.str("footer")


@api.route("POST", "/v1/customers")
def create_customer(req: Request) -> JSON:
    p = req.params
    customer_id = req.state.new_id("cus", 14)
    prefix = p.str("invoice_prefix") or random_token(8).upper()
    customer: JSON = {
        "id": customer_id,
        "object": "customer",
        "address": None,
        "balance": 0,
        "business_name": None,
        "cash_balance": None,
        "created": req.now,
        "currency": None,
        "customer_account": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": None,
        "individual_name": None,
        "invoice_credit_balance": {},
        "invoice_prefix": prefix,
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": {},
        "name": None,
        "next_invoice_sequence": 1,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "sources": None,
        "subscriptions": None,
        "tax": None,
        "tax_exempt": "none",
        "tax_ids": None,
        "test_clock": None,
    }
    _customer_fields(customer, p)
    # Checked before the customer is stored: a refused create leaves no customer behind.
    method = None
    named = p.str("payment_method")
    if named:
        method = payment_methods.resolve(req, named, "payment_method")
        if method["customer"] is not None:
            raise invalid(
                "The payment method you provided has already been attached to a customer.",
                "payment_method",
                "payment_method_unexpected_state",
            )
    settings = p.dict("invoice_settings")
    default = settings.str("default_payment_method") if settings is not None else None
    if default and not (method is not None and default == named):
        # Only the payment method attached by this same request can be its default.
        payment_methods.owned_by(
            req, default, customer_id, "invoice_settings[default_payment_method]"
        )
    req.state.put(customer, req.owner)
    if method is not None:
        payment_methods.attach(req, method, customer)
    if settings is not None and "footer" in settings:
        customer["invoice_settings"]["footer"] = settings.str("footer")
    if default:
        customer["invoice_settings"]["default_payment_method"] = (
            method["id"] if method is not None and default == named else default
        )
    req.emit("customer.created", customer)
    return public(customer)


def customer_of(req: Request, customer_id: str, param: str = "id") -> JSON:
    customer = req.state.get(customer_id, req.owner, "customer", param)
    if customer.get("_deleted"):
        raise no_such("customer", customer_id, param)
    return customer


@api.route("GET", "/v1/customers/{customer_id}")
def retrieve_customer(req: Request, customer_id: str) -> JSON:
    customer = req.state.get(customer_id, req.owner, "customer")
    if customer.get("_deleted"):
        return {"id": customer_id, "object": "customer", "deleted": True}
    return public(customer)


@api.route("POST", "/v1/customers/{customer_id}")
def update_customer(req: Request, customer_id: str) -> JSON:
    customer = customer_of(req, customer_id)
    before = public(customer)
    # The payment method is checked before any field changes.
    _invoice_settings(req, customer, req.params)
    _customer_fields(customer, req.params)
    req.emit_changes("customer.updated", customer, before)
    return public(customer)


@api.route("DELETE", "/v1/customers/{customer_id}")
def delete_customer(req: Request, customer_id: str) -> JSON:
    customer = customer_of(req, customer_id)
    customer["_deleted"] = True
    req.state.touch()
    req.emit("customer.deleted", customer)
    return {"id": customer_id, "object": "customer", "deleted": True}


@api.route("GET", "/v1/customers")
def list_customers(req: Request) -> JSON:
    return list_matching(req, "customer", "/v1/customers", equal=("email",), ranges=("created",))
