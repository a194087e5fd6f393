from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser_fixtures import log_in


def test_a_parent_switches_to_a_child_from_the_header(cast, new_page):
    page = new_page()
    log_in(page, "owner@northwind.test")
    expect(page.get_by_test_id("acting-customer")).to_have_text("Northwind Media")
    page.get_by_test_id("switcher").locator("summary").click()
    page.get_by_role("link", name="Northwind Sports").click()
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


def test_the_switcher_is_a_disclosure_for_the_keyboard(cast, new_page):
    """Tab reaches it, Enter opens it, Tab walks its links, Escape closes it and gives focus back."""
    page = new_page()
    log_in(page, "owner@northwind.test")
    switcher = page.get_by_test_id("switcher")
    summary = switcher.locator("summary")
    assert page.locator("[role=menu], [role=menuitem]").count() == 0
    summary.focus()
    page.keyboard.press("Enter")
    expect(switcher).to_have_attribute("open", "")
    sports = switcher.get_by_role("link", name="Northwind Sports")
    expect(sports).to_be_visible()
    page.keyboard.press("Tab")  # the first customer: the acting one
    expect(switcher.get_by_role("link", name="Northwind Media")).to_be_focused()
    page.keyboard.press("Escape")
    expect(switcher).not_to_have_attribute("open", "")
    expect(sports).to_be_hidden()
    expect(summary).to_be_focused()
    # Opened again and followed with Enter.
    page.keyboard.press("Enter")
    for _ in range(3):
        page.keyboard.press("Tab")
    expect(sports).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("acting-customer")).to_have_text("Northwind Sports")


def test_the_first_tab_stop_skips_to_the_main_content(cast, new_page):
    page = new_page()
    log_in(page, "owner@northwind.test")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("Tab")  # the page's own first control, past header and tabs
    assert page.evaluate("document.activeElement.closest('main') !== null")


def test_get_logout_offers_the_button_that_logs_out(cast, new_page):
    page = new_page()
    log_in(page, "owner@northwind.test")
    response = page.goto("/logout/")
    assert response is not None and response.status == 200
    page.get_by_role("main").get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login/")
    assert page.goto(f"/c/{cast.parent.pk}/").url.endswith(f"/login/?next=/c/{cast.parent.pk}/")


def test_form_help_and_errors_are_read_with_their_field(cast, new_page):
    page = new_page()
    page.goto("/password/")
    page.get_by_label("Email").fill("owner@northwind.test")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/password/")
    page.get_by_label("Old password").fill("wrong")
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("New password confirmation").fill("other")
    page.get_by_role("main").get_by_role("button").click()
    old = page.get_by_label("Old password")
    expect(old).to_have_accessible_description(re.compile("incorrectly"))
    new = page.get_by_label("New password", exact=True)
    expect(new).to_have_accessible_description(re.compile("at least 8 characters"))
