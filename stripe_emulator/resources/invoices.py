"""Invoice items and invoices: draft → open → paid / void / uncollectible, line editing on
drafts, previews, auto-finalizing and overdue timers.
"""

from __future__ import annotations

import contextlib
import copy
from typing import Any

from ..errors import StripeError, invalid, missing_param, no_such, state_error
from ..params import Params, in_range, merge_metadata
from ..server import (
    INCLUDABLE,
    Request,
    api,
    embedded_list,
    list_matching,
    paginate,
    paginate_scan,
)
from ..state import State, diff, public, random_token
from . import payment_methods
from .balance import APPLICATION_ID
from .charges import check_application_fee, create_charge, create_failed_charge
from .customers import customer_of

JSON = dict[str, Any]

AUTO_FINALIZE_AFTER = 3600  # Stripe finalizes auto-advancing drafts about an hour later
NOT_EDITABLE = "invoice_not_editable"


def _base_url(state: State) -> str:
    return state.data.get("base_url") or "http://127.0.0.1:12111"


# --- invoice items -------------------------------------------------------------------------


def _amount_from(p: Params, currency_default: str) -> tuple[int, str, int, JSON | None]:
    """(amount, currency, quantity, pricing) from ``amount`` or ``price_data`` params."""
    quantity = p.int("quantity", 1, minimum=0)
    assert quantity is not None
    price_data = p.dict("price_data")
    currency = (p.str("currency") or "").lower()
    if price_data is not None:
        unit = price_data.int("unit_amount", required=True)
        assert unit is not None
        currency = (price_data.str("currency", required=True) or "").lower()
        pricing = {
            "price_details": {
                "price": "price_1" + random_token(23),
                "product": price_data.str("product") or "prod_" + random_token(14),
            },
            "type": "price_details",
            "unit_amount_decimal": str(unit),
        }
        return unit * quantity, currency, quantity, pricing
    if "amount" not in p:
        raise missing_param("amount")
    amount = p.int("amount")
    assert amount is not None
    return amount, currency or currency_default, quantity, None


def _period(p: Params, now: int) -> JSON:
    period = p.dict("period")
    if period is None:
        return {"end": now, "start": now}
    return {
        "end": period.int("end", required=True),
        "start": period.int("start", required=True),
    }


def _default_currency(req: Request) -> str:
    account = req.state.find(req.owner) or {}
    return account.get("default_currency") or "usd"


def new_invoice_item(req: Request, p: Params, customer_id: str, invoice: JSON | None) -> JSON:
    currency_default = invoice["currency"] if invoice else _default_currency(req)
    amount, currency, quantity, pricing = _amount_from(p, currency_default)
    if invoice is not None and currency != invoice["currency"]:
        raise invalid("The currency of the invoice item must match the invoice.", "currency")
    item: JSON = {
        "id": req.state.new_id("ii"),
        "object": "invoiceitem",
        "amount": amount,
        "currency": currency,
        "customer": customer_id,
        "customer_account": None,
        "date": req.now,
        "description": p.str("description"),
        "discountable": p.bool("discountable", True),
        "discounts": [],
        "frozen_fields": None,
        "invoice": invoice["id"] if invoice else None,
        "invoicing_rules": None,
        "livemode": False,
        "metadata": p.metadata() or {},
        "net_amount": amount,
        "parent": None,
        "period": _period(p, req.now),
        "pricing": pricing,
        "proration": False,
        "proration_details": {"discount_amounts": []},
        "quantity": quantity,
        "quantity_decimal": str(quantity),
        "tax_rates": [],
        "test_clock": None,
    }
    req.state.put(item, req.owner)
    req.emit("invoiceitem.created", item)
    if invoice is not None:
        _attach(req.state, invoice, item)
    return item


@api.route("POST", "/v1/invoiceitems")
def create_invoice_item(req: Request) -> JSON:
    p = req.params
    customer_id = p.str("customer", required=True)
    assert customer_id is not None
    customer_of(req, customer_id, "customer")
    invoice = None
    if invoice_id := p.str("invoice"):
        invoice = req.state.get(invoice_id, req.owner, "invoice", "invoice")
        _require_draft(invoice, "add invoice items to")
        if invoice["customer"] != customer_id:
            raise invalid("The invoice belongs to a different customer.", "invoice")
    item = new_invoice_item(req, p, customer_id, invoice)
    if invoice is not None:
        _changed(req, invoice, public(invoice))
    return public(item)


@api.route("GET", "/v1/invoiceitems/{item_id}")
def retrieve_invoice_item(req: Request, item_id: str) -> JSON:
    return public(req.state.get(item_id, req.owner, "invoiceitem"))


def _item_editable(req: Request, item: JSON) -> JSON | None:
    if item["invoice"]:
        invoice = req.state.get(item["invoice"], req.owner, "invoice")
        _require_draft(invoice, "edit invoice items on")
        return invoice
    return None


