"""Charges (direct charges on connected accounts) with Stripe's processing fee and the
platform's application fee.
"""

from __future__ import annotations

from typing import Any

from ..params import in_range
from ..server import Request, api, paginate
from ..state import State, public
from .accounts import platform_account
from .balance import APPLICATION_ID, AVAILABLE_DELAY, DAY, add_transaction, stripe_fee

JSON = dict[str, Any]

# --- charges and application fees ----------------------------------------------------------


def create_charge(
    state: State,
    account: str,
    *,
    amount: int,
    currency: str,
    customer: str | None,
    description: str | None,
    application_fee_amount: int | None,
    request_id: str | None = None,
) -> JSON:
    """A successful card charge on ``account`` (a direct charge when it is a connected one).

    The charge's balance transaction carries Stripe's processing fee and the platform's
    application fee as separate ``fee_details``; the platform books the application fee.
    """
    now = state.now()
    charge_id = state.new_id("ch")
    processing = stripe_fee(amount, currency)
    fee_details = [
        {
            "amount": processing,
            "application": None,
            "currency": currency,
            "description": "Stripe processing fees",
            "type": "stripe_fee",
        }
    ]
    fee_id = None
    if application_fee_amount:
        fee_id = state.new_id("fee")
        fee_details.append(
            {
                "amount": application_fee_amount,
                "application": APPLICATION_ID,
                "currency": currency,
                "description": "Application fee",
                "type": "application_fee",
            }
        )
    txn = add_transaction(
        state,
        account,
        amount=amount,
        currency=currency,
        type_="charge",
        source=charge_id,
        description=description,
        fee_details=fee_details,
        available_on=now + AVAILABLE_DELAY,
    )
    charge = charge_object(charge_id, now, amount, currency, customer, description)
    charge.update(
        {
            "application": APPLICATION_ID if fee_id else None,
            "application_fee": fee_id,
            "application_fee_amount": application_fee_amount,
            "balance_transaction": txn["id"],
        }
    )
    state.put(charge, account)
    state.emit("charge.succeeded", charge, account, request_id=request_id)
    if fee_id and application_fee_amount:
        platform = state.platform
        platform_account(state)
        fee_txn = add_transaction(
            state,
            platform,
            amount=application_fee_amount,
            currency=currency,
            type_="application_fee",
            source=fee_id,
            description=f"Application fee from {account}",
            available_on=now + AVAILABLE_DELAY,
        )
        fee = {
            "id": fee_id,
            "object": "application_fee",
            "account": account,
            "amount": application_fee_amount,
            "amount_refunded": 0,
            "application": APPLICATION_ID,
            "balance_transaction": fee_txn["id"],
            "charge": charge_id,
            "created": now,
            "currency": currency,
            "fee_source": {"charge": charge_id, "type": "charge"},
            "livemode": False,
            "originating_transaction": None,
            "refunded": False,
            "refunds": {
                "object": "list",
                "data": [],
                "has_more": False,
                "url": f"/v1/application_fees/{fee_id}/refunds",
            },
        }
        state.put(fee, platform)
        state.emit("application_fee.created", fee, platform, request_id=request_id)
    return charge


def charge_object(
    charge_id: str,
    now: int,
    amount: int,
    currency: str,
    customer: str | None,
    description: str | None,
) -> JSON:
    return {
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "authorization_code": "123456",
        "balance_transaction": None,
        "billing_details": {
            "address": {
                "city": None,
                "country": None,
                "line1": None,
                "line2": None,
                "postal_code": "42424",
                "state": None,
            },
            "email": None,
            "name": None,
            "phone": None,
            "tax_id": None,
        },
        "calculated_statement_descriptor": "STOREFRONT",
        "captured": True,
        "created": now,
        "currency": currency,
        "customer": customer,
        "description": description,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "level3": None,
        "livemode": False,
        "metadata": {},
        "on_behalf_of": None,
        "outcome": {
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "risk_score": 12,
            "rule": None,
            "seller_message": "Payment complete.",
            "type": "authorized",
        },
        "paid": True,
        "payment_intent": None,
        "payment_method": "pm_card_visa",
        "payment_method_details": {
            "card": {
                "amount_authorized": amount,
                "authorization_code": "123456",
                "brand": "visa",
                "capture_before": now + 7 * DAY,
                "description": "Visa Classic",
                "checks": {
                    "address_line1_check": None,
                    "address_postal_code_check": "pass",
                    "cvc_check": "pass",
                },
                "country": "US",
                "exp_month": 12,
                "exp_year": 2034,
                "extended_authorization": {"status": "disabled"},
                "fingerprint": "emulatorVisa4242",
                "funding": "credit",
                "iin": "424242",
                "incremental_authorization": {"status": "unavailable"},
                "installments": None,
                "issuer": "Stripe Test Bank",
                "last4": "4242",
                "mandate": None,
                "moto": None,
                "multicapture": {"status": "unavailable"},
                "network": "visa",
                "network_token": {"used": False},
                "network_transaction_id": "emulator0001",
                "overcapture": {"maximum_amount_capturable": amount, "status": "unavailable"},
                "regulated_status": "unregulated",
                "setup_credential_usage": None,
                "stored_credential_usage": None,
                "three_d_secure": None,
                "transaction_link_id": None,
                "wallet": None,
                "electronic_commerce_indicator": None,
            },
            "type": "card",
        },
        "presentment_details": None,
        "radar_options": {"session": None},
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": None,
        "refunded": False,
        "refunds": {
            "object": "list",
            "data": [],
            "has_more": False,
            "url": f"/v1/charges/{charge_id}/refunds",
        },
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "succeeded",
        "transfer": None,
        "transfer_data": None,
        "transfer_group": None,
    }


@api.route("GET", "/v1/charges")
def list_charges(req: Request) -> JSON:
    customer = req.params.str("customer")
    created = req.params.range("created")
    items = [
        c
        for c in req.state.all(req.owner, "charge")
        if (customer is None or c["customer"] == customer) and in_range(c["created"], created)
    ]
    return paginate(req, items, "/v1/charges")


@api.route("GET", "/v1/charges/{charge_id}")
def retrieve_charge(req: Request, charge_id: str) -> JSON:
    return public(req.state.get(charge_id, req.owner, "charge"))
