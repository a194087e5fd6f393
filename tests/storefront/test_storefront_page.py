"""The storefront page `/c/<id>/storefront/`: sources, checklist, currency, activation."""

from __future__ import annotations

import pytest

from storefront.models import InventorySource, SourceStatus, Storefront, StorefrontStatus

HTMX = {"HTTP_HX_REQUEST": "true"}


def page_url(customer, suffix: str = "") -> str:
    return f"/c/{customer.pk}/storefront/{suffix}"


def source_form(**overrides):
    return {
        "name": "CTV Sales Agent",
        "source_id": "",
        "type": "SALES",
        "endpoint_url": "https://ctv.example.com/mcp",
        "protocol": "MCP",
        "authentication_type": "NO_AUTH",
        "credential": "",
        "supported_billing": ["operator"],
        "description": "",
        **overrides,
    }


def add_source(customer, **fields):
    fields.setdefault("name", "CTV agent")
    fields.setdefault("endpoint_url", "https://ctv.example.com/mcp")
    fields.setdefault("authentication_type", "NO_AUTH")
    return InventorySource.create_for(Storefront.objects.for_customer(customer), **fields)


@pytest.fixture
def owner(cast, client_as):
    return client_as(cast.parent_owner)


def test_it_shows_status_checklist_and_forms_to_an_admin(cast, owner):
    response = owner.get(page_url(cast.parent))
    assert response.status_code == 200
    html = response.content.decode()
    assert "northwind-media" in html
    for name in ("Inventory sources", "Agent credentials", "Default currency", "Billing setup"):
        assert name in html
    assert "Add an inventory source" in html
    assert 'name="status" value="ACTIVE"' in html
    assert f'href="/c/{cast.parent.pk}/storefront/" aria-current="page">Storefront</a>' in html


def test_a_member_sees_it_read_only(cast, client_as):
    add_source(cast.parent)
    html = client_as(cast.parent_viewer).get(page_url(cast.parent)).content.decode()
    assert "CTV agent" in html
    assert "<form" not in html.split('id="storefront-body"')[1]


def test_a_member_cannot_change_anything(cast, client_as):
    viewer = client_as(cast.parent_viewer)
    assert viewer.post(page_url(cast.parent, "sources/"), source_form()).status_code == 403
    assert viewer.post(page_url(cast.parent, "status/"), {"status": "DISABLED"}).status_code == 403
    assert (
        viewer.post(page_url(cast.parent, "currency/"), {"default_currency": "USD"}).status_code
        == 403
    )
    assert not InventorySource.objects.exists()
    assert Storefront.objects.for_customer(cast.parent).status == StorefrontStatus.PENDING


def test_another_customers_page_does_not_exist_for_you(cast, client_as):
    stranger = client_as(cast.stranger)
    assert stranger.get(page_url(cast.parent)).status_code == 404
    assert stranger.post(page_url(cast.parent, "sources/"), source_form()).status_code == 404
    assert not InventorySource.objects.exists()


def test_a_source_of_another_customer_cannot_be_changed_through_your_own_url(cast, client_as):
    theirs = add_source(cast.other)
    response = client_as(cast.parent_owner).post(
        page_url(cast.parent, f"sources/{theirs.pk}/status/"), {"status": "DISABLED"}
    )
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == SourceStatus.ACTIVE


def test_adding_a_source_with_a_plain_post_redirects_back(cast, owner):
    response = owner.post(page_url(cast.parent, "sources/"), source_form(), follow=True)
    assert response.redirect_chain[-1][0] == page_url(cast.parent)
    assert "Added inventory source “CTV Sales Agent”" in response.content.decode()
    source = InventorySource.objects.get()
    assert (source.source_id, source.status, source.supported_billing) == (
        "ctv-sales-agent",
        SourceStatus.ACTIVE,
        ["operator"],
    )


