"""The 3scale-style Billing API (/api/invoices…): every endpoint in XML and JSON, by persona,
with Stripe driven through the emulator. Every response is parsed (ElementTree for XML) and its
elements checked in the contract's order (tests/api/billing_api_client.py)."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing import gateway, invoice_states, invoicing, onboarding
from billing.billing_api import Many, render_json, render_xml
from billing.models import Invoice, InvoiceItem, ItemKind
from storefront import access
from storefront.models import ApiKey
from tests.api.billing_api_client import (
    BillingApi,
    check_errors,
    check_invoice_list,
    check_line,
    check_payment,
    one_invoice,
    parse,
    tags,
)

FORMATS = ("xml", "json")
BUYER_NAME = "Acme <Ads> & Söhne ☃"


def _key(user, customer, scopes) -> str:
    return ApiKey.issue(user=user, customer=customer, name="t", scopes=scopes)[1]


@pytest.fixture
def world(cast, seller, emulated_stripe):
    """Northwind (the seller) with an issued invoice and a draft for a buyer whose name needs
    escaping; its child Northwind Sports with an account and a draft of its own; Initech, another
    seller, with an account; and keys for each persona."""
    seller.billing_account.change_fee_schedule(platform_fee_percent="10")
    buyer = invoicing.buyer_for(seller, reference="acme", name=BUYER_NAME)
    invoicing.record_usage(
        seller,
        buyer,
        usage_id="u1",
        kind=ItemKind.PLAN_COST,
        description="Plan <gold> & more",
        currency="usd",
        amount=15_000,
    )
    invoicing.record_usage(
        seller,
        buyer,
        usage_id="u2",
        kind=ItemKind.VARIABLE_COST,
        description="Impressions",
        currency="usd",
        quantity=3,
        unit_amount=250,
        metric="hits",
        contract="premium-ctv",
    )
    [issued] = invoicing.run_billing(seller).invoices
    draft = invoice_states.create_draft(buyer, period="2024-01")

    child_connect, _ = onboarding.provision(access.resolve(cast.parent_owner, cast.child.pk))
    child_buyer = invoicing.buyer_for(child_connect, reference="kid", name="Kid Buyer")
    child_draft = invoice_states.create_draft(child_buyer, period="2024-02")
    onboarding.provision(access.resolve(cast.stranger, cast.other.pk))

    class World:
        pass

    w = World()
    w.seller, w.buyer, w.issued, w.draft = seller, buyer, issued, draft
    w.child_draft, w.child_buyer = child_draft, child_buyer
    w.admin = BillingApi(_key(cast.parent_owner, cast.parent, ["finance"]))
    w.member = BillingApi(_key(cast.parent_viewer, cast.parent, ["billing:read"]))
    w.granted_member = BillingApi(_key(cast.parent_viewer, cast.parent, ["finance"]), bearer=True)
    w.child = BillingApi(w.admin.token, target=cast.child.pk)
    w.other_seller = BillingApi(_key(cast.stranger, cast.other, ["finance"]))
    w.bad_token = BillingApi("scope3_nottherightkey_x")
    return w


def _endpoints(w):
    """(method, path without suffix, form data) for every endpoint, on the seller's objects."""
    ref, draft, buyer = w.issued.stripe_id, w.draft.stripe_id, w.buyer.pk
    line = w.draft.lines[0]["id"] if w.draft.lines else "il_missing"
    return [
        ("GET", "/invoices", None),
        ("POST", "/invoices", {"account_id": buyer, "period": "2024-03"}),
        ("GET", f"/invoices/{ref}", None),
        ("PUT", f"/invoices/{ref}", {"friendly_id": "X-1"}),
        ("PUT", f"/invoices/{draft}/state", {"state": "finalized"}),
        ("POST", f"/invoices/{ref}/charge", None),
        ("GET", f"/invoices/{ref}/line_items", None),
        ("POST", f"/invoices/{draft}/line_items", {"name": "Extra", "cost": "1.00"}),
        ("DELETE", f"/invoices/{draft}/line_items/{line}", None),
        ("GET", f"/invoices/{ref}/payment_transactions", None),
        ("GET", f"/accounts/{buyer}/invoices", None),
        ("GET", f"/accounts/{buyer}/invoices/{ref}", None),
    ]


