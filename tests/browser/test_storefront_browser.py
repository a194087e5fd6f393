"""The storefront page in a real browser: add a source, read the checklist, go live."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from storefront.models import Storefront, StorefrontStatus
from tests.browser_fixtures import log_in

pytestmark = pytest.mark.browser


def test_an_owner_adds_a_source_follows_the_checklist_and_activates(cast, new_page):
    page = new_page()
    log_in(page, "owner@northwind.test")
    page.get_by_role("link", name="Storefront", exact=True).click()
    page.wait_for_url(f"**/c/{cast.parent.pk}/storefront/")
    checklist = page.get_by_test_id("readiness")
    expect(page.get_by_test_id("readiness-status")).to_have_text("blocked")
    expect(checklist.locator('[data-check="inventory_sources"]')).to_contain_text("missing")

    page.get_by_label("Name", exact=True).fill("CTV Sales Agent")
    page.get_by_label("Endpoint URL").fill("https://ctv.example.com/mcp")
    page.get_by_label("Authentication").select_option("NO_AUTH")
    page.get_by_label("operator").check()
    page.get_by_role("button", name="Add source").click()

    expect(page.get_by_test_id("notice")).to_have_text("Added inventory source “CTV Sales Agent”.")
    expect(page.get_by_role("row", name="CTV Sales Agent")).to_contain_text("Active")
    expect(checklist.locator('[data-check="inventory_sources"]')).to_contain_text("complete")
    expect(checklist.locator('[data-check="billing_setup"]')).to_contain_text("optional")

    # Still no currency: activation is refused, with the reason and a link to fix it.
    page.get_by_role("button", name="Activate").click()
    refusal = page.get_by_test_id("activation-refused")
    expect(refusal).to_contain_text("Default currency")
    expect(refusal.get_by_role("link", name="Set the default currency")).to_be_visible()
    expect(page.get_by_test_id("storefront-status")).to_have_text("Pending")

    page.get_by_label("Default currency").fill("usd")
    page.get_by_role("button", name="Save currency").click()
    expect(page.get_by_test_id("notice")).to_have_text("Default currency set to USD.")
    expect(page.get_by_test_id("readiness-status")).to_have_text("ready")

    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_test_id("notice")).to_have_text("Northwind Media is live.")
    expect(page.get_by_test_id("storefront-status")).to_have_text("Active")
    assert Storefront.objects.for_customer(cast.parent).status == StorefrontStatus.ACTIVE