def test_adding_a_source_with_htmx_swaps_the_body_with_a_fresh_checklist(cast, owner):
    response = owner.post(page_url(cast.parent, "sources/"), source_form(), **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="storefront-body"')
    assert "<html" not in html
    assert "CTV Sales Agent" in html
    assert "1 inventory source connected." in html


def test_an_invalid_source_re_renders_the_form_with_errors(cast, owner):
    response = owner.post(page_url(cast.parent, "sources/"), source_form(endpoint_url="nope"))
    assert response.status_code == 400
    assert "Enter a valid URL." in response.content.decode()
    add_source(cast.parent, name="CTV Sales Agent")
    response = owner.post(page_url(cast.parent, "sources/"), source_form(), **HTMX)
    assert response.status_code == 200
    assert "already has a source with id ctv-sales-agent" in response.content.decode()
    assert InventorySource.objects.count() == 1


def test_the_secret_is_never_rendered_back(cast, owner):
    secret = "agent-secret-123"
    response = owner.post(
        page_url(cast.parent, "sources/"),
        source_form(authentication_type="API_KEY", credential=secret),
        follow=True,
    )
    assert secret not in response.content.decode()
    assert InventorySource.objects.get().credentials == {"secret": secret}


def test_a_pending_source_gets_its_credential_and_a_check_of_its_agent(cast, owner):
    source = add_source(cast.parent, authentication_type="API_KEY")
    html = owner.get(page_url(cast.parent)).content.decode()
    assert "Credentials missing for: CTV agent." in html
    response = owner.post(
        page_url(cast.parent, f"sources/{source.pk}/credential/"), {"credential": "k"}, **HTMX
    )
    assert "Saved the credential" in response.content.decode()
    source.refresh_from_db()
    # The agent is checked in the background, after commit; then it goes ACTIVE
    # (tests/storefront/test_source_checks.py).
    assert (source.status, source.check_outcome) == (SourceStatus.PENDING, "QUEUED")


def test_sources_are_disabled_and_enabled_from_the_list(cast, owner):
    source = add_source(cast.parent)
    owner.post(page_url(cast.parent, f"sources/{source.pk}/status/"), {"status": "DISABLED"})
    source.refresh_from_db()
    assert source.status == SourceStatus.DISABLED
    response = owner.post(
        page_url(cast.parent, f"sources/{source.pk}/status/"), {"status": "PENDING"}, **HTMX
    )
    assert "never goes back to PENDING" in response.content.decode()
    owner.post(page_url(cast.parent, f"sources/{source.pk}/status/"), {"status": "ACTIVE"})
    source.refresh_from_db()
    assert source.status == SourceStatus.ACTIVE


def test_the_currency_form_accepts_lowercase_and_rejects_unknown_codes(cast, owner):
    owner.post(page_url(cast.parent, "currency/"), {"default_currency": "eur"})
    assert Storefront.objects.for_customer(cast.parent).default_currency == "EUR"
    response = owner.post(page_url(cast.parent, "currency/"), {"default_currency": "ZZZ"})
    assert response.status_code == 400
    assert "ZZZ is not an ISO 4217 currency code." in response.content.decode()
    assert Storefront.objects.for_customer(cast.parent).default_currency == "EUR"


def test_a_refused_activation_shows_each_blocker_with_a_link_to_fix_it(cast, owner):
    add_source(cast.parent, supported_billing=["agent"])
    response = owner.post(page_url(cast.parent, "status/"), {"status": "ACTIVE"})
    assert response.status_code == 409
    html = response.content.decode()
    refusal = html.split('data-testid="activation-refused"')[1].split("</section>")[0]
    assert "Default currency" in refusal
    assert "Billing setup" in refusal
    assert f'href="/c/{cast.parent.pk}/billing/setup/"' in refusal
    assert f'href="/c/{cast.parent.pk}/storefront/#currency"' in refusal
    assert "Inventory sources" not in refusal
    assert Storefront.objects.for_customer(cast.parent).status == StorefrontStatus.PENDING


def test_a_refused_activation_over_htmx_swaps_in_the_reasons(cast, owner):
    response = owner.post(page_url(cast.parent, "status/"), {"status": "ACTIVE"}, **HTMX)
    assert response.status_code == 200
    assert 'data-testid="activation-refused"' in response.content.decode()


def test_a_ready_storefront_activates_and_can_be_disabled(cast, owner):
    add_source(cast.parent)
    Storefront.objects.for_customer(cast.parent).set_default_currency("USD")
    response = owner.post(page_url(cast.parent, "status/"), {"status": "ACTIVE"}, follow=True)
    assert "Northwind Media is live." in response.content.decode()
    assert Storefront.objects.for_customer(cast.parent).status == StorefrontStatus.ACTIVE
    owner.post(page_url(cast.parent, "status/"), {"status": "DISABLED"})
    assert Storefront.objects.for_customer(cast.parent).status == StorefrontStatus.DISABLED


def test_a_parent_admin_manages_a_childs_storefront(cast, owner):
    owner.post(page_url(cast.child, "sources/"), source_form(name="Sports agent"))
    assert InventorySource.objects.get().storefront.customer == cast.child


def test_a_child_admin_cannot_reach_the_parents_storefront(cast, client_as):
    child = client_as(cast.child_owner)
    assert child.get(page_url(cast.child)).status_code == 200
    assert child.get(page_url(cast.parent)).status_code == 404
    assert child.post(page_url(cast.parent, "status/"), {"status": "DISABLED"}).status_code == 404


def test_changes_need_post(cast, owner):
    assert owner.get(page_url(cast.parent, "status/")).status_code == 405
    assert owner.get(page_url(cast.parent, "sources/")).status_code == 405