def test_every_endpoint_refuses_whoever_may_not_see_the_invoice(world, cast):
    before = {i.stripe_id: (i.status, i.friendly_id) for i in Invoice.objects.all()}
    for method, path, data in _endpoints(world):
        for fmt in FORMATS:
            url = f"{path}.{fmt}"
            check_errors(world.bad_token.call(method, url, data), 401, fmt)
            check_errors(world.member.call(method, url, data), 403, fmt)
            if path == "/invoices":
                # Their own (empty) list, or our buyer unknown to them: nothing of ours leaks.
                for persona in (world.other_seller, world.child):
                    response = persona.call(method, url, data)
                    if method == "GET":
                        _, invoices = check_invoice_list(response, fmt)
                        assert world.issued.stripe_id not in {i["id"] for i in invoices}
                    else:
                        messages = check_errors(response, 404, fmt)
                        assert messages == ["Account not found."]
                continue
            for persona in (world.other_seller, world.child):
                messages = check_errors(persona.call(method, url, data), 404, fmt)
                assert messages[0] in ("Invoice not found.", "Account not found.")
                assert world.issued.stripe_id not in messages[0]
    # Nothing was created, changed or removed by any refused call.
    assert {i.stripe_id: (i.status, i.friendly_id) for i in Invoice.objects.all()} == before


def test_a_parent_reads_its_childs_invoices_and_only_those(world):
    for fmt in FORMATS:
        _, invoices = check_invoice_list(world.child.call("GET", f"/invoices.{fmt}"), fmt)
        assert [i["id"] for i in invoices] == [world.child_draft.stripe_id]
        one = one_invoice(
            world.child.call("GET", f"/invoices/{world.child_draft.stripe_id}.{fmt}"), fmt
        )
        assert one["state"] == "open"


def test_a_member_granted_billing_access_uses_it_with_a_bearer_token(world):
    _, invoices = check_invoice_list(world.granted_member.call("GET", "/invoices.json"), "json")
    assert {i["id"] for i in invoices} == {world.issued.stripe_id, world.draft.stripe_id}


def test_reads_follow_the_contract_in_both_formats(world):
    issued = world.issued
    for fmt in FORMATS:
        pagination, invoices = check_invoice_list(world.admin.call("GET", f"/invoices.{fmt}"), fmt)
        assert pagination == {
            "total_pages": 1,
            "current_page": 1,
            "per_page": 20,
            "total_entries": 2,
        }
        by_id = {i["id"]: i for i in invoices}
        one = by_id[issued.stripe_id]
        assert (one["state"], one["creation_type"], one["currency"]) == (
            "pending",
            "background",
            "USD",
        )
        # 150.00 + 3 × 2.50, decimal money.
        assert one["cost"] == "157.50"
        assert [line["cost"] for line in one["lines"]] == ["150.00", "7.50"]
        assert one["lines"][0]["name"] == "Plan <gold> & more"
        variable = one["lines"][1]
        assert (
            variable["type"],
            variable["metric_id"],
            variable["contract_id"],
            variable["quantity"],
        ) == (
            "LineItem::VariableCost",
            "hits",
            "premium-ctv",
            "3" if fmt == "xml" else 3,
        )
        buyer = one["buyer"]
        assert buyer["org_name"] == BUYER_NAME
        assert by_id[world.draft.stripe_id]["period"] == {"from": "2024-01-01", "to": "2024-01-31"}

        # By number, in another case; and through the buyer's account.
        number = issued.number.lower()
        assert (
            one_invoice(world.admin.call("GET", f"/invoices/{number}.{fmt}"), fmt)["id"]
            == issued.stripe_id
        )
        path = f"/accounts/{world.buyer.pk}/invoices"
        _, mine = check_invoice_list(world.admin.call("GET", f"{path}.{fmt}"), fmt)
        assert {i["id"] for i in mine} == {issued.stripe_id, world.draft.stripe_id}
        assert (
            one_invoice(world.admin.call("GET", f"{path}/{issued.number}.{fmt}"), fmt)["id"]
            == issued.stripe_id
        )
        check_errors(
            world.admin.call("GET", f"/accounts/{world.child_buyer.pk}/invoices.{fmt}"), 404, fmt
        )
        check_errors(world.admin.call("GET", f"/invoices/in_nope.{fmt}"), 404, fmt)

        response = world.admin.call("GET", f"/invoices/{issued.stripe_id}/line_items.{fmt}")
        assert response.status_code == 200
        body = parse(response, fmt)
        lines = list(body) if fmt == "xml" else [e["line_item"] for e in body["line_items"]]
        assert len(lines) == 2 and all(check_line(line, fmt) for line in lines)

        response = world.admin.call(
            "GET", f"/invoices/{issued.stripe_id}/payment_transactions.{fmt}"
        )
        body = parse(response, fmt)
        assert response.status_code == 200
        assert (body.tag if fmt == "xml" else list(body)) == (
            "payment-transactions" if fmt == "xml" else ["payment_transactions"]
        )
    # No suffix answers XML; .pdf redirects to Stripe's PDF.
    assert world.admin.call("GET", "/invoices")["Content-Type"].startswith("application/xml")
    response = world.admin.call("GET", f"/invoices/{issued.number}.pdf")
    assert response.status_code == 302 and response["Location"] == issued.invoice_pdf


