"""The web shell: acting customer in the URL and header, the switcher, tenancy on pages."""

from __future__ import annotations

import re

import pytest


def switcher_names(html: str) -> list[str]:
    menu = html.split('<ul aria-label="Customers">', 1)[1].split("</ul>", 1)[0]
    return [re.sub(r"\s+", " ", name).strip() for name in re.findall(r"<a [^>]*>\s*([^<]+)", menu)]


def test_the_header_names_the_acting_customer(cast, client_as):
    html = client_as(cast.parent_owner).get(f"/c/{cast.child.pk}/").content.decode()
    assert re.search(r'data-testid="acting-customer">Northwind Sports<', html)


def test_parent_users_can_switch_to_each_child(cast, client_as):
    html = client_as(cast.parent_owner).get(f"/c/{cast.parent.pk}/").content.decode()
    assert switcher_names(html) == ["Northwind Media", "Northwind News", "Northwind Sports"]
    assert f'href="/c/{cast.child.pk}/"' in html
    # A disclosure of links, not an ARIA menu (which would promise arrow-key behaviour).
    assert 'role="menu' not in html


def test_the_switcher_keeps_the_current_page(cast, client_as):
    html = client_as(cast.parent_owner).get(f"/c/{cast.parent.pk}/api-keys/").content.decode()
    assert f'href="/c/{cast.child.pk}/api-keys/"' in html


def test_child_users_see_only_their_own_customer_and_no_menu(cast, client_as):
    html = client_as(cast.child_owner).get(f"/c/{cast.child.pk}/").content.decode()
    assert 'data-testid="acting-customer">Northwind Sports<' in html
    assert 'data-testid="switcher"' not in html
    assert "Northwind Media</a>" not in html


@pytest.mark.parametrize(
    ("user_name", "customer_name"),
    [
        ("child_owner", "parent"),
        ("child_owner", "sibling"),
        ("parent_owner", "standalone"),
        ("stranger", "child"),
        ("standalone_owner", "other"),
    ],
)
def test_another_tenants_pages_do_not_exist(cast, client_as, user_name, customer_name):
    client = client_as(getattr(cast, user_name))
    customer = getattr(cast, customer_name)
    for url in (f"/c/{customer.pk}/", f"/c/{customer.pk}/api-keys/"):
        response = client.get(url)
        assert response.status_code == 404
        assert customer.name not in response.content.decode()


def test_two_tabs_on_two_children_never_interfere(cast, client_as):
    client = client_as(cast.parent_owner)
    first = client.get(f"/c/{cast.child.pk}/").content.decode()
    second = client.get(f"/c/{cast.sibling.pk}/").content.decode()
    again = client.get(f"/c/{cast.child.pk}/").content.decode()
    assert 'data-testid="acting-customer">Northwind Sports<' in first
    assert 'data-testid="acting-customer">Northwind News<' in second
    assert 'data-testid="acting-customer">Northwind Sports<' in again


def test_staff_may_open_any_customer(cast, client_as):
    response = client_as(cast.staff).get(f"/c/{cast.other.pk}/")
    assert response.status_code == 200
    assert "platform staff" in response.content.decode()


def test_members_do_not_see_the_api_keys_tab(cast, client_as):
    html = client_as(cast.parent_viewer).get(f"/c/{cast.parent.pk}/").content.decode()
    assert "API keys" not in html


def test_html_404_for_people(db, client_as, cast):
    response = client_as(cast.parent_owner).get("/no-such-page/")
    assert response.status_code == 404
    assert "<html" in response.content.decode()


def described_by_missing(html: str) -> list[str]:
    ids = set(re.findall(r'\sid="([^"]+)"', html))
    refs = [ref for refs in re.findall(r'aria-describedby="([^"]*)"', html) for ref in refs.split()]
    assert refs, "the page should describe some field"
    return [ref for ref in refs if ref not in ids]


def test_field_help_and_errors_exist_where_aria_describedby_points(cast, client_as):
    client = client_as(cast.parent_owner)
    # Help texts and errors on every field.
    html = client.post(
        "/password/", {"old_password": "x", "new_password1": "a", "new_password2": "b"}
    ).content.decode()
    assert 'id="id_new_password1_helptext"' in html and 'id="id_old_password_error"' in html
    assert described_by_missing(html) == []
    html = client.post(f"/c/{cast.parent.pk}/api-keys/", {"name": ""}).content.decode()
    assert described_by_missing(html) == []
    html = client.get(f"/c/{cast.parent.pk}/notices/").content.decode()
    assert described_by_missing(html) == []


def test_every_page_starts_with_a_skip_link_to_main(cast, client_as):
    html = client_as(cast.parent_owner).get(f"/c/{cast.parent.pk}/").content.decode()
    body = html.split("<body", 1)[1]
    first_link = re.search(r"<a [^>]*>[^<]*</a>", body)
    assert first_link is not None
    assert 'href="#main"' in first_link.group(0) and "Skip to main content" in first_link.group(0)
    assert '<main id="main"' in html
