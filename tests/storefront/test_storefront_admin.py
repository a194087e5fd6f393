"""Staff manage storefronts and inventory sources in Django admin, within the lifecycle rules."""

from __future__ import annotations

import pytest

from storefront.models import InventorySource, SourceStatus, Storefront, StorefrontStatus


@pytest.fixture
def staff(cast, client_as):
    cast.staff.is_superuser = True
    cast.staff.save()
    return client_as(cast.staff)


def add_source(customer, **fields):
    fields.setdefault("name", "CTV agent")
    fields.setdefault("endpoint_url", "https://ctv.example.com/mcp")
    fields.setdefault("authentication_type", "NO_AUTH")
    return InventorySource.create_for(Storefront.objects.for_customer(customer), **fields)


@pytest.mark.parametrize(
    ("url", "filters"),
    [
        (
            "/admin/storefront/storefront/",
            ["status__exact=PENDING", "default_currency__isempty=1"],
        ),
        (
            "/admin/storefront/inventorysource/",
            [
                "status__exact=ACTIVE",
                "type__exact=SALES",
                "protocol__exact=MCP",
                "authentication_type__exact=NO_AUTH",
            ],
        ),
    ],
)
def test_changelists_search_and_filter(cast, staff, url, filters):
    add_source(cast.parent)
    assert staff.get(url).status_code == 200
    assert "Northwind" in staff.get(url, {"q": "northwind"}).content.decode()
    for query in filters:
        assert staff.get(f"{url}?{query}&q=ctv").status_code == 200


def test_only_staff_reach_it(cast, client_as):
    response = client_as(cast.parent_owner).get("/admin/storefront/storefront/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_staff_add_a_source_whose_credential_is_never_shown(cast, staff):
    storefront = Storefront.objects.for_customer(cast.parent)
    response = staff.post(
        "/admin/storefront/inventorysource/add/",
        {
            "storefront": storefront.pk,
            "source_id": "ctv",
            "name": "CTV",
            "type": "SALES",
            "endpoint_url": "https://ctv.example.com/mcp",
            "protocol": "MCP",
            "authentication_type": "API_KEY",
            "supported_billing": '["operator", "agent"]',
            "description": "",
            "new_credential": "top-secret",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    source = InventorySource.objects.get(source_id="ctv")
    assert source.status == SourceStatus.ACTIVE
    assert source.supported_billing == ["operator", "agent"]
    page = staff.get(f"/admin/storefront/inventorysource/{source.pk}/change/").content.decode()
    assert "top-secret" not in page


def test_admin_refuses_a_duplicate_source_id(cast, staff):
    add_source(cast.parent, source_id="ctv")
    response = staff.post(
        "/admin/storefront/inventorysource/add/",
        {
            "storefront": Storefront.objects.for_customer(cast.parent).pk,
            "source_id": "ctv",
            "name": "Again",
            "type": "SALES",
            "endpoint_url": "https://ctv.example.com/mcp",
            "protocol": "MCP",
            "authentication_type": "NO_AUTH",
            "supported_billing": "[]",
        },
    )
    assert response.status_code == 200
    assert "already has a source with id ctv" in response.content.decode()
    assert InventorySource.objects.count() == 1


def test_the_activate_action_rechecks_readiness(cast, staff):
    storefront = Storefront.objects.for_customer(cast.parent)
    url = "/admin/storefront/storefront/"
    response = staff.post(
        url, {"action": "activate", "_selected_action": [storefront.pk]}, follow=True
    )
    assert "cannot go live yet" in response.content.decode()
    storefront.refresh_from_db()
    assert storefront.status == StorefrontStatus.PENDING

    add_source(cast.parent)
    storefront.set_default_currency("USD")
    staff.post(url, {"action": "activate", "_selected_action": [storefront.pk]})
    storefront.refresh_from_db()
    assert storefront.status == StorefrontStatus.ACTIVE
    staff.post(url, {"action": "disable", "_selected_action": [storefront.pk]})
    storefront.refresh_from_db()
    assert storefront.status == StorefrontStatus.DISABLED


def test_source_actions_follow_the_lifecycle(cast, staff):
    waiting = add_source(cast.parent, name="Waiting", authentication_type="JWT")
    open_ = add_source(cast.parent, name="Open")
    url = "/admin/storefront/inventorysource/"
    response = staff.post(url, {"action": "enable", "_selected_action": [waiting.pk]}, follow=True)
    assert "credentials" in response.content.decode()
    staff.post(url, {"action": "disable", "_selected_action": [waiting.pk, open_.pk]})
    waiting.refresh_from_db()
    open_.refresh_from_db()
    assert (waiting.status, open_.status) == (SourceStatus.DISABLED, SourceStatus.DISABLED)
    staff.post(url, {"action": "enable", "_selected_action": [open_.pk]})
    open_.refresh_from_db()
    assert open_.status == SourceStatus.ACTIVE


def test_the_storefront_page_in_admin_shows_readiness(cast, staff):
    storefront = Storefront.objects.for_customer(cast.parent)
    page = staff.get(f"/admin/storefront/storefront/{storefront.pk}/change/").content.decode()
    assert "blocked" in page
    assert "Default currency: missing (blocks)" in page