def test_list_filters_and_pages(world):
    admin = world.admin
    _, found = check_invoice_list(admin.call("GET", "/invoices.xml", state="open"), "xml")
    assert [i["id"] for i in found] == [world.draft.stripe_id]
    _, found = check_invoice_list(admin.call("GET", "/invoices.xml", state="pending"), "xml")
    assert [i["id"] for i in found] == [world.issued.stripe_id]
    _, found = check_invoice_list(admin.call("GET", "/invoices.xml", month="2024-01"), "xml")
    assert [i["id"] for i in found] == [world.draft.stripe_id]
    prefix = world.issued.number.split("-")[0].lower()
    _, found = check_invoice_list(
        admin.call("GET", "/invoices.xml", friendly_id=f"{prefix}*"), "xml"
    )
    assert [i["id"] for i in found] == [world.issued.stripe_id]
    pagination, found = check_invoice_list(
        admin.call("GET", "/invoices.xml", per_page=1, page=2), "xml"
    )
    assert pagination == {"total_pages": 2, "current_page": 2, "per_page": 1, "total_entries": 2}
    assert len(found) == 1
    pagination, _ = check_invoice_list(admin.call("GET", "/invoices.json", per_page=500), "json")
    assert pagination["per_page"] == 20
    for bad in ({"state": "bogus"}, {"month": "2024-13"}, {"page": "0"}, {"per_page": "x"}):
        check_errors(admin.call("GET", "/invoices.xml", **bad), 400, "xml")


def test_create_and_update_change_only_period_and_friendly_id(world):
    admin = world.admin
    for fmt in FORMATS:
        created = one_invoice(
            admin.call(
                "POST",
                f"/invoices.{fmt}",
                {"invoice[account_id]": world.buyer.pk, "invoice[period]": "2024-05"},
            ),
            fmt,
            201,
        )
        assert (created["state"], created["creation_type"]) == ("open", "manual")
        assert created["period"] == {"from": "2024-05-01", "to": "2024-05-31"}
        assert (
            gateway.retrieve("invoices", created["id"], world.seller.stripe_id)["status"] == "draft"
        )
        check_errors(
            admin.call("POST", f"/invoices.{fmt}", {"account_id": world.buyer.pk}), 422, fmt
        )
        check_errors(
            admin.call("POST", f"/invoices.{fmt}", {"account_id": 999999, "period": "2024-05"}),
            404,
            fmt,
        )

    number = world.issued.number
    label = "ACME-2024-07"
    updated = one_invoice(
        admin.call("PUT", f"/invoices/{number}.json", {"friendly_id": label, "period": "2024-07"}),
        "json",
    )
    assert (updated["friendly_id"], updated["period"]["from"]) == (label, "2024-07-01")
    # Stripe's number is unchanged, and both the number and our label find the invoice.
    assert (
        gateway.retrieve("invoices", world.issued.stripe_id, world.seller.stripe_id)["number"]
        == number
    )
    for ref in (number, label.lower(), world.issued.stripe_id.upper()):
        assert (
            one_invoice(admin.call("GET", f"/invoices/{ref}.xml"), "xml")["id"]
            == world.issued.stripe_id
        )
    messages = check_errors(
        admin.call("PUT", f"/invoices/{label}.xml", {"state": "paid"}), 422, "xml"
    )
    assert "Only period and friendly_id" in messages[0]
    check_errors(
        admin.call("PUT", f"/invoices/{world.draft.stripe_id}.xml", {"friendly_id": label}),
        422,
        "xml",
    )
    check_errors(admin.call("PUT", f"/invoices/{label}.xml", {"friendly_id": "a/b<c"}), 422, "xml")


