"""`/api/v2/storefront`, `/readiness` and `/inventory-sources`: envelope, activation, tenancy."""

from __future__ import annotations

import pytest
from django.test import Client

from storefront.models import ApiKey, InventorySource, Storefront, StorefrontStatus

ROOT = "/api/v2/storefront"
READINESS = "/api/v2/storefront/readiness"
SOURCES = "/api/v2/storefront/inventory-sources"
ALL = ["storefront:read", "storefront:write"]


def key_for(user, customer, scopes=ALL) -> str:
    return ApiKey.issue(user=user, customer=customer, name="k", scopes=scopes)[1]


class Api:
    """A client speaking JSON with one bearer key."""

    def __init__(self, raw_key: str) -> None:
        self.client = Client()
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"}

    def get(self, path, **params):
        return self.client.get(path, params, **self.headers)

    def delete(self, path):
        return self.client.delete(path, **self.headers)

    def send(self, method, path, body=None):
        return getattr(self.client, method)(
            path,
            data=body if body is not None else {},
            content_type="application/json",
            **self.headers,
        )

    def post(self, path, body=None):
        return self.send("post", path, body)

    def put(self, path, body=None):
        return self.send("put", path, body)


@pytest.fixture
def parent_api(cast) -> Api:
    return Api(key_for(cast.parent_owner, cast.parent))


@pytest.fixture
def stranger_api(cast) -> Api:
    return Api(key_for(cast.stranger, cast.other))


def data(response, status: int = 200):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error"] is None
    return body["data"]


def error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["data"] is None
    assert body["error"]["code"] == code
    return body["error"]


def a_source(**overrides):
    body = {
        "name": "CTV Sales Agent",
        "type": "SALES",
        "endpointUrl": "https://agent.example.com/mcp",
        "protocol": "MCP",
        "authenticationType": "NO_AUTH",
        "supportedBilling": ["operator"],
    }
    return {**body, **overrides}


# The storefront resource


def test_get_returns_the_auto_created_pending_storefront(cast, parent_api):
    storefront = data(parent_api.get(ROOT))
    assert storefront["platformId"] == "northwind-media"
    assert storefront["name"] == "Northwind Media"
    assert storefront["status"] == "PENDING"
    assert storefront["defaultCurrency"] is None
    assert storefront["customerId"] == cast.parent.pk


def test_the_path_with_a_trailing_slash_answers_too(parent_api):
    assert data(parent_api.get(ROOT + "/"))["platformId"] == "northwind-media"


def test_post_is_idempotent_and_returns_the_existing_storefront(cast, parent_api):
    first = data(parent_api.post(ROOT))
    second = data(
        parent_api.post(ROOT, {"platformId": "northwind-media", "name": "Northwind Media"})
    )
    assert first == second
    assert Storefront.objects.filter(customer=cast.parent).count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [({"name": "Other"}, "name"), ({"platformId": "northwind-ctv"}, "platformId")],
)
def test_post_asking_for_another_storefront_than_the_existing_one_is_a_conflict(
    cast, parent_api, body, field
):
    err = error(parent_api.post(ROOT, body), 409, "CONFLICT")
    assert err["field"] == field
    assert err["details"]["current"] == {"platformId": "northwind-media", "name": "Northwind Media"}
    assert Storefront.objects.get(customer=cast.parent).name == "Northwind Media"


def test_post_refuses_an_invalid_platform_id_even_when_the_storefront_exists(parent_api):
    err = error(parent_api.post(ROOT, {"platformId": "Not Valid!"}), 400, "VALIDATION_ERROR")
    assert err["field"] == "platformId"


def test_post_creates_a_missing_storefront_with_201(cast, parent_api):
    Storefront.objects.filter(customer=cast.parent).delete()
    created = data(parent_api.post(ROOT, {"platformId": "northwind-ctv"}), 201)
    assert created["platformId"] == "northwind-ctv"
    assert created["status"] == "PENDING"
    assert data(parent_api.post(ROOT))["platformId"] == "northwind-ctv"


def test_post_refuses_a_malformed_platform_id_and_creates_nothing(cast, parent_api):
    Storefront.objects.filter(customer=cast.parent).delete()
    err = error(parent_api.post(ROOT, {"platformId": "-Bad_Slug"}), 400, "VALIDATION_ERROR")
    assert err["field"] == "platformId"
    assert not Storefront.objects.filter(customer=cast.parent).exists()


def test_put_sets_name_and_default_currency(parent_api):
    updated = data(parent_api.put(ROOT, {"name": "Northwind CTV", "defaultCurrency": "EUR"}))
    assert updated["name"] == "Northwind CTV"
    assert updated["defaultCurrency"] == "EUR"