def _update_item(req: Request, item: JSON, p: Params) -> None:
    if "amount" in p or "price_data" in p or "quantity" in p:
        if "amount" not in p and "price_data" not in p:
            unit = item["amount"] // max(item["quantity"], 1)
            quantity = p.int("quantity", 1, minimum=0)
            assert quantity is not None
            item["amount"], item["quantity"] = unit * quantity, quantity
        else:
            amount, _currency, quantity, pricing = _amount_from(p, item["currency"])
            item.update({"amount": amount, "quantity": quantity, "pricing": pricing})
        item["net_amount"] = item["amount"]
        item["quantity_decimal"] = str(item["quantity"])
    if "description" in p:
        item["description"] = p.str("description")
    if "period" in p:
        item["period"] = _period(p, req.now)
    item["metadata"] = merge_metadata(item["metadata"], p.metadata())


@api.route("POST", "/v1/invoiceitems/{item_id}")
def update_invoice_item(req: Request, item_id: str) -> JSON:
    item = req.state.get(item_id, req.owner, "invoiceitem")
    invoice = _item_editable(req, item)
    before_invoice = public(invoice) if invoice else None
    _update_item(req, item, req.params)
    req.state.touch()
    if invoice is not None:
        _sync_line(invoice, item)
        _changed(req, invoice, before_invoice)
    return public(item)


@api.route("DELETE", "/v1/invoiceitems/{item_id}")
def delete_invoice_item(req: Request, item_id: str) -> JSON:
    item = req.state.get(item_id, req.owner, "invoiceitem")
    invoice = _item_editable(req, item)
    if invoice is not None:
        before = public(invoice)
        _detach(invoice, item_id)
        _changed(req, invoice, before)
    req.state.delete(item_id)
    req.emit("invoiceitem.deleted", item)
    return {"id": item_id, "object": "invoiceitem", "deleted": True}


@api.route("GET", "/v1/invoiceitems")
def list_invoice_items(req: Request) -> JSON:
    p = req.params
    customer = p.str("customer")
    invoice = p.str("invoice")
    pending = p.bool("pending")
    created = p.range("created")

    def keep(i: JSON) -> bool:
        return (
            (customer is None or i["customer"] == customer)
            and (invoice is None or i["invoice"] == invoice)
            and (pending is None or (i["invoice"] is None) == pending)
            and in_range(i["date"], created)
        )

    return paginate_scan(req, "invoiceitem", "/v1/invoiceitems", keep)


# --- invoice lines -------------------------------------------------------------------------


def _line_for(item: JSON, invoice_id: str) -> JSON:
    return {
        "id": "il_" + item["id"][3:],
        "object": "line_item",
        "amount": item["amount"],
        "currency": item["currency"],
        "description": item["description"],
        "discount_amounts": [],
        "discountable": item["discountable"],
        "discounts": [],
        "invoice": invoice_id,
        "livemode": False,
        "metadata": copy.deepcopy(item["metadata"]),
        "parent": {
            "invoice_item_details": {
                "invoice_item": item["id"],
                "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": None,
            },
            "subscription_item_details": None,
            "type": "invoice_item_details",
        },
        "period": copy.deepcopy(item["period"]),
        "pretax_credit_amounts": [],
        "pricing": copy.deepcopy(item["pricing"]),
        "quantity": item["quantity"],
        "quantity_decimal": item["quantity_decimal"],
        "subscription": None,
        "subtotal": item["amount"],
        "taxes": [],
    }


def _attach(state: State, invoice: JSON, item: JSON) -> None:
    item["invoice"] = invoice["id"]
    invoice["_lines"].append(_line_for(item, invoice["id"]))
    _recompute(invoice)
    state.touch()


def _detach(invoice: JSON, item_id: str) -> None:
    invoice["_lines"] = [
        line
        for line in invoice["_lines"]
        if line["parent"]["invoice_item_details"]["invoice_item"] != item_id
    ]
    _recompute(invoice)


def _sync_line(invoice: JSON, item: JSON) -> None:
    invoice["_lines"] = [
        _line_for(item, invoice["id"])
        if line["parent"]["invoice_item_details"]["invoice_item"] == item["id"]
        else line
        for line in invoice["_lines"]
    ]
    _recompute(invoice)


def _recompute(invoice: JSON) -> None:
    subtotal = sum(line["amount"] for line in invoice["_lines"])
    invoice.update(
        {
            "subtotal": subtotal,
            "subtotal_excluding_tax": subtotal,
            "total": subtotal,
            "total_excluding_tax": subtotal,
        }
    )
    if invoice["status"] == "draft" or invoice["status"] is None:
        invoice["amount_due"] = subtotal
        invoice["amount_remaining"] = subtotal - invoice["amount_paid"]
    # Stripe lists lines oldest first on the invoice.
    invoice["lines"] = embedded_list(invoice["_lines"], f"/v1/invoices/{invoice['id']}/lines")