def _fee(world, invoice_id: str) -> tuple[int, int]:
    obj = gateway.retrieve("invoices", invoice_id, world.seller.stripe_id)
    return obj["total"], int(obj["metadata"]["application_fee_amount"])


def test_line_items_change_drafts_through_stripe_and_keep_the_fee_right(world):
    admin, draft = world.admin, world.draft.stripe_id
    response = admin.call(
        "POST",
        f"/invoices/{draft}/line_items.xml",
        {
            "line_item[name]": "Plan <silver>",
            "line_item[cost]": "100.00",
            "line_item[type]": "LineItem::PlanCost",
            "line_item[plan_id]": "silver",
        },
    )
    assert response.status_code == 201, response.content
    plan = check_line(parse(response, "xml"), "xml")
    assert (plan["name"], plan["cost"], plan["plan_id"]) == ("Plan <silver>", "100.00", "silver")
    response = admin.call(
        "POST",
        f"/invoices/{draft}/line_items.json",
        {
            "name": "Clicks",
            "description": "May clicks",
            "quantity": "40",
            "cost": "12.34",
            "type": "LineItem::VariableCost",
            "metric_id": "clicks",
            "contract_id": "c-9",
        },
    )
    assert response.status_code == 201, response.content
    variable = check_line(parse(response, "json")["line_item"], "json")
    assert (variable["quantity"], variable["cost"], variable["metric_id"]) == (
        40,
        "12.34",
        "clicks",
    )
    assert _fee(world, draft) == (11_234, 1_123)  # 10 % of 112.34, half up

    response = admin.call("DELETE", f"/invoices/{draft}/line_items/{plan['id']}.xml")
    assert (
        response.status_code == 200
        and check_line(parse(response, "xml"), "xml")["id"] == plan["id"]
    )
    assert _fee(world, draft) == (1_234, 123)
    assert one_invoice(admin.call("GET", f"/invoices/{draft}.json"), "json")["cost"] == "12.34"
    assert InvoiceItem.objects.filter(invoice_stripe_id=draft).count() == 1

    check_errors(admin.call("DELETE", f"/invoices/{draft}/line_items/il_nope.xml"), 404, "xml")
    for bad in (
        {"cost": "1.00"},
        {"name": "x", "cost": "1.001"},
        {"name": "x", "cost": "-1"},
        {"name": "x", "cost": "abc"},
        {"name": "x", "cost": "1", "type": "LineItem::Other"},
        {"name": "x", "cost": "1", "type": "LineItem::VariableCost"},
        {"name": "x", "cost": "1", "quantity": "-2"},
    ):
        check_errors(admin.call("POST", f"/invoices/{draft}/line_items.xml", bad), 422, "xml")
    # Issued invoices are not drafts in Stripe: refused, and Stripe's invoice is untouched.
    messages = check_errors(
        admin.call(
            "POST", f"/invoices/{world.issued.stripe_id}/line_items.xml", {"name": "x", "cost": "1"}
        ),
        422,
        "xml",
    )
    assert "draft" in messages[0]
    assert _fee(world, world.issued.stripe_id)[0] == 15_750


