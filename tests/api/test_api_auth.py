"""Bearer authentication, the error envelope and `targetCustomerId` on the REST API."""

from __future__ import annotations

import pytest
from django.test import Client

from storefront.models import ApiKey

WHOAMI = "/api/v2/storefront/whoami"


def bearer(raw: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def parent_key(cast):
    return ApiKey.issue(
        user=cast.parent_owner, customer=cast.parent, name="k", scopes=["billing:read"]
    )[1]


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["data"] is None
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


def test_it_requires_an_authorization_header(db):
    error = assert_error(Client().get(WHOAMI), 401, "UNAUTHORIZED")
    assert "Authorization" in error["message"]


def test_it_rejects_an_unknown_key(db):
    assert_error(
        Client().get(WHOAMI, **bearer("scope3_" + "a" * 32 + "_nope")), 401, "UNAUTHORIZED"
    )


def test_it_rejects_a_non_bearer_scheme(parent_key):
    response = Client().get(WHOAMI, HTTP_AUTHORIZATION=f"Basic {parent_key}")
    assert_error(response, 401, "UNAUTHORIZED")


def test_it_rejects_a_revoked_key(cast, parent_key):
    ApiKey.objects.get().revoke()
    assert_error(Client().get(WHOAMI, **bearer(parent_key)), 401, "UNAUTHORIZED")


def test_a_session_login_is_not_an_api_credential(cast, client_as):
    assert_error(client_as(cast.parent_owner).get(WHOAMI), 401, "UNAUTHORIZED")


def test_it_answers_in_the_envelope_and_records_use(cast, parent_key):
    response = Client().get(WHOAMI, **bearer(parent_key))
    assert response.status_code == 200
    body = response.json()
    assert body["error"] is None
    assert body["data"]["email"] == "owner@northwind.test"
    assert body["data"]["actingCustomer"] == {
        "id": cast.parent.pk,
        "name": "Northwind Media",
        "company": "",
        "customerType": "PARENT",
    }
    assert ApiKey.objects.get().last_used_at is not None


def test_a_parent_key_may_target_its_child(cast, parent_key):
    response = Client().get(WHOAMI, {"targetCustomerId": cast.child.pk}, **bearer(parent_key))
    assert response.status_code == 200
    assert response.json()["data"]["actingCustomer"]["id"] == cast.child.pk


@pytest.mark.parametrize("target", ["standalone", "other"])
def test_a_parent_key_may_not_target_another_family(cast, parent_key, target):
    response = Client().get(
        WHOAMI, {"targetCustomerId": getattr(cast, target).pk}, **bearer(parent_key)
    )
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert error["field"] == "targetCustomerId"


def test_a_child_key_may_not_target_its_parent_or_sibling(cast):
    _, raw = ApiKey.issue(
        user=cast.child_owner, customer=cast.child, name="k", scopes=["billing:read"]
    )
    for target in (cast.parent, cast.sibling):
        response = Client().get(WHOAMI, {"targetCustomerId": target.pk}, **bearer(raw))
        assert_error(response, 400, "VALIDATION_ERROR")


def test_a_key_is_bound_to_its_customer_even_if_its_user_belongs_elsewhere(cast):
    from storefront.models import Membership, Role

    Membership.objects.create(user=cast.parent_owner, customer=cast.standalone, role=Role.ADMIN)
    _, raw = ApiKey.issue(user=cast.parent_owner, customer=cast.parent, name="k", scopes=[])
    response = Client().get(WHOAMI, {"targetCustomerId": cast.standalone.pk}, **bearer(raw))
    assert_error(response, 400, "VALIDATION_ERROR")


def test_a_key_loses_access_when_its_user_loses_the_membership(cast, parent_key):
    cast.parent_owner.memberships.all().delete()
    assert_error(Client().get(WHOAMI, **bearer(parent_key)), 400, "VALIDATION_ERROR")


def test_a_malformed_target_customer_id_is_a_validation_error(cast, parent_key):
    response = Client().get(WHOAMI, {"targetCustomerId": "abc"}, **bearer(parent_key))
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert error["field"] == "targetCustomerId"


def test_unknown_api_paths_answer_in_the_envelope(db):
    assert_error(Client().get("/api/v2/storefront/nope"), 404, "NOT_FOUND")


def test_wrong_method_answers_in_the_envelope(parent_key):
    response = Client().post(WHOAMI, **bearer(parent_key))
    assert response.status_code == 405
    error = assert_error(response, 405, "BAD_REQUEST")
    assert "GET" in error["message"]
    assert response["Allow"] == "GET"


def test_the_openapi_document_describes_bearer_auth(db):
    response = Client().get("/api/v2/storefront/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v2/storefront/whoami" in spec["paths"]
    assert any(s.get("scheme") == "bearer" for s in spec["components"]["securitySchemes"].values())