@pytest.mark.parametrize("code", ["usd", "US", "USDX", "XQZ", ""])
def test_put_refuses_a_currency_that_is_not_uppercase_iso_4217(parent_api, code):
    err = error(parent_api.put(ROOT, {"defaultCurrency": code}), 400, "VALIDATION_ERROR")
    assert err["field"] == "defaultCurrency"
    assert data(parent_api.get(ROOT))["defaultCurrency"] is None


def test_activation_while_blocked_is_a_409_listing_the_failing_checks(cast, parent_api):
    err = error(parent_api.put(ROOT, {"status": "ACTIVE"}), 409, "CONFLICT")
    failing = {check["id"] for check in err["details"]["checks"]}
    assert failing == {"inventory_sources", "agent_auth", "currency_confirmed"}
    assert all(check["isBlocker"] for check in err["details"]["checks"])
    assert err["details"]["status"] == "blocked"
    assert Storefront.objects.for_customer(cast.parent).status == StorefrontStatus.PENDING


def test_activation_succeeds_once_every_blocker_is_complete(cast, parent_api):
    data(parent_api.post(SOURCES, a_source()), 201)
    activated = data(parent_api.put(ROOT, {"defaultCurrency": "USD", "status": "ACTIVE"}))
    assert activated["status"] == "ACTIVE"


def test_disabling_is_always_allowed_and_never_back_to_pending(parent_api):
    assert data(parent_api.put(ROOT, {"status": "DISABLED"}))["status"] == "DISABLED"
    err = error(parent_api.put(ROOT, {"status": "PENDING"}), 409, "CONFLICT")
    assert err["field"] == "status"
    err = error(parent_api.put(ROOT, {"status": "LIVE"}), 400, "VALIDATION_ERROR")
    assert err["field"] == "status"
    assert err["details"]["issues"][0]["allowed"] == ["PENDING", "ACTIVE", "DISABLED"]


def test_readiness_lists_every_check_in_camel_case(parent_api):
    readiness = data(parent_api.get(READINESS))
    assert readiness["platformId"] == "northwind-media"
    assert readiness["status"] == "blocked"
    ids = [check["id"] for check in readiness["checks"]]
    assert ids == ["inventory_sources", "agent_auth", "currency_confirmed", "billing_setup"]
    check = readiness["checks"][0]
    assert set(check) >= {
        "id",
        "name",
        "description",
        "category",
        "status",
        "isBlocker",
        "actionLabel",
    }
    assert check["status"] in {"complete", "partial", "missing", "optional"}


def test_a_read_only_key_cannot_change_the_storefront(cast):
    api = Api(key_for(cast.parent_owner, cast.parent, scopes=["storefront:read"]))
    assert data(api.get(ROOT))["platformId"] == "northwind-media"
    error(api.put(ROOT, {"name": "x"}), 403, "FORBIDDEN")
    error(api.post(SOURCES, a_source()), 403, "FORBIDDEN")


def test_a_billing_only_key_cannot_read_the_storefront(cast):
    api = Api(key_for(cast.parent_owner, cast.parent, scopes=["billing:read"]))
    error(api.get(ROOT), 403, "FORBIDDEN")
    error(api.get(READINESS), 403, "FORBIDDEN")


def test_a_request_without_a_key_is_401(db):
    error(Client().get(ROOT), 401, "UNAUTHORIZED")


# Inventory sources


def test_create_returns_201_and_no_auth_sources_start_active(parent_api):
    source = data(parent_api.post(SOURCES, a_source()), 201)
    assert source["sourceId"] == "ctv-sales-agent"
    assert source["status"] == "ACTIVE"
    assert source["executionType"] == "AGENT"
    assert source["authConfigured"] is True
    assert source["supportedBilling"] == ["operator"]


def test_credentials_are_stored_but_never_echoed(cast, parent_api):
    secret = "sk-agent-very-secret"
    response = parent_api.post(
        SOURCES, a_source(authenticationType="API_KEY", auth={"apiKey": secret})
    )
    source = data(response, 201)
    assert source["authConfigured"] is True
    # Waits for the background check of its agent (tests/storefront/test_source_checks.py).
    assert source["status"] == "PENDING"
    assert secret not in response.content.decode()
    assert secret not in parent_api.get(SOURCES).content.decode()
    assert secret not in parent_api.get(f"{SOURCES}/ctv-sales-agent").content.decode()
    assert InventorySource.objects.get().credentials == {"apiKey": secret}


