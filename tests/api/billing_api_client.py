"""Helpers for the 3scale-style Billing API tests: a client, and the contract's element lists
checked on every document parsed with an XML parser (or read as JSON)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree as ET

from django.test import Client

INVOICE = [
    "id",
    "friendly_id",
    "creation_type",
    "state",
    "paid_at",
    "due_on",
    "issued_on",
    "currency",
    "cost",
    "cost_without_vat",
    "period",
    "provider",
    "buyer",
    "line-items",
    "payment_transactions_count",
]
PARTY = ["id", "org_name", "address", "city", "state", "country", "phone", "zip"]
LINE = [
    "id",
    "name",
    "description",
    "quantity",
    "type",
    "metric_id",
    "plan_id",
    "contract_id",
    "contract_type",
    "cost",
]
PAYMENT = [
    "id",
    "created_at",
    "updated_at",
    "reference",
    "success",
    "amount",
    "currency",
    "action",
    "message",
    "test",
]
PAGINATION = {"total_pages", "current_page", "per_page", "total_entries"}
MONEY = r"^-?\d+\.\d{2}$"


class BillingApi:
    """Calls /api/… with an access token as a query parameter (or a Bearer header)."""

    def __init__(self, token: str | None, *, bearer: bool = False, target: int | None = None):
        self.token = token
        self.bearer = bearer
        self.target = target
        self.client = Client()

    def call(self, method: str, path: str, data: dict[str, Any] | None = None, **query: Any):
        query = dict(query)
        headers = {}
        if self.token and self.bearer:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {self.token}"
        elif self.token:
            query.setdefault("access_token", self.token)
        if self.target is not None:
            query.setdefault("targetCustomerId", self.target)
        url = f"/api{path}" + (f"?{urlencode(query)}" if query else "")
        if method == "GET":
            return self.client.get(url, **headers)
        return self.client.generic(
            method,
            url,
            urlencode(data or {}),
            content_type="application/x-www-form-urlencoded",
            **headers,
        )


def parse(response, fmt: str) -> Any:
    """The body as an Element (xml) or a dict (json), after checking the content type."""
    if fmt == "xml":
        assert response["Content-Type"].startswith("application/xml"), response.content
        return ET.fromstring(response.content)
    assert response["Content-Type"].startswith("application/json"), response.content
    return json.loads(response.content)


def tags(element: ET.Element) -> list[str]:
    return [child.tag for child in element]


def check_errors(response, status: int, fmt: str) -> list[str]:
    assert response.status_code == status, response.content
    body = parse(response, fmt)
    if fmt == "xml":
        assert body.tag == "errors"
        assert tags(body) and set(tags(body)) == {"error"}
        messages = [error.text or "" for error in body]
    else:
        assert list(body) == ["errors"]
        messages = body["errors"]["error"]
    assert all(messages), messages
    return messages


def _expected_invoice(names: list[str]) -> list[str]:
    with_vat = "vat_rate" in names
    expected = list(INVOICE)
    if with_vat:
        expected[9:9] = ["vat_rate", "vat_amount"]
    return expected


def check_invoice(doc: Any, fmt: str) -> dict[str, Any]:
    """Element order per the contract; returns the invoice as a flat dict of strings."""
    if fmt == "xml":
        assert doc.tag == "invoice"
        assert tags(doc) == _expected_invoice(tags(doc))
        for party in ("provider", "buyer"):
            assert tags(doc.find(party)) == PARTY
        assert tags(doc.find("period")) == ["from", "to"]
        lines = doc.find("line-items")
        assert set(tags(lines)) <= {"line-item"}
        for line in lines:
            check_line(line, fmt)
        for money in ("cost", "cost_without_vat"):
            assert _is_money(doc.findtext(money))
        return {
            **{child.tag: child.text for child in doc if len(child) == 0},
            "lines": [check_line(line, fmt) for line in lines],
            "buyer": {c.tag: c.text for c in doc.find("buyer")},
            "period": {c.tag: c.text for c in doc.find("period")},
        }
    names = [n for n in doc if n != "links"]
    assert names == [n.replace("-", "_") for n in _expected_invoice(names)]
    assert [link["rel"] for link in doc["links"]] == [
        "self",
        "account",
        "line_items",
        "payment_transactions",
    ]
    for party in ("provider", "buyer"):
        assert list(doc[party]) == PARTY
    assert list(doc["period"]) == ["from", "to"]
    assert _is_money(doc["cost"]) and _is_money(doc["cost_without_vat"])
    return {**doc, "lines": [check_line(entry["line_item"], fmt) for entry in doc["line_items"]]}


def check_line(line: Any, fmt: str) -> dict[str, Any]:
    if fmt == "xml":
        assert line.tag == "line-item"
        assert tags(line) == LINE
        assert _is_money(line.findtext("cost"))
        return {child.tag: child.text for child in line}
    assert list(line) == LINE
    assert _is_money(line["cost"])
    return line


def check_payment(payment: Any, fmt: str) -> dict[str, Any]:
    if fmt == "xml":
        assert payment.tag == "payment-transaction"
        assert tags(payment) == PAYMENT
        return {child.tag: child.text for child in payment}
    assert list(payment) == PAYMENT
    return payment


def check_invoice_list(response, fmt: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(pagination, invoices) of a list document, each invoice checked."""
    assert response.status_code == 200, response.content
    body = parse(response, fmt)
    if fmt == "xml":
        assert body.tag == "invoices"
        assert tags(body)[0] == "pagination"
        assert set(tags(body)[1:]) <= {"invoice"}
        pagination = body[0]
        assert set(pagination.attrib) == PAGINATION
        return (
            {k: int(v) for k, v in pagination.attrib.items()},
            [check_invoice(invoice, fmt) for invoice in body[1:]],
        )
    assert list(body) == ["invoices", "pagination"]
    assert set(body["pagination"]) == PAGINATION
    return body["pagination"], [check_invoice(e["invoice"], fmt) for e in body["invoices"]]


def one_invoice(response, fmt: str, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = parse(response, fmt)
    return check_invoice(body if fmt == "xml" else body["invoice"], fmt)


def _is_money(value: Any) -> bool:
    import re

    return isinstance(value, str) and re.match(MONEY, value) is not None
