from __future__ import annotations

from playwright.sync_api import expect

from tests.browser_fixtures import log_in


def test_a_parent_switches_to_a_child_from_the_header(cast, new_page):
    page = new_page()
    log_in(page, "owner@northwind.test")
    expect(page.get_by_test_id("acting-customer")).to_have_text("Northwind Media")
    page.get_by_test_id("switcher").locator("summary").click()
    page.get_by_role("menuitem", name="Northwind Sports").click()
    expect(page.get_by_test_id("acting-customer")).to_have_text("Northwind Sports")
    assert page.url.endswith(f"/c/{cast.child.pk}/")


def test_two_tabs_on_two_children_keep_their_own_customer(cast, new_page):
    first = new_page()
    log_in(first, "owner@northwind.test")
    second = first.context.new_page()
    first.goto(f"/c/{cast.child.pk}/api-keys/")
    second.goto(f"/c/{cast.sibling.pk}/api-keys/")
    # Creating a key in the first tab after the second tab switched must still use the first's customer.
    first.get_by_label("Name").fill("Sports ERP")
    first.get_by_role("button", name="Create key").click()
    expect(first.get_by_test_id("new-key")).to_be_visible()
    expect(first.get_by_test_id("acting-customer")).to_have_text("Northwind Sports")
    second.reload()
    expect(second.get_by_test_id("acting-customer")).to_have_text("Northwind News")
    from storefront.models import ApiKey

    assert ApiKey.objects.get(name="Sports ERP").customer == cast.child


def test_revoking_a_key_swaps_the_row_in_place(cast, new_page):
    from storefront.models import ApiKey

    ApiKey.issue(user=cast.parent_owner, customer=cast.parent, name="Old key", scopes=[])
    page = new_page()
    log_in(page, "owner@northwind.test")
    page.goto(f"/c/{cast.parent.pk}/api-keys/")
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("row", name="Old key").get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("row", name="Old key")).to_contain_text("revoked")
    assert ApiKey.objects.get(name="Old key").revoked_at is not None


def test_the_shell_fits_a_phone(cast, new_page):
    page = new_page(viewport={"width": 375, "height": 740})
    log_in(page, "owner@northwind.test")
    page.goto(f"/c/{cast.parent.pk}/api-keys/")
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    expect(page.get_by_test_id("acting-customer")).to_be_visible()
