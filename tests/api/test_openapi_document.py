"""The OpenAPI document and interactive docs describe every billing endpoint as built."""

from __future__ import annotations

import pytest
from django.test import Client

BILLING_OPERATIONS = {
    ("post", "/billing/connect"),
    ("get", "/billing/onboard"),
    ("post", "/billing/account-session"),
    ("get", "/billing"),
    ("put", "/billing"),
    ("get", "/billing/status"),
    ("get", "/billing/accounts"),
    ("get", "/billing/transactions"),
    ("get", "/billing/payouts"),
    ("get", "/billing/invoices"),
    ("get", "/billing/pending-invoice-items"),
}
LISTS = [
    "/billing/transactions",
    "/billing/payouts",
    "/billing/invoices",
    "/billing/pending-invoice-items",
]


@pytest.fixture
def spec(db):
    response = Client().get("/api/v2/storefront/openapi.json")
    assert response.status_code == 200
    return response.json()


def _operation(spec, method: str, path: str) -> dict:
    return spec["paths"][f"/api/v2/storefront{path}"][method]


def test_every_billing_endpoint_is_documented_with_bearer_auth(spec):
    for method, path in BILLING_OPERATIONS:
        operation = _operation(spec, method, path)
        assert operation["security"] == [{"ApiKeyAuth": []}]
        params = {p["name"] for p in operation.get("parameters", [])}
        assert "targetCustomerId" in params, path
        for status in ("200", "400", "401", "429"):
            assert status in operation["responses"], (path, status)


@pytest.mark.parametrize("path", LISTS)
def test_lists_document_cursor_pagination_and_the_list_envelope(spec, path):
    operation = _operation(spec, "get", path)
    params = {p["name"]: p["schema"] for p in operation["parameters"]}
    assert (params["limit"]["minimum"], params["limit"]["maximum"], params["limit"]["default"]) == (
        1,
        100,
        25,
    )
    assert "starting_after" in params
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    envelope = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert set(envelope["properties"]) == {"data", "meta", "error"}
    meta = spec["components"]["schemas"]["ListMeta"]
    assert set(meta["properties"]) == {"count", "limit", "hasMore", "cursor"}


def test_setup_endpoints_document_stripe_outages(spec):
    for method, path in [("post", "/billing/connect"), ("post", "/billing/account-session")]:
        assert "503" in _operation(spec, method, path)["responses"]


def test_the_update_body_documents_the_constraints(spec):
    body = spec["components"]["schemas"]["BillingUpdate"]["properties"]
    percent = body["platformFeePercent"]["anyOf"][0]
    assert (percent["minimum"], percent["maximum"]) == (0, 100)
    assert body["currency"]["anyOf"][0]["pattern"] == "^[A-Z]{3}$"
    assert body["defaultNetDays"]["anyOf"][0]["minimum"] == 0
    fee = spec["components"]["schemas"]["FeeIn"]
    assert set(fee["required"]) == {"name", "feePercent"}


def test_the_interactive_docs_render(db):
    response = Client().get("/api/v2/storefront/docs")
    assert response.status_code == 200
    assert b"openapi.json" in response.content


def test_the_contract_version_is_in_the_document_every_answer_and_whoami(spec, parent_api):
    from storefront.api import API_VERSION

    assert spec["info"]["version"] == API_VERSION
    assert API_VERSION.startswith("2.")  # the /api/v2/ path's major version
    response = parent_api.get("/whoami")
    assert response["API-Version"] == API_VERSION
    assert response.json()["data"]["apiVersion"] == API_VERSION
    assert Client().get("/api/v2/storefront/whoami")["API-Version"] == API_VERSION
