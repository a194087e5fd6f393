"""Customers, invoice items, invoices through their lifecycle, previews, portal, events."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests
import stripe

from tests.stripe_emulator.helpers import onboarded_account


@pytest.fixture
def seller(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    return {"stripe_account": account.id}


@pytest.fixture
def buyer(stripe_client, seller):
    return stripe_client.v1.customers.create(
        {
            "email": "buyer@example.com",
            "name": "Buyer",
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        },
        seller,
    )


def test_customers_crud(stripe_client, seller):
    customer = stripe_client.v1.customers.create({"email": "a@example.com"}, seller)
    assert customer.id.startswith("cus_") and customer.next_invoice_sequence == 1
    customer = stripe_client.v1.customers.update(customer.id, {"name": "Ann"}, seller)
    assert customer.name == "Ann"
    found = stripe_client.v1.customers.list({"email": "a@example.com"}, seller).data
    assert [c.id for c in found] == [customer.id]
    deleted = stripe_client.v1.customers.delete(customer.id, None, seller)
    assert deleted.deleted is True
    assert stripe_client.v1.customers.list(None, seller).data == []


def test_invoice_items_stay_pending_until_invoiced(stripe_client, seller, buyer):
    item = stripe_client.v1.invoice_items.create(
        {"customer": buyer.id, "amount": 2_500, "description": "Ads, March"}, seller
    )
    assert item.invoice is None and item.currency == "usd"
    pending = stripe_client.v1.invoice_items.list({"customer": buyer.id, "pending": True}, seller)
    assert [i.id for i in pending.data] == [item.id]
    excluded = stripe_client.v1.invoices.create({"customer": buyer.id}, seller)
    assert excluded.lines.data == []  # pending_invoice_items_behavior defaults to exclude
    invoice = stripe_client.v1.invoices.create(
        {"customer": buyer.id, "pending_invoice_items_behavior": "include"}, seller
    )
    assert [line.parent.invoice_item_details.invoice_item for line in invoice.lines.data] == [
        item.id
    ]
    assert stripe_client.v1.invoice_items.retrieve(item.id, options=seller).invoice == invoice.id
    assert stripe_client.v1.invoice_items.list({"pending": True}, seller).data == []


def test_invoice_item_with_price_data_and_quantity(stripe_client, seller, buyer):
    item = stripe_client.v1.invoice_items.create(
        {
            "customer": buyer.id,
            "price_data": {"currency": "usd", "unit_amount": 250, "product": "prod_ads"},
            "quantity": 4,
        },
        seller,
    )
    assert item.amount == 1_000 and item.quantity == 4
    assert item.pricing.unit_amount_decimal == Decimal("250")


def test_full_send_invoice_lifecycle(stripe_client, stripe_emulator, seller, buyer):
    stripe_client.v1.invoice_items.create({"customer": buyer.id, "amount": 4_000}, seller)
    invoice = stripe_client.v1.invoices.create(
        {
            "customer": buyer.id,
            "collection_method": "send_invoice",
            "days_until_due": 30,
            "pending_invoice_items_behavior": "include",
            "application_fee_amount": 400,
        },
        seller,
    )
    assert invoice.status == "draft" and invoice.number is None
    assert invoice.hosted_invoice_url is None
    assert invoice.due_date == invoice.created + 30 * 86400
    invoice = stripe_client.v1.invoices.finalize_invoice(invoice.id, None, seller)
    assert invoice.status == "open"
    assert invoice.number.endswith("-0001")
    assert invoice.status_transitions.finalized_at is not None
    assert requests.get(invoice.hosted_invoice_url, timeout=5).status_code == 200
    pdf = requests.get(invoice.invoice_pdf, timeout=5)
    assert pdf.headers["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    invoice = stripe_client.v1.invoices.send_invoice(invoice.id, None, seller)
    invoice = stripe_client.v1.invoices.pay(invoice.id, {"expand": ["payments"]}, seller)
    assert invoice.status == "paid" and invoice.amount_paid == 4_000
    assert invoice.amount_remaining == 0
    assert invoice.payments.data[0].payment.type == "charge"
    second = stripe_client.v1.invoices.create({"customer": buyer.id}, seller)
    second = stripe_client.v1.invoices.add_lines(
        second.id, {"lines": [{"amount": 100, "description": "x"}]}, seller
    )
    second = stripe_client.v1.invoices.finalize_invoice(second.id, None, seller)
    assert second.number.endswith("-0002")
    types = [e.type for e in stripe_client.v1.events.list({"limit": 100}, seller).data]
    for expected in (
        "invoice.created",
        "invoice.finalized",
        "invoice.sent",
        "invoice.paid",
        "invoice.updated",
        "invoiceitem.created",
        "charge.succeeded",
    ):
        assert expected in types
    platform_types = [e.type for e in stripe_client.v1.events.list().data]
    assert "application_fee.created" in platform_types


def test_pay_out_of_band_creates_no_charge(stripe_client, seller, buyer):
    invoice = stripe_client.v1.invoices.create({"customer": buyer.id}, seller)
    stripe_client.v1.invoices.add_lines(invoice.id, {"lines": [{"amount": 900}]}, seller)
    invoice = stripe_client.v1.invoices.pay(invoice.id, {"paid_out_of_band": True}, seller)
    assert invoice.status == "paid" and invoice.amount_paid_off_stripe == 900
    assert stripe_client.v1.charges.list(None, seller).data == []


def test_hosted_invoice_page_lets_the_buyer_pay(stripe_client, seller, buyer):
    invoice = stripe_client.v1.invoices.create(
        {"customer": buyer.id, "collection_method": "send_invoice", "days_until_due": 7}, seller
    )
    stripe_client.v1.invoices.add_lines(invoice.id, {"lines": [{"amount": 1_500}]}, seller)
    invoice = stripe_client.v1.invoices.finalize_invoice(invoice.id, None, seller)
    requests.post(invoice.hosted_invoice_url + "/pay", timeout=5)
    assert stripe_client.v1.invoices.retrieve(invoice.id, options=seller).status == "paid"


def test_an_unknown_hosted_invoice_token_is_not_found_on_every_page(stripe_emulator):
    page = f"{stripe_emulator.base_url}/i/not-a-token"
    for method, url in (("GET", page), ("GET", f"{page}/pdf"), ("POST", f"{page}/pay")):
        response = requests.request(method, url, timeout=5, allow_redirects=False)
        assert response.status_code == 404, url
        assert "Invoice not found" in response.text, url


def test_void_and_mark_uncollectible(stripe_client, seller, buyer):
    def open_invoice():
        inv = stripe_client.v1.invoices.create({"customer": buyer.id}, seller)
        stripe_client.v1.invoices.add_lines(inv.id, {"lines": [{"amount": 100}]}, seller)
        return stripe_client.v1.invoices.finalize_invoice(inv.id, None, seller)

    voided = stripe_client.v1.invoices.void_invoice(open_invoice().id, None, seller)
    assert voided.status == "void" and voided.status_transitions.voided_at
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.invoices.pay(voided.id, None, seller)
    bad = stripe_client.v1.invoices.mark_uncollectible(open_invoice().id, None, seller)
    assert bad.status == "uncollectible"
    assert stripe_client.v1.invoices.pay(bad.id, None, seller).status == "paid"
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.invoices.void_invoice(bad.id, None, seller)


def test_lines_can_be_added_updated_and_removed_on_drafts_only(stripe_client, seller, buyer):
    invoice = stripe_client.v1.invoices.create({"customer": buyer.id}, seller)
    invoice = stripe_client.v1.invoices.add_lines(
        invoice.id,
        {"lines": [{"amount": 1_000, "description": "a"}, {"amount": 2_000, "description": "b"}]},
        seller,
    )
    first, second = invoice.lines.data
    invoice = stripe_client.v1.invoices.update_lines(
        invoice.id, {"lines": [{"id": first.id, "amount": 1_500, "description": "a2"}]}, seller
    )
    assert [(line.description, line.amount) for line in invoice.lines.data] == [
        ("a2", 1_500),
        ("b", 2_000),
    ]
    invoice = stripe_client.v1.invoices.remove_lines(
        invoice.id, {"lines": [{"id": second.id, "behavior": "unassign"}]}, seller
    )
    assert invoice.total == 1_500
    pending = stripe_client.v1.invoice_items.list({"pending": True}, seller).data
    assert [i.amount for i in pending] == [2_000]  # unassigned lines become pending again
    listed = stripe_client.v1.invoices.line_items.list(invoice.id, None, seller)
    assert [line.id for line in listed.data] == [first.id]
    stripe_client.v1.invoices.finalize_invoice(invoice.id, None, seller)
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.invoices.add_lines(invoice.id, {"lines": [{"amount": 1}]}, seller)
    assert info.value.code == "invoice_not_editable"
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.invoices.remove_lines(
            invoice.id, {"lines": [{"id": first.id, "behavior": "delete"}]}, seller
        )
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.invoices.update_lines(
            invoice.id, {"lines": [{"id": first.id, "amount": 5}]}, seller
        )


def test_invoice_lines_paginate(stripe_client, seller, buyer):
    invoice = stripe_client.v1.invoices.create({"customer": buyer.id}, seller)
    lines = [{"amount": i + 1, "description": f"line {i}"} for i in range(13)]
    invoice = stripe_client.v1.invoices.add_lines(invoice.id, {"lines": lines}, seller)
    assert len(invoice.lines.data) == 10 and invoice.lines.has_more is True
    every = stripe_client.v1.invoices.line_items.list(invoice.id, {"limit": 5}, seller)
    assert len(list(every.auto_paging_iter())) == 13


def test_create_preview_shows_the_next_invoice(stripe_client, seller, buyer):
    stripe_client.v1.invoice_items.create({"customer": buyer.id, "amount": 700}, seller)
    preview = stripe_client.v1.invoices.create_preview(
        {"customer": buyer.id, "invoice_items": [{"amount": 300, "description": "extra"}]},
        seller,
    )
    assert preview.id.startswith("upcoming_in")
    assert preview.total == 1_000 and len(preview.lines.data) == 2
    assert stripe_client.v1.invoices.list(None, seller).data == []  # nothing stored


def test_send_invoice_requires_a_due_date(stripe_client, seller, buyer):
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.invoices.create(
            {"customer": buyer.id, "collection_method": "send_invoice"}, seller
        )


def test_application_fee_needs_the_stripe_account_header(stripe_client):
    customer = stripe_client.v1.customers.create({"email": "platform-buyer@example.com"})
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.invoices.create({"customer": customer.id, "application_fee_amount": 100})
    assert info.value.param == "application_fee_amount"


def test_overdue_and_auto_advance_on_clock_advance(stripe_client, stripe_emulator, seller, buyer):
    invoice = stripe_client.v1.invoices.create(
        {
            "customer": buyer.id,
            "collection_method": "send_invoice",
            "days_until_due": 1,
            "auto_advance": True,
        },
        seller,
    )
    stripe_client.v1.invoices.add_lines(invoice.id, {"lines": [{"amount": 100}]}, seller)
    stripe_emulator.advance(hours=2)
    assert stripe_client.v1.invoices.retrieve(invoice.id, options=seller).status == "open"
    stripe_emulator.advance(days=2)
    types = [e.type for e in stripe_client.v1.events.list({"limit": 100}, seller).data]
    assert "invoice.overdue" in types


def test_invoice_list_filters(stripe_client, seller, buyer):
    draft = stripe_client.v1.invoices.create({"customer": buyer.id}, seller)
    other = stripe_client.v1.customers.create({"email": "o@example.com"}, seller)
    stripe_client.v1.invoices.create({"customer": other.id}, seller)
    mine = stripe_client.v1.invoices.list({"customer": buyer.id}, seller).data
    assert [i.id for i in mine] == [draft.id]
    assert len(stripe_client.v1.invoices.list({"status": "draft"}, seller).data) == 2
    assert stripe_client.v1.invoices.list({"status": "open"}, seller).data == []


def test_delete_draft_invoice(stripe_client, seller, buyer):
    invoice = stripe_client.v1.invoices.create({"customer": buyer.id}, seller)
    assert stripe_client.v1.invoices.delete(invoice.id, None, seller).deleted is True
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.invoices.retrieve(invoice.id, options=seller)


PORTAL_FEATURES = {"invoice_history": {"enabled": True}}


def test_portal_session_on_a_connected_account_needs_a_configuration(stripe_client, seller, buyer):
    # A connected account has no default portal configuration, as on Stripe.
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.billing_portal.sessions.create({"customer": buyer.id}, seller)
    assert "default configuration has not been created" in str(refused.value)
    config = stripe_client.v1.billing_portal.configurations.create(
        {"features": PORTAL_FEATURES, "business_profile": {"headline": "Northwind"}}, seller
    )
    assert config.id.startswith("bpc_") and config.is_default is False
    assert config.features.invoice_history.enabled is True
    # Created through the API, it is not a default either: it must be passed explicitly.
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.billing_portal.sessions.create({"customer": buyer.id}, seller)
    session = stripe_client.v1.billing_portal.sessions.create(
        {"customer": buyer.id, "configuration": config.id, "return_url": "http://app.test/b"},
        seller,
    )
    assert isinstance(session, stripe.billing_portal.Session)
    assert session.id.startswith("bps_") and session.configuration == config.id
    page = requests.get(session.url, timeout=5)
    assert page.status_code == 200 and "http://app.test/b" in page.text
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.billing_portal.sessions.create(
            {"customer": "cus_nope", "configuration": config.id}, seller
        )


def test_portal_configurations_belong_to_their_account(stripe_client, stripe_emulator, seller):
    config = stripe_client.v1.billing_portal.configurations.create(
        {"features": PORTAL_FEATURES}, seller
    )
    listed = stripe_client.v1.billing_portal.configurations.list({"active": True}, seller).data
    assert [c.id for c in listed] == [config.id]
    other = onboarded_account(stripe_client, stripe_emulator)
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.billing_portal.configurations.retrieve(
            config.id, options={"stripe_account": other.id}
        )
    assert missing.value.code == "resource_missing"
    updated = stripe_client.v1.billing_portal.configurations.update(
        config.id, {"active": False}, seller
    )
    assert updated.active is False
    buyer = stripe_client.v1.customers.create({"email": "b@example.com"}, seller)
    with pytest.raises(stripe.InvalidRequestError) as inactive:
        stripe_client.v1.billing_portal.sessions.create(
            {"customer": buyer.id, "configuration": config.id}, seller
        )
    assert inactive.value.param == "configuration"


def test_the_platform_has_a_default_portal_configuration(stripe_client):
    buyer = stripe_client.v1.customers.create({"email": "p@example.com"})
    session = stripe_client.v1.billing_portal.sessions.create({"customer": buyer.id})
    [default] = stripe_client.v1.billing_portal.configurations.list({"is_default": True}).data
    assert session.configuration == default.id


def test_events_filter_by_type_and_wildcard_and_retention(stripe_client, stripe_emulator, seller):
    stripe_client.v1.customers.create({"email": "x@example.com"}, seller)
    created = stripe_client.v1.events.list({"type": "customer.created"}, seller).data
    assert len(created) == 1 and created[0].data.object.email == "x@example.com"
    assert isinstance(created[0].data.object, stripe.Customer)
    wildcard = stripe_client.v1.events.list({"type": "customer.*"}, seller).data
    assert [e.id for e in wildcard] == [created[0].id]
    both = stripe_client.v1.events.list(
        {"types": ["customer.created", "account.updated"]}, seller
    ).data
    assert {e.type for e in both} == {"customer.created", "account.updated"}
    event = stripe_client.v1.events.retrieve(created[0].id, options=seller)
    assert event.account == seller["stripe_account"]
    stripe_emulator.advance(days=31)
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.events.retrieve(created[0].id, options=seller)


def test_a_refused_update_changes_nothing(stripe_client):
    buyer = stripe_client.v1.customers.create({"email": "p@example.com"})
    invoice = stripe_client.v1.invoices.create({"customer": buyer.id})
    with pytest.raises(stripe.InvalidRequestError) as refused:
        # An application fee needs a connected account; the description is read before it.
        stripe_client.v1.invoices.update(
            invoice.id, {"description": "changed", "application_fee_amount": 10}
        )
    assert refused.value.param == "application_fee_amount"
    assert stripe_client.v1.invoices.retrieve(invoice.id).description is None


# --- payment methods: what paying an invoice charges --------------------------------------


def _open_invoice_for(stripe_client, seller, customer_id: str, amount: int = 1_500):
    invoice = stripe_client.v1.invoices.create(
        {"customer": customer_id, "collection_method": "send_invoice", "days_until_due": 7}, seller
    )
    stripe_client.v1.invoices.add_lines(invoice.id, {"lines": [{"amount": amount}]}, seller)
    return stripe_client.v1.invoices.finalize_invoice(invoice.id, None, seller)


def test_paying_without_a_payment_method_is_refused_as_on_stripe(stripe_client, seller):
    bare = stripe_client.v1.customers.create({"email": "bare@example.com"}, seller)
    invoice = _open_invoice_for(stripe_client, seller, bare.id)
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.invoices.pay(invoice.id, None, seller)
    assert (info.value.http_status, info.value.code, info.value.param) == (
        400,
        "resource_missing",
        None,
    )
    assert info.value.error.type == "invalid_request_error"
    assert info.value.error.message.startswith(
        "This customer has no attached payment source or default payment method. Please "
        "consider adding a default payment method."
    )
    # Nothing happened: no attempt, no charge.
    again = stripe_client.v1.invoices.retrieve(invoice.id, {"expand": ["payments"]}, seller)
    assert (again.status, again.attempt_count, again.payments.data) == ("open", 0, [])
    assert stripe_client.v1.charges.list(None, seller).data == []
    # A card attached but set as no default is still not used on its own...
    card = stripe_client.v1.payment_methods.attach("pm_card_visa", {"customer": bare.id}, seller)
    assert card.id.startswith("pm_") and card.id != "pm_card_visa"
    assert (card.customer, card.type, card.card.brand, card.card.last4) == (
        bare.id,
        "card",
        "visa",
        "4242",
    )
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.invoices.pay(invoice.id, None, seller)
    # ...but paying with it by name does, and the charge is made with it.
    paid = stripe_client.v1.invoices.pay(
        invoice.id, {"payment_method": card.id, "expand": ["payments"]}, seller
    )
    assert paid.status == "paid"
    charge = stripe_client.v1.charges.retrieve(paid.payments.data[0].payment.charge, None, seller)
    assert (charge.payment_method, charge.payment_method_details.card.last4) == (card.id, "4242")
    # Out of band needs no card at all.
    other = _open_invoice_for(stripe_client, seller, bare.id)
    marked = stripe_client.v1.invoices.pay(other.id, {"paid_out_of_band": True}, seller)
    assert marked.status == "paid"


def test_the_invoice_default_beats_the_customer_default(stripe_client, seller):
    customer = stripe_client.v1.customers.create({"email": "two@example.com"}, seller)
    visa = stripe_client.v1.payment_methods.attach(
        "pm_card_visa", {"customer": customer.id}, seller
    )
    amex = stripe_client.v1.payment_methods.attach(
        "pm_card_amex", {"customer": customer.id}, seller
    )
    stranger = stripe_client.v1.payment_methods.attach(
        "pm_card_mastercard",
        {"customer": stripe_client.v1.customers.create({}, seller).id},
        seller,
    )
    # A default must be the customer's own card: refused, nothing changed.
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.customers.update(
            customer.id, {"invoice_settings": {"default_payment_method": stranger.id}}, seller
        )
    assert info.value.param == "invoice_settings[default_payment_method]"
    customer = stripe_client.v1.customers.update(
        customer.id, {"invoice_settings": {"default_payment_method": visa.id}}, seller
    )
    assert customer.invoice_settings.default_payment_method == visa.id
    listed = stripe_client.v1.customers.payment_methods.list(customer.id, None, seller).data
    assert {m.id for m in listed} == {visa.id, amex.id}
    invoice = _open_invoice_for(stripe_client, seller, customer.id)
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.invoices.update(
            invoice.id, {"default_payment_method": stranger.id}, seller
        )
    assert info.value.param == "default_payment_method"
    invoice = stripe_client.v1.invoices.update(
        invoice.id, {"default_payment_method": amex.id}, seller
    )
    paid = stripe_client.v1.invoices.pay(invoice.id, {"expand": ["payments"]}, seller)
    charge = stripe_client.v1.charges.retrieve(paid.payments.data[0].payment.charge, None, seller)
    assert charge.payment_method == amex.id
    # Detaching the customer's default clears it: paying is refused again.
    stripe_client.v1.payment_methods.detach(visa.id, None, seller)
    customer = stripe_client.v1.customers.retrieve(customer.id, None, seller)
    assert customer.invoice_settings.default_payment_method is None
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.invoices.pay(
            _open_invoice_for(stripe_client, seller, customer.id).id, None, seller
        )


def test_a_declined_test_card_records_a_failed_attempt(stripe_client, seller):
    customer = stripe_client.v1.customers.create(
        {
            "payment_method": "pm_card_chargeDeclinedInsufficientFunds",
            "invoice_settings": {
                "default_payment_method": "pm_card_chargeDeclinedInsufficientFunds"
            },
        },
        seller,
    )
    assert customer.invoice_settings.default_payment_method.startswith("pm_")
    invoice = _open_invoice_for(stripe_client, seller, customer.id)
    with pytest.raises(stripe.CardError) as info:
        stripe_client.v1.invoices.pay(invoice.id, None, seller)
    assert (info.value.http_status, info.value.code) == (402, "card_declined")
    assert info.value.error.message == "Your card has insufficient funds."
    invoice = stripe_client.v1.invoices.retrieve(invoice.id, {"expand": ["payments"]}, seller)
    assert (invoice.status, invoice.attempt_count) == ("open", 1)
    assert [p.status for p in invoice.payments.data] == ["open"]


def test_invoice_payments_are_included_only_when_expanded(
    stripe_client, stripe_emulator, seller, buyer
):
    invoice = _open_invoice_for(stripe_client, seller, buyer.id)
    paid = stripe_client.v1.invoices.pay(invoice.id, None, seller)
    assert "payments" not in paid.to_dict()
    assert "payments" not in stripe_client.v1.invoices.retrieve(invoice.id, None, seller)
    expanded = stripe_client.v1.invoices.retrieve(invoice.id, {"expand": ["payments"]}, seller)
    [payment] = expanded.payments.data
    assert (payment.status, payment.payment.type) == ("paid", "charge")
    listed = stripe_client.v1.invoices.list({"expand": ["data.payments"]}, seller).data
    assert [len(i.payments.data) for i in listed if i.id == invoice.id] == [1]
    # Events carry the invoice as Stripe sends it: without payments.
    events = stripe_client.v1.events.list({"type": "invoice.paid"}, seller).data
    assert events and "payments" not in events[0].data.object.to_dict()