def test_state_moves_run_the_matching_stripe_call(world):
    admin, draft = world.admin, world.draft.stripe_id
    admin.call("POST", f"/invoices/{draft}/line_items.xml", {"name": "Plan", "cost": "80.00"})
    messages = check_errors(
        admin.call("PUT", f"/invoices/{draft}/state.xml", {"state": "cancel"}), 422, "xml"
    )
    assert "is open and cannot become cancelled" in messages[0]
    moved = one_invoice(
        admin.call("PUT", f"/invoices/{draft}/state.xml", {"state": "finalized"}), "xml"
    )
    assert moved["state"] == "finalized" and moved["issued_on"]
    assert gateway.retrieve("invoices", draft, world.seller.stripe_id)["status"] == "open"
    moved = one_invoice(
        admin.call("PUT", f"/invoices/{draft}/state.json", {"state": "pending"}), "json"
    )
    assert moved["state"] == "pending"
    messages = check_errors(
        admin.call("PUT", f"/invoices/{draft}/state.xml", {"state": "finalized"}), 422, "xml"
    )
    assert messages == [
        f"Invoice {moved['friendly_id']} is pending and cannot become finalized: only an invoice "
        "that is open can become finalized."
    ]
    check_errors(admin.call("PUT", f"/invoices/{draft}/state.xml", {"state": "unpaid"}), 422, "xml")
    check_errors(admin.call("PUT", f"/invoices/{draft}/state.xml", {"state": "bogus"}), 422, "xml")
    moved = one_invoice(admin.call("PUT", f"/invoices/{draft}/state.xml", {"state": "paid"}), "xml")
    assert moved["state"] == "paid" and moved["paid_at"]
    stripe_invoice = gateway.retrieve("invoices", draft, world.seller.stripe_id)
    assert stripe_invoice["status"] == "paid" and stripe_invoice["amount_paid_off_stripe"] == 8_000

    issued = world.issued.stripe_id
    moved = one_invoice(
        admin.call("PUT", f"/invoices/{issued}/state.xml", {"state": "failed"}), "xml"
    )
    assert moved["state"] == "failed"
    moved = one_invoice(
        admin.call("PUT", f"/invoices/{issued}/state.xml", {"invoice[state]": "cancel"}), "xml"
    )
    assert moved["state"] == "cancelled"
    assert gateway.retrieve("invoices", issued, world.seller.stripe_id)["status"] == "void"


def test_a_stripe_failure_while_issuing_leaves_the_invoice_as_it_was(world, emulated_stripe):
    admin, draft = world.admin, world.draft.stripe_id
    admin.call("POST", f"/invoices/{draft}/line_items.xml", {"name": "Plan", "cost": "80.00"})
    admin.call("PUT", f"/invoices/{draft}/state.xml", {"state": "finalized"})
    emulated_stripe.inject_fault("500", count=3, path=f"/v1/invoices/{draft}/send")
    check_errors(
        admin.call("PUT", f"/invoices/{draft}/state.xml", {"state": "pending"}), 503, "xml"
    )
    obj = gateway.retrieve("invoices", draft, world.seller.stripe_id)
    assert obj["status"] == "open" and not obj["metadata"].get("sent")
    assert one_invoice(admin.call("GET", f"/invoices/{draft}.xml"), "xml")["state"] == "finalized"
    emulated_stripe.control("DELETE", "faults")
    assert (
        one_invoice(admin.call("PUT", f"/invoices/{draft}/state.xml", {"state": "pending"}), "xml")[
            "state"
        ]
        == "pending"
    )


def test_charge_collects_an_issued_invoice_and_explains_a_draft(world):
    admin = world.admin
    messages = check_errors(
        admin.call("POST", f"/invoices/{world.draft.stripe_id}/charge.xml"), 422, "xml"
    )
    assert "is open and cannot be charged" in messages[0]
    gateway.save_default_card(
        world.seller.stripe_id, world.buyer.stripe_customer_id, "pm_card_visa"
    )
    charged = one_invoice(
        admin.call("POST", f"/invoices/{world.issued.number}/charge.json"), "json"
    )
    assert (charged["state"], charged["payment_transactions_count"]) == ("paid", 1)
    response = admin.call("GET", f"/invoices/{world.issued.stripe_id}/payment_transactions.xml")
    [payment] = parse(response, "xml")
    payment = check_payment(payment, "xml")
    assert (payment["success"], payment["amount"], payment["currency"]) == ("true", "157.50", "USD")
    assert payment["reference"].startswith("ch_")
    # The mirror knows the charge that paid it (Stripe shows payments only when expanded).
    paid = Invoice.objects.get(pk=world.issued.pk)
    assert paid.charge_stripe_id == payment["reference"]
    check_errors(admin.call("POST", f"/invoices/{world.issued.stripe_id}/charge.xml"), 422, "xml")


@pytest.mark.parametrize("fmt", FORMATS)
def test_charge_explains_a_buyer_without_a_payment_method(world, emulated_stripe, fmt):
    """Stripe refuses to pay an invoice whose buyer has no card on file: the answer says so,
    and what can be done, and nothing changes."""
    ref = world.issued.number
    [message] = check_errors(world.admin.call("POST", f"/invoices/{ref}/charge.{fmt}"), 422, fmt)
    assert message.startswith(f"Invoice {ref} cannot be charged: {BUYER_NAME} has no payment ")
    assert "no default card for invoices" in message and "state=paid" in message
    fresh = gateway.retrieve("invoices", world.issued.stripe_id, world.seller.stripe_id)
    assert (fresh["status"], fresh["attempt_count"], fresh["payments"]["data"]) == ("open", 0, [])
    assert Invoice.objects.get(pk=world.issued.pk).status == "open"