def _require_draft(invoice: JSON, verb: str) -> None:
    if invoice["status"] != "draft":
        raise state_error(
            f"You can only {verb} draft invoices. This invoice is {invoice['status']}.",
            NOT_EDITABLE,
        )


def _changed(req: Request, invoice: JSON, before: JSON | None) -> None:
    if before is None:
        return
    req.emit_changes("invoice.updated", invoice, before)


# --- invoices ------------------------------------------------------------------------------


def payments_of(state: State, node: JSON) -> JSON | None:
    """The invoice's ``payments`` (an includable field): its payments, oldest first."""
    invoice = state.find(node["id"])
    if invoice is None or "_payments" not in invoice:
        return None
    return embedded_list(invoice["_payments"], f"/v1/invoice_payments?invoice={node['id']}")


INCLUDABLE[("invoice", "payments")] = payments_of


def _invoice_object(req: Request, invoice_id: str, customer: JSON, currency: str) -> JSON:
    account = req.state.find(req.owner) or {}
    now = req.now
    return {
        "id": invoice_id,
        "object": "invoice",
        "account_country": account.get("country", "US"),
        "account_name": (account.get("business_profile") or {}).get("name"),
        "account_tax_ids": None,
        "amount_due": 0,
        "amount_overpaid": 0,
        "amount_paid": 0,
        "amount_paid_off_stripe": 0,
        "amount_remaining": 0,
        "amount_shipping": 0,
        "application": None if req.is_platform else APPLICATION_ID,
        "attempt_count": 0,
        "attempted": False,
        "auto_advance": False,
        "automatic_tax": {
            "disabled_reason": None,
            "enabled": False,
            "liability": None,
            "provider": None,
            "status": None,
        },
        "automatically_finalizes_at": None,
        "billing_reason": "manual",
        "collection_method": "charge_automatically",
        "confirmation_secret": None,
        "created": now,
        "currency": currency,
        "custom_fields": None,
        "customer": customer["id"],
        "customer_account": None,
        "customer_address": copy.deepcopy(customer["address"]),
        "customer_email": customer["email"],
        "customer_name": customer["name"],
        "customer_phone": customer["phone"],
        "customer_shipping": None,
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "due_date": None,
        "effective_at": None,
        "ending_balance": None,
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": None,
        "invoice_pdf": None,
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": None,
        "livemode": False,
        "metadata": {},
        "next_payment_attempt": None,
        "number": None,
        "on_behalf_of": None,
        "parent": None,
        "payment_settings": {
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        "period_end": now,
        "period_start": now,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": {
            "amount_tax_display": None,
            "pdf": {"page_size": "auto"},
            "template": None,
            "template_version": None,
        },
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": 0,
        "statement_descriptor": None,
        "status": "draft",
        "status_details": None,
        "status_transitions": {
            "finalized_at": None,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        # Gone from the endive API but still in Stripe's example object; always null here.
        "subscription": None,
        "subtotal": 0,
        "subtotal_excluding_tax": 0,
        "test_clock": None,
        "threshold_reason": None,
        "total": 0,
        "total_discount_amounts": [],
        "total_excluding_tax": 0,
        # Stripe includes `payments` only when asked (`expand[]=payments`): see _payments_list.
        "_payments": [],
        "total_pretax_credit_amounts": [],
        "total_taxes": [],
        "webhooks_delivered_at": None,
        "_lines": [],
        "_application_fee_amount": None,
        "_overdue_notified": False,
    }


def _apply_invoice_params(req: Request, invoice: JSON, p: Params, *, creating: bool) -> None:
    method = p.choice("collection_method", ("charge_automatically", "send_invoice"))
    if method:
        invoice["collection_method"] = method
    days = p.int("days_until_due", minimum=0)
    due_date = p.int("due_date")
    if (days is not None or due_date is not None) and invoice[
        "collection_method"
    ] != "send_invoice":
        raise invalid(
            "Invoices with `collection_method=charge_automatically` cannot have a due date.",
            "days_until_due" if days is not None else "due_date",
        )
    if days is not None:
        invoice["due_date"] = invoice["created"] + days * 86400
        invoice["_days_until_due"] = days
    if due_date is not None:
        invoice["due_date"] = due_date
    if creating and invoice["collection_method"] == "send_invoice" and invoice["due_date"] is None:
        raise invalid(
            "Invoices with `collection_method=send_invoice` need `days_until_due` or `due_date`.",
            "days_until_due",
        )
    for key in ("description", "footer", "statement_descriptor"):
        if key in p:
            invoice[key] = p.str(key)
    auto = p.bool("auto_advance")
    if auto is not None:
        invoice["auto_advance"] = auto
        invoice["automatically_finalizes_at"] = (
            invoice["created"] + AUTO_FINALIZE_AFTER
            if auto and invoice["status"] == "draft"
            else None
        )
        if auto:
            _watch(req.state, invoice["id"])
    fee = p.int("application_fee_amount", minimum=0)
    if fee is not None:
        if req.is_platform:
            raise invalid(
                "Can only apply an application_fee_amount when the request is made on behalf "
                "of another account (using an OAuth key, the Stripe-Account header, or the "
                "transfer_data parameter).",
                "application_fee_amount",
            )
        invoice["_application_fee_amount"] = fee
    if "default_payment_method" in p:
        method_id = p.str("default_payment_method")
        if method_id:
            payment_methods.owned_by(req, method_id, invoice["customer"], "default_payment_method")
        invoice["default_payment_method"] = method_id or None
    if "on_behalf_of" in p:
        invoice["on_behalf_of"] = p.str("on_behalf_of")
    if "number" in p:
        invoice["number"] = p.str("number")
    invoice["metadata"] = merge_metadata(invoice["metadata"], p.metadata())


def _watch(state: State, invoice_id: str) -> None:
    watched = state.data.setdefault("watched_invoices", [])
    if invoice_id not in watched:
        watched.append(invoice_id)


@api.route("POST", "/v1/invoices")
def create_invoice(req: Request) -> JSON:
    p = req.params
    customer_id = p.str("customer", required=True)
    assert customer_id is not None
    customer = customer_of(req, customer_id, "customer")
    if "transfer_data" in p:
        raise invalid(
            "The emulator implements direct charges only (invoice on the connected account "
            "with the Stripe-Account header); transfer_data is not supported.",
            "transfer_data",
        )
    behavior = p.choice("pending_invoice_items_behavior", ("exclude", "include"), "exclude")
    pending = [
        i
        for i in reversed(req.state.all(req.owner, "invoiceitem"))
        if i["customer"] == customer_id and i["invoice"] is None
    ]
    currency = (p.str("currency") or "").lower()
    if not currency:
        currency = pending[0]["currency"] if pending else _default_currency(req)
    invoice = _invoice_object(req, req.state.new_id("in"), customer, currency)
    _apply_invoice_params(req, invoice, p, creating=True)
    included = [i for i in pending if i["currency"] == currency] if behavior == "include" else []
    if included:
        # Refused before anything is stored, so a refused create leaves no trace.
        total = sum(i["amount"] for i in included)
        check_application_fee(
            invoice["_application_fee_amount"] or None, total, "application_fee_amount"
        )
    req.state.put(invoice, req.owner)
    for item in included:
        _attach(req.state, invoice, item)
    _recompute(invoice)
    if invoice["collection_method"] == "send_invoice" or invoice["auto_advance"]:
        _watch(req.state, invoice["id"])
    req.emit("invoice.created", invoice)
    return public(invoice)


def _invoice(req: Request, invoice_id: str) -> JSON:
    invoice = req.state.get(invoice_id, req.owner, "invoice")
    if invoice.get("_deleted"):
        raise no_such("invoice", invoice_id)
    return invoice


@api.route("GET", "/v1/invoices/{invoice_id}")
def retrieve_invoice(req: Request, invoice_id: str) -> JSON:
    return public(_invoice(req, invoice_id))


@api.route("POST", "/v1/invoices/{invoice_id}")
def update_invoice(req: Request, invoice_id: str) -> JSON:
    invoice = _invoice(req, invoice_id)
    before = public(invoice)
    p = req.params
    if invoice["status"] != "draft":
        allowed = {
            "metadata",
            "description",
            "footer",
            "auto_advance",
            "default_payment_method",
            "expand",
        }
        blocked = set(p.data) - allowed
        if blocked:
            raise state_error(
                f"Finalized invoices can't be updated in this way ({sorted(blocked)[0]}).",
                NOT_EDITABLE,
            )
    if "application_fee_amount" in p and invoice["_lines"]:
        # Checked against the lines as they are, before anything changes.
        new_fee = p.int("application_fee_amount", minimum=0)
        check_application_fee(new_fee or None, invoice["total"], "application_fee_amount")
    # Applied to a copy first, so a parameter refused halfway leaves the invoice as it was.
    updated = copy.deepcopy(invoice)
    _apply_invoice_params(req, updated, p, creating=False)
    invoice.clear()
    invoice.update(updated)
    _recompute(invoice)
    _changed(req, invoice, before)
    return public(invoice)


@api.route("DELETE", "/v1/invoices/{invoice_id}")
def delete_invoice(req: Request, invoice_id: str) -> JSON:
    invoice = _invoice(req, invoice_id)
    _require_draft(invoice, "delete")
    for line in invoice["_lines"]:
        item_id = line["parent"]["invoice_item_details"]["invoice_item"]
        if req.state.find(item_id) is not None:
            req.state.delete(item_id)
    invoice["_deleted"] = True
    req.state.touch()
    req.emit("invoice.deleted", invoice)
    return {"id": invoice_id, "object": "invoice", "deleted": True}


@api.route("GET", "/v1/invoices")
def list_invoices(req: Request) -> JSON:
    return list_matching(
        req,
        "invoice",
        "/v1/invoices",
        equal=("customer", "status", "collection_method"),
        ranges=("created", "due_date"),
    )


@api.route("GET", "/v1/invoices/{invoice_id}/lines")
def list_invoice_lines(req: Request, invoice_id: str) -> JSON:
    invoice = _invoice(req, invoice_id)
    # Lines read oldest first; paginate over that order.
    return paginate(req, list(invoice["_lines"]), f"/v1/invoices/{invoice_id}/lines")


def finalize(state: State, invoice: JSON, owner: str, request_id: str | None = None) -> None:
    """Draft → open: number, hosted URLs, ``finalized_at``; a zero total is paid at once.

    Refused, with nothing changed, when the application fee is not below the total (lines
    edited down after the fee was set): Stripe never lets a charge pay out a negative net.
    """
    _recompute(invoice)
    check_application_fee(
        invoice["_application_fee_amount"] or None, invoice["total"], "application_fee_amount"
    )
    before = public(invoice)
    now = state.now()
    customer = state.find(invoice["customer"])
    assert customer is not None
    if not invoice["number"]:
        invoice["number"] = f"{customer['invoice_prefix']}-{customer['next_invoice_sequence']:04d}"
        customer["next_invoice_sequence"] += 1
    token = state.put_token("hosted_invoice", {"invoice": invoice["id"], "owner": owner})
    base = _base_url(state)
    invoice.update(
        {
            "status": "open",
            "hosted_invoice_url": f"{base}/i/{token}",
            "invoice_pdf": f"{base}/i/{token}/pdf",
            "effective_at": now,
            "automatically_finalizes_at": None,
            "webhooks_delivered_at": now,
        }
    )
    invoice["status_transitions"]["finalized_at"] = now
    if invoice["collection_method"] == "charge_automatically":
        invoice["next_payment_attempt"] = now + 3600 if invoice["auto_advance"] else None
    _recompute(invoice)
    invoice["amount_due"] = invoice["total"]
    invoice["amount_remaining"] = invoice["total"]
    state.emit("invoice.finalized", invoice, owner, request_id=request_id)
    if invoice["total"] == 0:
        _mark_paid(state, invoice, owner, None, request_id)
    state.emit("invoice.updated", invoice, owner, diff(before, invoice), request_id)
    state.touch()


@api.route("POST", "/v1/invoices/{invoice_id}/finalize")
def finalize_invoice(req: Request, invoice_id: str) -> JSON:
    invoice = _invoice(req, invoice_id)
    if invoice["status"] != "draft":
        raise state_error("This invoice is already finalized.", "invoice_not_editable")
    auto = req.params.bool("auto_advance")
    was = invoice["auto_advance"]
    if auto is not None:
        invoice["auto_advance"] = auto
    try:
        finalize(req.state, invoice, req.owner, req.request_id)
    except StripeError:
        invoice["auto_advance"] = was  # a refused finalization changes nothing
        raise
    return public(invoice)


@api.route("POST", "/v1/invoices/{invoice_id}/send")
def send_invoice(req: Request, invoice_id: str) -> JSON:
    invoice = _invoice(req, invoice_id)
    if invoice["collection_method"] != "send_invoice":
        raise state_error("Only invoices with collection_method=send_invoice can be sent.")
    if invoice["status"] == "draft":
        finalize(req.state, invoice, req.owner, req.request_id)
    if invoice["status"] not in ("open", "paid", "uncollectible"):
        raise state_error(f"You can't send an invoice that is {invoice['status']}.")
    # Test mode sends no e-mail, but the event still fires.
    req.emit("invoice.sent", invoice)
    return public(invoice)


def _mark_paid(
    state: State, invoice: JSON, owner: str, charge: JSON | None, request_id: str | None
) -> None:
    now = state.now()
    amount = invoice["amount_remaining"]
    invoice.update(
        {
            "status": "paid",
            "amount_paid": invoice["amount_paid"] + amount,
            "amount_remaining": 0,
            "attempted": True,
            "attempt_count": invoice["attempt_count"] + (1 if charge else 0),
            "next_payment_attempt": None,
            "auto_advance": False,
        }
    )
    if charge is None and amount:
        invoice["amount_paid_off_stripe"] += amount
    invoice["status_transitions"]["paid_at"] = now
    for attempt in invoice["_payments"]:
        if attempt["status"] == "open":  # a declined attempt: this payment replaces it
            attempt["status"] = "canceled"
            attempt["status_transitions"]["canceled_at"] = now
    if amount or charge:
        payment = {
            "id": state.new_id("inpay"),
            "object": "invoice_payment",
            "amount_paid": amount,
            "amount_requested": amount,
            "created": now,
            "currency": invoice["currency"],
            "invoice": invoice["id"],
            "is_default": True,
            "livemode": False,
            "payment": {"charge": charge["id"], "type": "charge"}
            if charge
            else {"type": "out_of_band_payment"},
            "status": "paid",
            "status_transitions": {"canceled_at": None, "paid_at": now},
        }
        invoice["_payments"].append(payment)
    state.emit("invoice.paid", invoice, owner, request_id=request_id)
    if charge is not None:
        state.emit("invoice.payment_succeeded", invoice, owner, request_id=request_id)


def decline(
    state: State,
    invoice: JSON,
    owner: str,
    decline_code: str,
    payment_method: JSON | None = None,
) -> JSON:
    """The buyer tries to pay an open invoice and the card is declined.

    As on Stripe: the invoice stays ``open`` with ``attempted`` and one more ``attempt_count``,
    the attempt is listed in its ``payments`` (``status: open``: not paid), and the events are
    ``charge.failed``, ``invoice.payment_failed`` and ``invoice.updated``.
    """
    if invoice["status"] != "open":
        raise state_error(f"Invoice is {invoice['status']}; only an open one can be paid.")
    before = public(invoice)
    charge = create_failed_charge(
        state,
        owner,
        amount=invoice["amount_remaining"],
        currency=invoice["currency"],
        customer=invoice["customer"],
        description=f"Payment for Invoice {invoice['number']}",
        decline_code=decline_code,
        payment_method=payment_method,
    )
    now = state.now()
    invoice["attempted"] = True
    invoice["attempt_count"] += 1
    invoice["_payments"].append(
        {
            "id": state.new_id("inpay"),
            "object": "invoice_payment",
            "amount_paid": None,
            "amount_requested": invoice["amount_remaining"],
            "created": now,
            "currency": invoice["currency"],
            "invoice": invoice["id"],
            "is_default": False,
            "livemode": False,
            "payment": {"charge": charge["id"], "type": "charge"},
            "status": "open",
            "status_transitions": {"canceled_at": None, "paid_at": None},
        }
    )
    state.emit("invoice.payment_failed", invoice, owner)
    state.emit("invoice.updated", invoice, owner, diff(before, invoice))
    state.touch()
    return charge


def pay(
    state: State,
    invoice: JSON,
    owner: str,
    *,
    out_of_band: bool,
    request_id: str | None = None,
    payment_method: JSON | None = None,
) -> None:
    """Collect an invoice: a card charge (direct, with the application fee) or out of band.

    ``payment_method`` is the customer's card the charge uses; None is the card a buyer types on
    the hosted invoice page (the emulator's controls)."""
    if invoice["status"] == "draft":
        finalize(state, invoice, owner, request_id)
        if invoice["status"] == "paid":
            return
    if invoice["status"] not in ("open", "uncollectible"):
        raise state_error(f"Invoice is already {invoice['status']}.", "invoice_unexpected_state")
    before = public(invoice)
    charge = None
    if not out_of_band and invoice["amount_remaining"] > 0:
        # The fee is checked against what this payment charges, before anything moves.
        check_application_fee(
            invoice["_application_fee_amount"] or None,
            invoice["amount_remaining"],
            "application_fee_amount",
        )
        declined = payment_methods.decline_of(payment_method) if payment_method else None
        if declined:
            failed = decline(state, invoice, owner, declined, payment_method)
            raise card_declined(failed, declined)
        number = invoice["number"]
        charge = create_charge(
            state,
            owner,
            amount=invoice["amount_remaining"],
            currency=invoice["currency"],
            customer=invoice["customer"],
            description=f"Payment for Invoice {number}",
            application_fee_amount=invoice["_application_fee_amount"],
            request_id=request_id,
            payment_method=payment_method,
        )
    _mark_paid(state, invoice, owner, charge, request_id)
    state.emit("invoice.updated", invoice, owner, diff(before, invoice), request_id)
    state.touch()


def card_declined(charge: JSON, decline_code: str) -> StripeError:
    """Stripe's 402 for a declined card: the failed charge's code and message."""
    return StripeError(
        402,
        "card_error",
        charge["failure_message"] or "Your card was declined.",
        code=charge["failure_code"] or "card_declined",
    )


@api.route("POST", "/v1/invoices/{invoice_id}/pay")
def pay_invoice(req: Request, invoice_id: str) -> JSON:
    """Stripe's order: refused unless the invoice can be paid; out of band needs nothing more;
    otherwise the card is the ``payment_method`` passed (the customer's), else the invoice's
    ``default_payment_method``, else the customer's ``invoice_settings.default_payment_method``.
    With none, Stripe's 400 and nothing changes (a draft is not even finalized)."""
    invoice = _invoice(req, invoice_id)
    p = req.params
    out_of_band = bool(p.bool("paid_out_of_band", False))
    if invoice["status"] not in ("draft", "open", "uncollectible"):
        raise state_error(f"Invoice is already {invoice['status']}.", "invoice_unexpected_state")
    account = req.state.find(req.owner) or {}
    if not out_of_band and not req.is_platform and not account.get("charges_enabled"):
        raise invalid(
            "This account cannot currently make live charges (charges_enabled is false).",
            code="account_invalid",
        )
    method = None
    explicit = p.str("payment_method")
    if explicit:
        method = payment_methods.owned_by(req, explicit, invoice["customer"], "payment_method")
    if not out_of_band and method is None:
        method = payment_methods.charged_for_invoice(req.state, invoice, None)
        if method is None and _charges_something(invoice):
            raise invalid(payment_methods.NO_PAYMENT_METHOD, code="resource_missing")
    pay(
        req.state,
        invoice,
        req.owner,
        out_of_band=out_of_band,
        request_id=req.request_id,
        payment_method=method,
    )
    return public(invoice)


def _charges_something(invoice: JSON) -> bool:
    """Whether paying would charge a card: an amount is left (a draft's once finalized)."""
    if invoice["status"] == "draft":
        return invoice["total"] > 0
    return invoice["amount_remaining"] > 0


def _transition(req: Request, invoice_id: str, target: str, event: str, stamp: str) -> JSON:
    invoice = _invoice(req, invoice_id)
    allowed = {"void": ("open", "uncollectible"), "uncollectible": ("open",)}[target]
    if invoice["status"] not in allowed:
        raise state_error(
            f"You can only {'void' if target == 'void' else 'mark uncollectible'} invoices "
            f"that are {' or '.join(allowed)}; this invoice is {invoice['status']}.",
            "invoice_unexpected_state",
        )
    before = public(invoice)
    invoice["status"] = target
    invoice["status_transitions"][stamp] = req.now
    invoice["auto_advance"] = False
    if target == "void":
        invoice["amount_remaining"] = 0
    req.emit(event, invoice)
    _changed(req, invoice, before)
    return public(invoice)


@api.route("POST", "/v1/invoices/{invoice_id}/void")
def void_invoice(req: Request, invoice_id: str) -> JSON:
    return _transition(req, invoice_id, "void", "invoice.voided", "voided_at")


@api.route("POST", "/v1/invoices/{invoice_id}/mark_uncollectible")
def mark_uncollectible(req: Request, invoice_id: str) -> JSON:
    return _transition(
        req, invoice_id, "uncollectible", "invoice.marked_uncollectible", "marked_uncollectible_at"
    )


@api.route("POST", "/v1/invoices/{invoice_id}/add_lines")
def add_lines(req: Request, invoice_id: str) -> JSON:
    invoice = _invoice(req, invoice_id)
    _require_draft(invoice, "add lines to")
    before = public(invoice)
    for line in req.params.dicts("lines", required=True):
        existing = line.str("invoice_item")
        if existing:
            item = req.state.get(existing, req.owner, "invoiceitem", "lines[invoice_item]")
            if item["invoice"]:
                raise invalid("This invoice item is already on an invoice.", "invoice_item")
            _attach(req.state, invoice, item)
        else:
            new_invoice_item(req, line, invoice["customer"], invoice)
    _apply_invoice_metadata(invoice, req.params)
    _changed(req, invoice, before)
    return public(invoice)


def _apply_invoice_metadata(invoice: JSON, p: Params) -> None:
    invoice["metadata"] = merge_metadata(invoice["metadata"], p.metadata("invoice_metadata"))


def _line_item(req: Request, invoice: JSON, line_id: str) -> JSON:
    for line in invoice["_lines"]:
        if line["id"] == line_id:
            item_id = line["parent"]["invoice_item_details"]["invoice_item"]
            return req.state.get(item_id, req.owner, "invoiceitem")
    raise no_such("invoice line item", line_id, "lines[id]")


@api.route("POST", "/v1/invoices/{invoice_id}/update_lines")
def update_lines(req: Request, invoice_id: str) -> JSON:
    invoice = _invoice(req, invoice_id)
    _require_draft(invoice, "update lines on")
    before = public(invoice)
    for line in req.params.dicts("lines", required=True):
        line_id = line.str("id", required=True)
        assert line_id is not None
        item = _line_item(req, invoice, line_id)
        _update_item(req, item, line)
        _sync_line(invoice, item)
    _apply_invoice_metadata(invoice, req.params)
    _changed(req, invoice, before)
    return public(invoice)


@api.route("POST", "/v1/invoices/{invoice_id}/remove_lines")
def remove_lines(req: Request, invoice_id: str) -> JSON:
    invoice = _invoice(req, invoice_id)
    _require_draft(invoice, "remove lines from")
    before = public(invoice)
    for line in req.params.dicts("lines", required=True):
        line_id = line.str("id", required=True)
        behavior = line.choice("behavior", ("delete", "unassign"), required=True)
        assert line_id is not None
        item = _line_item(req, invoice, line_id)
        _detach(invoice, item["id"])
        if behavior == "delete":
            req.state.delete(item["id"])
            req.emit("invoiceitem.deleted", item)
        else:
            # Unassigned lines go back to being pending invoice items.
            item["invoice"] = None
    _apply_invoice_metadata(invoice, req.params)
    req.state.touch()
    _changed(req, invoice, before)
    return public(invoice)


@api.route("POST", "/v1/invoices/create_preview")
def create_preview(req: Request) -> JSON:
    """What the customer's next invoice would hold: pending items plus ``invoice_items``."""
    p = req.params
    customer_id = p.str("customer", required=True)
    assert customer_id is not None
    customer = customer_of(req, customer_id, "customer")
    currency = (p.str("currency") or "").lower()
    pending = [
        i
        for i in reversed(req.state.all(req.owner, "invoiceitem"))
        if i["customer"] == customer_id and i["invoice"] is None
    ]
    if not currency:
        currency = pending[0]["currency"] if pending else _default_currency(req)
    preview_id = "upcoming_in_1" + random_token(23)
    invoice = _invoice_object(req, preview_id, customer, currency)
    invoice["status"] = "draft"
    for item in pending:
        if item["currency"] == currency:
            invoice["_lines"].append(_line_for(item, preview_id))
    for extra in p.dicts("invoice_items"):
        amount, item_currency, quantity, pricing = _amount_from(extra, currency)
        line = _line_for(
            {
                "id": "ii_preview_" + random_token(12),
                "amount": amount,
                "currency": item_currency,
                "description": extra.str("description"),
                "discountable": True,
                "metadata": extra.metadata() or {},
                "period": _period(extra, req.now),
                "pricing": pricing,
                "quantity": quantity,
                "quantity_decimal": str(quantity),
            },
            preview_id,
        )
        invoice["_lines"].append(line)
    _recompute(invoice)
    invoice["lines"]["url"] = f"/v1/invoices/{preview_id}/lines"
    return public(invoice)


def invoice_timers(state: State, now: int) -> None:
    """Auto-advancing drafts finalize (and send or charge); overdue invoices announce it."""
    watched = state.data.get("watched_invoices", [])
    keep = []
    for invoice_id in watched:
        invoice = state.find(invoice_id)
        owner = state.owner_of(invoice_id)
        if invoice is None or owner is None or invoice.get("_deleted"):
            continue
        if invoice["status"] == "draft" and invoice["auto_advance"]:
            at = invoice["automatically_finalizes_at"]
            if at is not None and at <= now:
                try:
                    finalize(state, invoice, owner)
                except StripeError as refused:
                    # Stripe stops auto-advancing a draft it cannot finalize and says why.
                    invoice["auto_advance"] = False
                    invoice["automatically_finalizes_at"] = None
                    invoice["last_finalization_error"] = {
                        "type": refused.type,
                        "message": refused.message,
                        "param": refused.param,
                        "code": refused.code,
                    }
                    state.emit("invoice.finalization_failed", invoice, owner)
                    continue
                if invoice["collection_method"] == "send_invoice":
                    state.emit("invoice.sent", invoice, owner)
                elif invoice["status"] == "open":
                    account = state.find(owner) or {}
                    method = payment_methods.charged_for_invoice(state, invoice, None)
                    # Without a payment method on file there is nothing to charge: it stays open.
                    if method is not None and (
                        account.get("charges_enabled") or owner == state.platform
                    ):
                        # A declined card is recorded on the invoice as a failed attempt.
                        with contextlib.suppress(StripeError):
                            pay(state, invoice, owner, out_of_band=False, payment_method=method)
        if (
            invoice["status"] == "open"
            and invoice["due_date"] is not None
            and invoice["due_date"] <= now
            and not invoice["_overdue_notified"]
        ):
            invoice["_overdue_notified"] = True
            state.emit("invoice.overdue", invoice, owner)
        if invoice["status"] in ("draft", "open") and not invoice["_overdue_notified"]:
            keep.append(invoice_id)
    state.data["watched_invoices"] = keep


def invoice_next_due(state: State) -> int | None:
    moments = []
    for invoice_id in state.data.get("watched_invoices", []):
        invoice = state.find(invoice_id)
        if invoice is None:
            continue
        if invoice["status"] == "draft" and invoice["automatically_finalizes_at"]:
            moments.append(invoice["automatically_finalizes_at"])
        if invoice["status"] == "open" and invoice["due_date"] and not invoice["_overdue_notified"]:
            moments.append(invoice["due_date"])
    return min(moments) if moments else None