def test_a_source_needing_credentials_waits_in_pending_until_they_arrive(parent_api):
    source = data(parent_api.post(SOURCES, a_source(authenticationType="JWT")), 201)
    assert (source["status"], source["authConfigured"]) == ("PENDING", False)
    assert source["lastCheck"] == {"outcome": "NOT_CHECKED", "checkedAt": None, "error": None}
    err = error(parent_api.put(f"{SOURCES}/ctv-sales-agent", {"status": "ACTIVE"}), 409, "CONFLICT")
    assert "credentials" in err["message"]
    source = data(parent_api.put(f"{SOURCES}/ctv-sales-agent", {"auth": {"token": "jwt"}}))
    # The credential is there; ACTIVE comes when the agent answers with it.
    assert (source["status"], source["authConfigured"]) == ("PENDING", True)
    assert source["lastCheck"]["outcome"] == "QUEUED"
    err = error(parent_api.put(f"{SOURCES}/ctv-sales-agent", {"status": "ACTIVE"}), 409, "CONFLICT")
    assert "once its agent answers" in err["message"]


def test_the_lifecycle_never_goes_back_to_pending(parent_api):
    data(parent_api.post(SOURCES, a_source()), 201)
    path = f"{SOURCES}/ctv-sales-agent"
    assert data(parent_api.put(path, {"status": "DISABLED"}))["status"] == "DISABLED"
    assert data(parent_api.put(path, {"status": "ACTIVE"}))["status"] == "ACTIVE"
    err = error(parent_api.put(path, {"status": "PENDING"}), 409, "CONFLICT")
    assert "never goes back to PENDING" in err["message"]


def test_list_get_update_and_delete(parent_api):
    data(parent_api.post(SOURCES, a_source(sourceId="ctv", description="Main agent")), 201)
    data(parent_api.post(SOURCES, a_source(name="Signals", type="SIGNAL", protocol="A2A")), 201)
    listed = parent_api.get(SOURCES).json()
    assert [s["sourceId"] for s in listed["data"]] == ["ctv", "signals"]
    assert listed["meta"]["count"] == 2
    assert data(parent_api.get(f"{SOURCES}/ctv"))["description"] == "Main agent"
    updated = data(
        parent_api.put(f"{SOURCES}/ctv", {"supportedBilling": ["operator", "agent"], "name": "CTV"})
    )
    assert updated["supportedBilling"] == ["operator", "agent"]
    assert updated["name"] == "CTV"
    assert data(parent_api.delete(f"{SOURCES}/ctv")) == {"sourceId": "ctv", "deleted": True}
    error(parent_api.get(f"{SOURCES}/ctv"), 404, "NOT_FOUND")


def test_an_unknown_source_id_is_404_in_the_envelope(parent_api):
    error(parent_api.get(f"{SOURCES}/nope"), 404, "NOT_FOUND")
    error(parent_api.put(f"{SOURCES}/nope", {"name": "x"}), 404, "NOT_FOUND")
    error(parent_api.delete(f"{SOURCES}/nope"), 404, "NOT_FOUND")


def test_a_duplicate_source_id_is_a_conflict(parent_api):
    data(parent_api.post(SOURCES, a_source()), 201)
    err = error(parent_api.post(SOURCES, a_source()), 409, "CONFLICT")
    assert err["field"] == "sourceId"


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"type": "VIDEO"}, "type"),
        ({"protocol": "HTTP"}, "protocol"),
        ({"authenticationType": "PASSWORD"}, "authenticationType"),
        ({"executionType": "MANAGED_SALES_AGENT"}, "executionType"),
        ({"endpointUrl": "not a url"}, "endpointUrl"),
        ({"supportedBilling": ["agent", "barter"]}, "supportedBilling"),
        ({"name": ""}, "name"),
        ({"sourceId": "x" * 256}, "sourceId"),
        ({"description": "d" * 2001}, "description"),
    ],
)
def test_create_validates_each_field(parent_api, override, field):
    err = error(parent_api.post(SOURCES, a_source(**override)), 400, "VALIDATION_ERROR")
    # A list item is named by its index: `supportedBilling.1`.
    assert err["field"].split(".")[0] == field
    assert not InventorySource.objects.exists()


def test_a_missing_required_field_is_a_validation_error(parent_api):
    body = a_source()
    del body["endpointUrl"]
    err = error(parent_api.post(SOURCES, body), 400, "VALIDATION_ERROR")
    assert err["field"] == "endpointUrl"


# Tenancy


def test_another_customers_storefront_and_sources_are_never_visible(cast, parent_api, stranger_api):
    data(parent_api.post(SOURCES, a_source(sourceId="secret-agent")), 201)
    assert data(stranger_api.get(ROOT))["platformId"] == "initech"
    assert stranger_api.get(SOURCES).json()["data"] == []
    error(stranger_api.get(f"{SOURCES}/secret-agent"), 404, "NOT_FOUND")
    error(stranger_api.put(f"{SOURCES}/secret-agent", {"status": "DISABLED"}), 404, "NOT_FOUND")
    error(stranger_api.delete(f"{SOURCES}/secret-agent"), 404, "NOT_FOUND")
    assert InventorySource.objects.get().status == "ACTIVE"


