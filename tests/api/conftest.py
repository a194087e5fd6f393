"""Fixtures for the REST API tests: keys for the cast, a bearer client, provisioned sellers."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.test import Client

from billing import onboarding
from billing.models import BillingAccount, ConnectAccount
from storefront import access
from storefront.models import ApiKey, Customer, User

BASE = "/api/v2/storefront"


class Api:
    """A test client that sends one API key as `Authorization: Bearer …`."""

    def __init__(self, raw_key: str) -> None:
        self.raw_key = raw_key
        self.client = Client()
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"}

    def _url(self, path: str, params: dict[str, Any] | None) -> str:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        return f"{BASE}{path}" + (f"?{urlencode(query)}" if query else "")

    def get(self, path: str, **params: Any):
        return self.client.get(self._url(path, params), **self.headers)

    def post(self, path: str, body: Any = None, **params: Any):
        data = "" if body is None else json.dumps(body)
        return self.client.post(
            self._url(path, params), data=data, content_type="application/json", **self.headers
        )

    def put(self, path: str, body: Any = None, **params: Any):
        return self.client.put(
            self._url(path, params),
            data=json.dumps(body if body is not None else {}),
            content_type="application/json",
            **self.headers,
        )


def assert_ok(response, status: int = 200) -> Any:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"] is None
    return body["data"]


def assert_error(response, status: int, code: str, field: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["data"] is None
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    if field is not None:
        assert body["error"].get("field") == field
    return body["error"]


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_as(cast):
    """`api_as(user, customer=None, scopes=None)` → an `Api` with a new key; by default the
    key carries every scope the user's role on `customer` allows."""

    def make(user: User, customer: Customer | None = None, scopes: list[str] | None = None) -> Api:
        acting = access.resolve(user, customer.pk if customer else None)
        if scopes is None:
            scopes = [str(scope) for scope in acting.allowed_scopes()]
        _, raw = ApiKey.issue(user=user, customer=acting.customer, name="test", scopes=scopes)
        return Api(raw)

    return make


@pytest.fixture
def parent_api(cast, api_as) -> Api:
    return api_as(cast.parent_owner, cast.parent)


@pytest.fixture
def staff_api(cast, api_as) -> Api:
    return api_as(cast.staff, cast.parent)


@pytest.fixture
def onboarded_parent(cast, emulated_stripe) -> ConnectAccount:
    """Northwind Media provisioned on the emulator and fully onboarded."""
    connect, _ = onboarding.provision(access.resolve(cast.parent_owner, cast.parent.pk))
    emulated_stripe.complete_onboarding(connect.stripe_id)
    return onboarding.refresh(connect)


def local_connect(customer: Customer, stripe_id: str, **fields: Any) -> ConnectAccount:
    """A Connect account row written straight into our tables (no Stripe), for read tests."""
    account = BillingAccount.objects.open_for(customer)
    return ConnectAccount.objects.create(
        billing_account=account, stripe_id=stripe_id, country="US", **fields
    )
