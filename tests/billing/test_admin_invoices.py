"""Django admin: invoices — draft line edits and finalize / void / mark uncollectible, through
Stripe (the emulator), with confirmation and Stripe's refusals shown as messages."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages

from billing import gateway, invoicing, mirror
from billing.models import Invoice, InvoiceItem
from tests.billing_fixtures import record_plan
from tests.factories import make_user


@pytest.fixture
def buyer(seller):
    return invoicing.buyer_for(seller, reference="b1", name="Acme Agency")


@pytest.fixture
def draft(seller, buyer, stripe_client) -> Invoice:
    """A manual draft invoice with one line (made with the SDK, then mirrored)."""
    on_seller = {"stripe_account": seller.stripe_id}
    obj = stripe_client.v1.invoices.create(
        {
            "customer": buyer.stripe_customer_id,
            "collection_method": "send_invoice",
            "days_until_due": 30,
            "currency": "usd",
            "metadata": {"origin": "manual"},
        },
        on_seller,
    )
    stripe_client.v1.invoice_items.create(
        {
            "customer": buyer.stripe_customer_id,
            "invoice": obj.id,
            "amount": 20_000,
            "currency": "usd",
            "description": "Sponsorship, October",
        },
        on_seller,
    )
    return mirror.upsert_invoice(seller, gateway.retrieve("invoices", obj.id, seller.stripe_id))


def page(invoice) -> str:
    return f"/admin/billing/invoice/{invoice.pk}/change/"


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def remote(stripe_client, seller, invoice):
    return stripe_client.v1.invoices.retrieve(
        invoice.stripe_id, options={"stripe_account": seller.stripe_id}
    )


def test_the_invoice_list_filters_by_status_and_origin(admin_client, draft):
    assert draft.origin == "manual"
    for params, expected in [
        ({"status": "draft"}, [draft]),
        ({"status": "open"}, []),
        ({"origin__exact": "manual"}, [draft]),
        ({"origin__exact": "background"}, []),
    ]:
        response = admin_client.get("/admin/billing/invoice/", params)
        assert list(response.context["cl"].result_list) == expected, params


def test_a_draft_invoice_page_lists_its_lines_with_edit_forms(admin_client, draft):
    body = admin_client.get(page(draft)).content.decode()
    assert "Sponsorship, October" in body
    assert "$200.00" in body
    assert "Add a line" in body
    assert f"/admin/billing/invoice/{draft.pk}/lines/add/" in body


def test_adding_a_line_goes_through_stripe_and_updates_the_mirror(
    admin_client, seller, draft, stripe_client
):
    response = admin_client.post(
        f"/admin/billing/invoice/{draft.pk}/lines/add/",
        {"add-description": "Extra placement", "add-amount": "125.50"},
        follow=True,
    )
    assert messages_of(response) == [f"Added “Extra placement” to {draft}."]
    assert remote(stripe_client, seller, draft).total == 32_550
    draft.refresh_from_db()
    assert draft.total == 32_550
    assert [line["description"] for line in draft.lines] == [
        "Sponsorship, October",
        "Extra placement",
    ]
    item = InvoiceItem.objects.get(description="Extra placement")
    assert (item.amount, item.invoice_stripe_id) == (12_550, draft.stripe_id)
    assert "Extra placement" in response.content.decode()


def test_updating_a_line(admin_client, seller, draft, stripe_client):
    [line] = draft.lines
    response = admin_client.post(
        f"/admin/billing/invoice/{draft.pk}/lines/{line['id']}/update/",
        {f"{line['id']}-description": "Sponsorship, Oct (revised)", f"{line['id']}-amount": "180"},
        follow=True,
    )
    assert messages_of(response) == [f"Updated a line of {draft}."]
    draft.refresh_from_db()
    assert draft.total == 18_000
    assert draft.lines[0]["description"] == "Sponsorship, Oct (revised)"
    assert remote(stripe_client, seller, draft).total == 18_000


def test_a_line_edited_down_reprices_the_fee_so_the_invoice_can_still_finalize(
    admin_client, seller, buyer, stripe_client
):
    # A billing-run draft: priced at 10 % by the schedule in force when it was made.
    version = seller.billing_account.change_fee_schedule(platform_fee_percent="10")
    on_seller = {"stripe_account": seller.stripe_id}
    stripe_client.v1.invoice_items.create(
        {"customer": buyer.stripe_customer_id, "amount": 20_000, "currency": "usd"}, on_seller
    )
    obj = stripe_client.v1.invoices.create(
        {
            "customer": buyer.stripe_customer_id,
            "collection_method": "send_invoice",
            "days_until_due": 30,
            "pending_invoice_items_behavior": "include",
            "application_fee_amount": 2_000,
            "metadata": {
                "origin": "background",
                "fee_schedule_version": str(version.pk),
                "application_fee_amount": "2000",
            },
        },
        on_seller,
    )
    invoice = mirror.upsert_invoice(seller, gateway.retrieve("invoices", obj.id, seller.stripe_id))
    # The schedule changes afterwards: the invoice keeps the one that priced it.
    seller.billing_account.change_fee_schedule(platform_fee_percent="50")
    [line] = invoice.lines
    admin_client.post(
        f"/admin/billing/invoice/{invoice.pk}/lines/{line['id']}/update/",
        {f"{line['id']}-description": "Plan (discounted)", f"{line['id']}-amount": "15"},
    )
    # 2,000 would now exceed the 1,500 total, and Stripe would refuse to finalize.
    assert remote(stripe_client, seller, invoice).metadata["application_fee_amount"] == "150"
    response = admin_client.post(
        "/admin/billing/invoice/",
        {"action": "finalize", "_selected_action": [invoice.pk], "post": "yes"},
        follow=True,
    )
    invoice.refresh_from_db()
    assert invoice.status == "open", messages_of(response)
    assert invoice.application_fee_amount == 150


def test_removing_a_line_deletes_it(admin_client, seller, draft, stripe_client):
    [line] = draft.lines
    response = admin_client.post(
        f"/admin/billing/invoice/{draft.pk}/lines/{line['id']}/remove/",
        {"behavior": "delete"},
        follow=True,
    )
    assert messages_of(response) == [f"Removed a line from {draft}."]
    draft.refresh_from_db()
    assert (draft.lines, draft.total) == ([], 0)
    assert remote(stripe_client, seller, draft).total == 0


def test_removing_a_line_can_return_it_to_the_pending_items(
    admin_client, seller, buyer, draft, stripe_client
):
    [line] = draft.lines
    item_id = line["parent"]["invoice_item_details"]["invoice_item"]
    mirror.upsert_invoice_item(seller, gateway.retrieve("invoice_items", item_id, seller.stripe_id))
    admin_client.post(
        f"/admin/billing/invoice/{draft.pk}/lines/{line['id']}/remove/",
        {"behavior": "unassign"},
    )
    assert InvoiceItem.objects.get(stripe_id=item_id).is_pending
    pending = stripe_client.v1.invoice_items.list(
        {"pending": True}, {"stripe_account": seller.stripe_id}
    ).data
    assert [i.id for i in pending] == [item_id]


def test_invalid_line_input_is_a_message_and_nothing_reaches_stripe(
    admin_client, seller, draft, stripe_client
):
    response = admin_client.post(
        f"/admin/billing/invoice/{draft.pk}/lines/add/",
        {"add-description": "Odd", "add-amount": "1.005"},
        follow=True,
    )
    assert messages_of(response) == ["Amount: USD amounts have at most 2 decimals."]
    assert len(remote(stripe_client, seller, draft).lines.data) == 1


def test_editing_lines_of_a_finalized_invoice_shows_stripes_refusal(
    admin_client, seller, draft, stripe_client
):
    [line] = draft.lines
    # Finalized in Stripe behind the mirror's back: the mirror still says draft.
    stripe_client.v1.invoices.finalize_invoice(
        draft.stripe_id, options={"stripe_account": seller.stripe_id}
    )
    response = admin_client.post(
        f"/admin/billing/invoice/{draft.pk}/lines/{line['id']}/remove/",
        {"behavior": "delete"},
        follow=True,
    )
    assert response.status_code == 200
    [message] = messages_of(response)
    assert message.startswith("Could not remove lines from the invoice:")
    assert remote(stripe_client, seller, draft).total == 20_000


def test_a_finalized_invoice_page_offers_no_line_editing(admin_client, seller, draft):
    admin_client.post(f"/admin/billing/invoice/{draft.pk}/do/finalize/", {"post": "yes"})
    body = admin_client.get(page(draft)).content.decode()
    assert "Only draft invoices can have their lines edited." in body
    assert "Add a line" not in body


# Finalize, void, mark uncollectible


def test_finalize_asks_for_confirmation_first(admin_client, draft):
    response = admin_client.post(
        "/admin/billing/invoice/", {"action": "finalize", "_selected_action": [draft.pk]}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Are you sure you want to finalize this invoice?" in body
    assert 'name="post" value="yes"' in body
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_finalize_then_mark_uncollectible_then_void(admin_client, seller, draft, stripe_client):
    steps = [("finalize", "open"), ("mark_uncollectible", "uncollectible"), ("void", "void")]
    for action, status in steps:
        response = admin_client.post(
            "/admin/billing/invoice/",
            {"action": action, "_selected_action": [draft.pk], "post": "yes"},
            follow=True,
        )
        [message] = messages_of(response)
        draft.refresh_from_db()
        assert draft.status == status, action
        assert remote(stripe_client, seller, draft).status == status
        assert message.endswith(f"({draft}, now {status}).")
    assert draft.number
    assert draft.status_history[-1]["status"] == "void"


def test_stripe_refusals_are_shown_per_invoice(admin_client, draft):
    response = admin_client.post(
        "/admin/billing/invoice/",
        {"action": "void", "_selected_action": [draft.pk], "post": "yes"},
        follow=True,
    )
    assert response.status_code == 200
    [message] = messages_of(response)
    assert message.startswith(f"{draft}: Could not void the invoice: You can only void invoices")
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_one_invoice_from_its_own_page_with_confirmation(admin_client, seller, draft):
    body = admin_client.get(page(draft)).content.decode()
    assert f"/admin/billing/invoice/{draft.pk}/do/finalize/" in body
    confirm = admin_client.get(f"/admin/billing/invoice/{draft.pk}/do/finalize/")
    assert "Are you sure you want to finalize this invoice?" in confirm.content.decode()
    draft.refresh_from_db()
    assert draft.status == "draft"
    response = admin_client.post(f"/admin/billing/invoice/{draft.pk}/do/finalize/", {"post": "yes"})
    assert response.status_code == 302
    assert response["Location"] == page(draft)
    draft.refresh_from_db()
    assert draft.status == "open"


def test_an_unknown_invoice_action_or_invoice_is_404(admin_client, draft):
    assert admin_client.get(f"/admin/billing/invoice/{draft.pk}/do/delete/").status_code == 404
    assert admin_client.get("/admin/billing/invoice/999999/do/finalize/").status_code == 404


def test_invoice_operations_need_the_change_permission(client_as, draft, stripe_client, seller):
    from django.contrib.auth.models import Permission

    viewer = make_user("viewer@platform.test", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_invoice"))
    client = client_as(viewer)
    assert client.get(page(draft)).status_code == 200
    assert "Add a line" not in client.get(page(draft)).content.decode()
    for url, data in [
        (f"/admin/billing/invoice/{draft.pk}/do/finalize/", {"post": "yes"}),
        (
            f"/admin/billing/invoice/{draft.pk}/lines/add/",
            {"add-description": "x", "add-amount": "1"},
        ),
    ]:
        assert client.post(url, data).status_code == 403
    assert remote(stripe_client, seller, draft).status == "draft"
    assert len(remote(stripe_client, seller, draft).lines.data) == 1


def test_staff_invoice_a_buyer_now_as_a_manual_invoice(admin_client, seller, stripe_client):
    from billing.models import Buyer

    buyer = invoicing.buyer_for(seller, reference="now", name="Urgent Buyer")
    record_plan(seller, buyer, 25_000, usage_id="n1", description="Setup fee")
    response = admin_client.post(
        "/admin/billing/buyer/",
        {"action": "invoice_now", "_selected_action": [buyer.pk]},
        follow=True,
    )
    assert "Invoiced Urgent Buyer" in " ".join(str(m) for m in get_messages(response.wsgi_request))
    invoice = Invoice.objects.get(buyer=buyer)
    assert (invoice.origin, invoice.status, invoice.total) == ("manual", "open", 25_000)
    # The next billing run finds nothing left for this buyer, and leaves the manual invoice alone.
    assert invoicing.run_billing(seller).invoices == []
    assert Buyer.objects.get(pk=buyer.pk).invoices.count() == 1
