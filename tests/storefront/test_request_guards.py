"""Input no database can store, and API bodies of the wrong size, type or shape, are refused
with a clear 400/413/415, never a 500 (PostgreSQL refuses NUL in text; UTF-8 cannot encode
lone surrogates). CI runs this on PostgreSQL too."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from storefront.models import ApiKey, Storefront

ROOT = "/api/v2/storefront"
ALL = ["storefront:read", "storefront:write", "billing:read"]


@pytest.fixture
def bearer(cast) -> dict[str, str]:
    raw = ApiKey.issue(user=cast.parent_owner, customer=cast.parent, name="k", scopes=ALL)[1]
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def put_raw(bearer, body: str, content_type: str = "application/json", path: str = ROOT):
    return Client().put(path, data=body, content_type=content_type, **bearer)


def envelope_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["data"] is None and body["error"]["code"] == code and body["error"]["message"]
    return body["error"]


def storefront_name(cast) -> str:
    return Storefront.objects.get(customer=cast.parent).name


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "North\x00wind"}, "name"),
        ({"name": "North\ud800wind"}, "name"),
        ({"name": "\udfff"}, "name"),
        ({"na\x00me": "x"}, "na?me"),
    ],
)
def test_nul_and_lone_surrogates_in_a_json_body_are_a_validation_error(cast, bearer, body, field):
    before = storefront_name(cast)
    # json.dumps escapes both (\\u0000, \\ud800), as a client's JSON library would.
    error = envelope_error(put_raw(bearer, json.dumps(body)), 400, "VALIDATION_ERROR")
    assert error["field"] == field
    assert storefront_name(cast) == before


def test_a_nul_deep_in_a_billing_update_names_its_path(cast, bearer):
    body = {"fees": [{"name": "Ad\x00serving", "feePercent": 1}]}
    error = envelope_error(
        put_raw(bearer, json.dumps(body), path=f"{ROOT}/billing"), 400, "VALIDATION_ERROR"
    )
    assert error["field"] == "fees.0.name"


@pytest.mark.parametrize(
    ("url", "field"),
    [
        (f"{ROOT}/inventory-sources/agent%00one", "path"),
        (f"{ROOT}/billing/transactions?starting_after=txn_%00", "starting_after"),
        (f"{ROOT}/billing/invoices?starting_after=%00", "starting_after"),
        (f"{ROOT}?targetCustomerId=%00", "targetCustomerId"),
    ],
)
def test_a_nul_in_the_url_or_a_cursor_is_a_validation_error(cast, bearer, url, field):
    error = envelope_error(Client().get(url, **bearer), 400, "VALIDATION_ERROR")
    assert error["field"] == field


def test_a_body_over_the_limit_is_413(cast, bearer, settings):
    body = json.dumps({"name": "x" * (3 * 1024 * 1024)})
    error = envelope_error(put_raw(bearer, body), 413, "BAD_REQUEST")
    assert f"{settings.API_MAX_BODY_BYTES:,}" in error["message"]


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_a_body_that_is_not_json_is_415(cast, bearer, content_type):
    before = storefront_name(cast)
    response = put_raw(bearer, '{"name": "Renamed"}', content_type=content_type)
    envelope_error(response, 415, "BAD_REQUEST")
    assert storefront_name(cast) == before


def test_json_with_a_charset_or_a_json_suffix_is_accepted(cast, bearer):
    response = put_raw(
        bearer, '{"name": "Renamed"}', content_type="application/json; charset=utf-8"
    )
    assert response.status_code == 200, response.content
    assert storefront_name(cast) == "Renamed"


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ("[]", "an array"),
        ('[{"name": "X"}]', "an array"),
        ("null", "null"),
        ('"x"', "a string"),
        ("7", "a number"),
    ],
)
def test_a_body_that_is_not_an_object_is_a_validation_error(cast, bearer, body, kind):
    error = envelope_error(put_raw(bearer, body), 400, "VALIDATION_ERROR")
    assert kind in error["message"]


def test_malformed_json_is_a_bad_request(cast, bearer):
    envelope_error(put_raw(bearer, '{"name": '), 400, "BAD_REQUEST")


# Pages: the site's own 400 page, not a 500.


def test_a_nul_in_a_page_query_or_path_is_the_400_page(cast, client_as):
    client = client_as(cast.parent_owner)
    base = f"/c/{cast.parent.pk}/billing"
    for url in (
        f"{base}/transactions/?kind=%00",
        f"{base}/invoices/in%00_1/",
        f"{base}/payouts/?q=a%00",
    ):
        response = client.get(url)
        assert response.status_code == 400, url
        assert b"Bad request" in response.content


def test_a_nul_in_a_posted_form_is_the_400_page(cast, client_as):
    client = client_as(cast.parent_owner)
    response = client.post(f"/c/{cast.parent.pk}/storefront/currency/", {"currency": "US\x00"})
    assert response.status_code == 400
    response = Client().post("/login/", {"username": "owner@northwind.test\x00", "password": "x"})
    assert response.status_code == 400


def test_surrogate_bytes_in_urls_and_forms_are_never_a_500(cast, bearer, client_as):
    """UTF-8-encoded surrogates (ED A0 80) are invalid UTF-8: Django keeps them percent-encoded
    in paths and replaces them in query strings and forms, so they reach no query unstorable."""
    for url in (
        f"{ROOT}/inventory-sources/%ED%A0%80",
        f"{ROOT}/billing/transactions?starting_after=%ED%A0%80",
    ):
        assert Client().get(url, **bearer).status_code in (400, 404), url
    client = client_as(cast.parent_owner)
    base = f"/c/{cast.parent.pk}/billing"
    assert client.get(f"{base}/transactions/?kind=%ED%A0%80").status_code in (200, 400)
    assert client.get(f"{base}/invoices/%ED%A0%80/").status_code == 404
    response = client.post(
        f"/c/{cast.parent.pk}/storefront/currency/",
        "currency=%ED%A0%80",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code < 500