def test_another_family_cannot_be_targeted(cast, stranger_api):
    err = error(stranger_api.get(ROOT, targetCustomerId=cast.parent.pk), 400, "VALIDATION_ERROR")
    assert err["field"] == "targetCustomerId"
    err = error(
        stranger_api.send("put", f"{ROOT}?targetCustomerId={cast.parent.pk}", {"name": "Pwned"}),
        400,
        "VALIDATION_ERROR",
    )
    assert Storefront.objects.for_customer(cast.parent).name == "Northwind Media"


def test_a_parent_acts_for_its_child_with_target_customer_id(cast, parent_api):
    target = f"?targetCustomerId={cast.child.pk}"
    assert data(parent_api.get(ROOT + target))["platformId"] == "northwind-sports"
    data(parent_api.post(SOURCES + target, a_source(sourceId="sports-agent")), 201)
    assert InventorySource.objects.get().storefront.customer == cast.child
    assert parent_api.get(SOURCES).json()["data"] == []
    assert (
        data(parent_api.put(ROOT + target, {"defaultCurrency": "GBP"}))["defaultCurrency"] == "GBP"
    )
    assert Storefront.objects.for_customer(cast.parent).default_currency is None


def test_a_child_cannot_act_for_its_parent(cast):
    child_api = Api(key_for(cast.child_owner, cast.child))
    assert data(child_api.get(ROOT))["platformId"] == "northwind-sports"
    error(child_api.get(f"{ROOT}?targetCustomerId={cast.parent.pk}"), 400, "VALIDATION_ERROR")
    error(
        child_api.post(f"{SOURCES}?targetCustomerId={cast.parent.pk}", a_source()),
        400,
        "VALIDATION_ERROR",
    )
    assert not InventorySource.objects.exists()


def test_a_refused_activation_changes_nothing_else(cast, parent_api):
    from storefront.models import Storefront

    body = {"name": "Renamed", "defaultCurrency": "EUR", "status": "ACTIVE"}
    error(parent_api.put(ROOT, body), 409, "CONFLICT")
    storefront = Storefront.objects.get(customer=cast.parent)
    assert storefront.name != "Renamed"
    assert storefront.default_currency != "EUR"
    assert storefront.status == "PENDING"


# Old lowercase enum values: 400 naming the field and the allowed values, once.


def test_an_old_lowercase_execution_type_is_a_validation_error_with_the_allowed_values(
    parent_api,
):
    err = error(parent_api.post(SOURCES, a_source(executionType="agent")), 400, "VALIDATION_ERROR")
    assert err["field"] == "executionType"
    assert err["details"]["issues"] == [
        {
            "in": "body",
            "field": "executionType",
            "message": err["message"],
            "allowed": ["AGENT"],
        }
    ]
    assert "uppercase" in err["message"] and "'AGENT'" in err["message"]
    assert not InventorySource.objects.exists()


def test_an_old_lowercase_source_status_is_a_validation_error_not_a_conflict(parent_api):
    source_id = data(parent_api.post(SOURCES, a_source()), 201)["sourceId"]
    response = parent_api.put(f"{SOURCES}/{source_id}", {"status": "active"})
    err = error(response, 400, "VALIDATION_ERROR")
    assert err["field"] == "status"
    assert err["details"]["issues"][0]["allowed"] == ["PENDING", "ACTIVE", "DISABLED"]
    assert len(err["details"]["issues"]) == 1


def test_an_illegal_transition_stays_a_conflict(parent_api):
    source_id = data(parent_api.post(SOURCES, a_source()), 201)["sourceId"]
    data(parent_api.put(f"{SOURCES}/{source_id}", {"status": "DISABLED"}))
    err = error(parent_api.put(f"{SOURCES}/{source_id}", {"status": "PENDING"}), 409, "CONFLICT")
    assert err["field"] == "status"


@pytest.mark.parametrize(
    ("body", "replacement"),
    [
        ({"enabled": True}, "`status`"),
        ({"plan": "basic"}, "`status`"),
        ({"publisherDomain": "example.com"}, "`platformId`"),
        ({"platformId": "other"}, "fixed"),
        ({"foo": 1}, "`foo`"),
    ],
)
def test_update_refuses_old_and_unknown_fields_and_changes_nothing(
    cast, parent_api, body, replacement
):
    before = data(parent_api.get(ROOT))
    err = error(parent_api.put(ROOT, {"name": "Renamed", **body}), 400, "VALIDATION_ERROR")
    assert err["field"] == next(iter(body))
    assert replacement in err["message"]
    assert data(parent_api.get(ROOT)) == before
