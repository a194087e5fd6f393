"""One input policy and one error shape for every operation, walked from the OpenAPI document:
unknown query parameters and body fields are refused by name (never ignored), fields of older
clients are refused naming their replacement, and every error carries a documented code and
the same issue keys."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from storefront.api import API_VERSION, DOCUMENTED_CODES

from .conftest import BASE

ISSUE_KEYS = {"in", "field", "message", "allowed"}


def _operations() -> list[tuple[str, str, dict]]:
    spec = Client().get(f"{BASE}/openapi.json").json()
    return [
        (method, path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    ]


@pytest.fixture
def operations(db):
    operations = _operations()
    assert len(operations) >= 18
    return operations


def _url(path: str) -> str:
    # Any path parameter: validation happens before anything is looked up.
    return path.replace("{source_id}", "nope")


def _send(client: Client, method: str, url: str, headers: dict, body: dict | None = None):
    data = json.dumps(body) if body is not None else ""
    return getattr(client, method)(url, data=data, content_type="application/json", **headers)


def assert_error_shape(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["API-Version"] == API_VERSION
    error = response.json()["error"]
    assert error["code"] in DOCUMENTED_CODES.get(status, ("BAD_REQUEST",)), error
    for item in (error.get("details") or {}).get("issues", []):
        assert set(item) == ISSUE_KEYS, item
    return error


def test_every_operation_refuses_an_unknown_query_parameter_by_name(operations, parent_api):
    for method, path, _ in operations:
        response = _send(
            parent_api.client, method, _url(path) + "?bogusParam=1", parent_api.headers
        )
        error = assert_error_shape(response, 400)
        assert error["code"] == "VALIDATION_ERROR", (method, path)
        issue = next(i for i in error["details"]["issues"] if i["field"] == "bogusParam")
        assert issue["in"] == "query"
        assert "bogusParam" in issue["message"]


def test_every_operation_names_each_unknown_query_parameter(operations, parent_api):
    for method, path, _ in operations:
        response = _send(parent_api.client, method, _url(path) + "?one=1&two=2", parent_api.headers)
        error = assert_error_shape(response, 400)
        named = {i["field"] for i in error["details"]["issues"]}
        assert {"one", "two"} <= named, (method, path, named)


def test_older_query_parameters_are_refused_naming_their_replacement(operations, parent_api):
    for method, path, _ in operations:
        response = _send(
            parent_api.client, method, _url(path) + "?customerId=5", parent_api.headers
        )
        error = assert_error_shape(response, 400)
        assert "targetCustomerId" in error["message"], (method, path)


def test_every_body_refuses_an_unknown_field_by_name(operations, parent_api):
    with_body = [(m, p) for m, p, op in operations if "requestBody" in op]
    assert len(with_body) >= 6
    for method, path in with_body:
        response = _send(
            parent_api.client, method, _url(path), parent_api.headers, {"bogusField": 1, "foo": 2}
        )
        error = assert_error_shape(response, 400)
        assert error["code"] == "VALIDATION_ERROR"
        body_issues = {i["field"]: i for i in error["details"]["issues"] if i["in"] == "body"}
        assert {"bogusField", "foo"} <= set(body_issues), (method, path, error)
        assert "bogusField" in body_issues["bogusField"]["message"]


def test_every_body_refuses_the_old_enabled_flag_naming_status(operations, parent_api):
    for method, path, operation in operations:
        if "requestBody" not in operation:
            continue
        response = _send(
            parent_api.client, method, _url(path), parent_api.headers, {"enabled": True}
        )
        error = assert_error_shape(response, 400)
        issue = next(i for i in error["details"]["issues"] if i["field"] == "enabled")
        assert "`status`" in issue["message"], (method, path)


def test_every_operation_without_a_key_is_401_in_the_envelope(operations):
    for method, path, _ in operations:
        response = _send(Client(), method, _url(path), {})
        error = assert_error_shape(response, 401)
        assert error["code"] == "UNAUTHORIZED"


def test_a_method_a_path_does_not_serve_is_405_with_a_documented_code(operations, parent_api):
    served: dict[str, set[str]] = {}
    for method, path, _ in operations:
        served.setdefault(path, set()).add(method)
    for path, methods in served.items():
        other = next(m for m in ("patch", "delete", "put", "post", "get") if m not in methods)
        response = _send(parent_api.client, other, _url(path), parent_api.headers, {})
        error = assert_error_shape(response, 405)
        assert error["code"] == "BAD_REQUEST"
        assert set(response["Allow"].lower().split(", ")) == methods


def test_every_documented_error_status_has_a_documented_code(operations):
    for method, path, operation in operations:
        for status in operation["responses"]:
            if int(status) >= 400:
                assert int(status) in DOCUMENTED_CODES, (method, path, status)


def test_query_and_body_errors_have_the_same_keys(parent_api):
    query = parent_api.get("/billing/transactions", limit=0).json()["error"]
    body = parent_api.post(
        "/inventory-sources", {"name": "x", "endpointUrl": "https://a.example/mcp", "type": "video"}
    ).json()["error"]
    for error in (query, body):
        assert error["code"] == "VALIDATION_ERROR"
        assert [set(i) for i in error["details"]["issues"]] == [ISSUE_KEYS]
    assert query["details"]["issues"][0]["in"] == "query"
    assert query["field"] == "limit"
    assert body["details"]["issues"][0]["in"] == "body"
    assert body["field"] == "type"


def test_a_bad_value_and_an_unknown_parameter_are_reported_together(parent_api):
    error = parent_api.get("/billing/transactions", limit=0, bogus=1).json()["error"]
    assert [(i["in"], i["field"]) for i in error["details"]["issues"]] == [
        ("query", "limit"),
        ("query", "bogus"),
    ]
    assert "greater than or equal to 1" in error["details"]["issues"][0]["message"]
