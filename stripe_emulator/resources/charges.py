"""Charges (direct charges on connected accounts) with Stripe's processing fee and the
platform's application fee.

Who pays Stripe's processing fee depends on the connected account's ``controller.fees.payer``
(``balance.PLATFORM_PAYS``): with ``application`` the platform pays it, so the account's charge
transaction carries only the application fee and the platform is billed the fee in its own
currency (``currencies.bill_platform``); with ``account`` (and the legacy
``application_express`` / ``application_custom``) the account pays both. The application fee
is capped at the amount charged. A charge presented in a currency the account cannot settle in
is converted (see ``currencies``).
"""

from __future__ import annotations

from typing import Any

from ..errors import invalid
from ..server import Request, api, list_matching
from ..state import State, public
from .accounts import platform_account
from .balance import (
    APPLICATION_ID,
    AVAILABLE_DELAY,
    DAY,
    add_transaction,
    platform_pays,
    stripe_fee,
)
from .currencies import bill_platform, convert, settlement_currency, wire_rate
from .payment_methods import billing_details

JSON = dict[str, Any]

# --- charges and application fees ----------------------------------------------------------


def check_application_fee(fee: int | None, amount: int, param: str) -> None:
    """Stripe's rule for a direct charge: a positive fee, less than the amount charged."""
    if fee is not None and fee >= amount > 0:
        raise invalid(
            f"The application fee amount ({fee}) must be less than the charge amount ({amount}).",
            param,
        )


def _fee_detail(amount: int, currency: str, type_: str) -> JSON:
    application = APPLICATION_ID if type_ == "application_fee" else None
    description = "Application fee" if application else "Stripe processing fees"
    return {
        "amount": amount,
        "application": application,
        "currency": currency,
        "description": description,
        "type": type_,
    }


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
    payment_method: JSON | None = None,
) -> JSON:
    """A successful card charge on ``account`` (a direct charge when it is a connected one).

    The account's balance transaction is in its settlement currency and carries the fees it
    pays in ``fee_details``; the platform books the application fee and, when it is the fee
    payer, Stripe's processing fee.
    """
    now = state.now()
    charge_id = state.new_id("ch")
    platform = state.platform
    # Stripe collects at most what was charged ("capped at the total amount captured").
    fee_amount = min(application_fee_amount or 0, amount)
    settle = settlement_currency(state, account, currency)
    settled = convert(amount, currency, settle)
    processing = stripe_fee(settled, settle)
    platform_billed = platform_pays(state, account, "processing")
    fee_details = [] if platform_billed else [_fee_detail(processing, settle, "stripe_fee")]
    fee_id = state.new_id("fee") if fee_amount else None
    if fee_amount:
        fee_details.append(
            _fee_detail(convert(fee_amount, currency, settle), settle, "application_fee")
        )
    txn = add_transaction(
        state,
        account,
        amount=settled,
        currency=settle,
        type_="charge",
        source=charge_id,
        description=description,
        fee_details=fee_details,
        available_on=now + AVAILABLE_DELAY,
        exchange_rate=wire_rate(currency, settle),
    )
    charge = charge_object(charge_id, now, amount, currency, customer, description)
    charge.update(
        {
            "application": APPLICATION_ID if fee_id else None,
            "application_fee": fee_id,
            "application_fee_amount": fee_amount or None,
            "balance_transaction": txn["id"],
            "_settlement_currency": settle,
        }
    )
    _paid_with(charge, payment_method)
    state.put(charge, account)
    state.emit("charge.succeeded", charge, account, request_id=request_id)
    if platform_billed:
        bill_platform(
            state, processing, settle, f"Stripe processing fees for {charge_id} on {account}"
        )
    if fee_id:
        platform_account(state)
        booked_in = settlement_currency(state, platform, currency)
        fee_txn = add_transaction(
            state,
            platform,
            amount=convert(fee_amount, currency, booked_in),
            currency=booked_in,
            type_="application_fee",
            source=fee_id,
            description=f"Application fee from {account}",
            available_on=now + AVAILABLE_DELAY,
            exchange_rate=wire_rate(currency, booked_in),
        )
        fee = {
            "id": fee_id,
            "object": "application_fee",
            "account": account,
            "amount": fee_amount,
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


def _paid_with(charge: JSON, payment_method: JSON | None) -> None:
    """The card a charge was made with: a customer's payment method, or (None) the test Visa a
    buyer types on the hosted invoice page."""
    if payment_method is None:
        return
    card = payment_method["card"]
    charge["payment_method"] = payment_method["id"]
    charge["payment_method_details"]["card"].update(
        {
            "brand": card["brand"],
            "fingerprint": card["fingerprint"],
            "funding": card["funding"],
            "last4": card["last4"],
            "network": card["brand"],
        }
    )


# Stripe's test-card declines: decline code → (failure_code, failure_message).
DECLINES = {
    "generic_decline": ("card_declined", "Your card was declined."),
    "insufficient_funds": ("card_declined", "Your card has insufficient funds."),
    "lost_card": ("card_declined", "Your card was declined."),
    "stolen_card": ("card_declined", "Your card was declined."),
    "expired_card": ("expired_card", "Your card has expired."),
    "incorrect_cvc": ("incorrect_cvc", "Your card's security code is incorrect."),
    "processing_error": ("processing_error", "An error occurred while processing your card."),
}


def create_failed_charge(
    state: State,
    account: str,
    *,
    amount: int,
    currency: str,
    customer: str | None,
    description: str | None,
    decline_code: str,
    request_id: str | None = None,
    payment_method: JSON | None = None,
) -> JSON:
    """A declined card payment: a ``failed`` charge that moves no money (``charge.failed``)."""
    charge = charge_object(state.new_id("ch"), state.now(), amount, currency, customer, description)
    _paid_with(charge, payment_method)
    failure_code, message = DECLINES[decline_code]
    card_declined = failure_code == "card_declined"
    charge.update(
        {
            "status": "failed",
            "paid": False,
            "captured": False,
            "amount_captured": 0,
            "failure_code": failure_code,
            "failure_message": message,
            "outcome": {
                **charge["outcome"],
                "network_decline_code": "51" if decline_code == "insufficient_funds" else "05",
                "network_status": "declined_by_network",
                "reason": decline_code if card_declined else failure_code,
                "seller_message": f"The bank returned the decline code `{decline_code}`."
                if card_declined
                else "The bank did not return any further details with this decline.",
                "type": "issuer_declined",
            },
        }
    )
    state.put(charge, account)
    state.emit("charge.failed", charge, account, request_id=request_id)
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
        "billing_details": billing_details(postal_code="42424"),
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
    return list_matching(req, "charge", "/v1/charges", equal=("customer",), ranges=("created",))


@api.route("GET", "/v1/charges/{charge_id}")
def retrieve_charge(req: Request, charge_id: str) -> JSON:
    return public(req.state.get(charge_id, req.owner, "charge"))