def test_errors_are_documents_with_the_right_status(world):
    admin = world.admin
    check_errors(admin.call("DELETE", "/invoices.xml"), 405, "xml")
    response = admin.client.post(
        f"/api/invoices.xml?access_token={admin.token}",
        data="<!DOCTYPE x [<!ENTITY a 'b'>]><invoice/>",
        content_type="application/xml",
    )
    check_errors(response, 415, "xml")
    check_errors(
        admin.call("GET", "/invoices.json", targetCustomerId=world.bad_token and 987654),
        400,
        "json",
    )


NASTY = "a\x00b\x1f\x0b<c> & d ☃ \ud800\ufffe\uffff\U0001f600]]>"
# What XML 1.0 can carry of it: control characters, lone surrogates and U+FFFE/U+FFFF dropped.
CARRIED = "ab<c> & d ☃ \U0001f600]]>"


def test_a_line_item_with_characters_xml_cannot_carry_is_refused(world):
    path = f"/invoices/{world.draft.stripe_id}/line_items.xml"
    [message] = check_errors(
        world.admin.call("POST", path, {"name": "Bell\x07", "cost": "1.00"}), 422, "xml"
    )
    assert message == "name contains control characters an XML document cannot carry."
    assert len(
        gateway.retrieve("invoices", world.draft.stripe_id, world.seller.stripe_id)["lines"]["data"]
    ) == len(world.draft.lines)


def test_xml_is_well_formed_whatever_the_text():
    """Any text, in a plain element or in a record of a list (the fast path), is escaped by the
    library and parses back; what XML cannot carry at all is dropped, the rest kept exactly."""
    from xml.etree import ElementTree as ET

    body = render_xml("invoice", {"name": NASTY, "n": 3, "ok": True})
    parsed = ET.fromstring(body)
    assert (parsed.findtext("name"), parsed.findtext("n"), parsed.findtext("ok")) == (
        CARRIED,
        "3",
        "true",
    )
    records = [{"id": f"il_{n}", "name": NASTY, "quantity": n, "plan_id": None} for n in range(3)]
    body = render_xml("line-items", Many("line-item", records, records=True))
    parsed = ET.fromstring(body)
    assert [tags(line) for line in parsed] == [["id", "name", "quantity", "plan_id"]] * 3
    assert [line.findtext("name") for line in parsed] == [CARRIED] * 3
    assert [line.findtext("quantity") for line in parsed] == ["0", "1", "2"]
    assert [line.find("plan_id").text for line in parsed] == [None] * 3


def test_json_carries_control_characters_escaped_and_drops_lone_surrogates():
    records = [{"id": "il_1", "name": NASTY, "quantity": 2}]
    body = render_json("line-items", Many("line-item", records, records=True))
    expected = {"id": "il_1", "name": NASTY.replace("\ud800", ""), "quantity": 2}
    assert json.loads(body.decode("utf-8")) == {"line_items": [{"line_item": expected}]}


def test_a_list_page_costs_the_same_queries_whatever_its_size(world):
    def queries(per_page: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = world.admin.call("GET", "/invoices.xml", per_page=per_page)
        assert response.status_code == 200
        return len(captured)

    queries(1)  # the first use of a key records it (once a minute)
    small = queries(1)
    template = Invoice.objects.get(pk=world.issued.pk)
    lines = template.raw["lines"]["data"]
    for n in range(25):
        template.pk, template.stripe_id = None, f"in_copy{n}"
        template.raw = {**template.raw, "lines": {"data": lines * 25, "has_more": False}}
        template.save()
    assert queries(20) == small


def test_openapi_document_describes_every_route(client):
    from billing.billing_api import urlpatterns

    response = client.get("/api/billing-api/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert len(document["paths"]) == 2 * (len(urlpatterns) - 1)  # `.pdf` is part of GET {id}
    for path, operations in document["paths"].items():
        assert path.startswith("/api/") and path.endswith((".xml", ".json"))
        for operation in operations.values():
            assert (
                "404" in operation["responses"]
                and "application/xml" in operation["responses"]["404"]["content"]
            )
