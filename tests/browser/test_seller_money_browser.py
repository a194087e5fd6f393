"""Invoice search, one payout's CSV and a child's own activity, in a real browser."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from billing import invoicing, mirror
from billing.models import BalanceTransaction, Invoice, ItemKind, Payout
from storefront.models import Role
from tests.browser.test_dashboard_browser import serious_violations, shoot
from tests.browser_fixtures import log_in
from tests.factories import make_member

FAST = {"throttle": mirror.Throttle(1_000_000, sleep=lambda s: None)}
PHONE = {"width": 390, "height": 844}
SCREEN = {"width": 1280, "height": 800}


@pytest.fixture
def invoices(cast, busy_seller, emulated_stripe):
    """Northwind Media's paid invoices to Acme, plus an open one to a buyer of its child
    Northwind News (billed through Northwind Media)."""
    buyer = invoicing.buyer_for(busy_seller, reference="n1", name="Newsy Ads", seller=cast.sibling)
    invoicing.record_usage(
        busy_seller,
        buyer,
        usage_id="news-1",
        kind=ItemKind.PLAN_COST,
        description="News plan",
        currency="usd",
        amount=43_210,
    )
    invoicing.run_billing(busy_seller)
    mirror.sync_account(busy_seller, **FAST)
    return {
        "acme": list(Invoice.objects.filter(buyer__reference="b1").order_by("created")),
        "news": Invoice.objects.get(buyer=buyer),
    }


def test_search_invoices_by_number_in_any_case_and_share_the_url(cast, new_page, invoices):
    page = new_page(viewport=SCREEN)
    log_in(page, "owner@northwind.test")
    page.goto(f"/c/{cast.parent.pk}/billing/invoices/")
    rows = page.locator("#invoice-list tbody tr")
    expect(rows).to_have_count(4)
    target = invoices["acme"][1]
    box = page.get_by_role("searchbox", name="Search invoices")
    box.fill(target.number.lower())
    box.press("Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(target.number)
    expect(page).to_have_url(re.compile(f"q={re.escape(target.number.lower())}"))
    shoot(page, "invoices-search")
    # The URL is the search: opened afresh (a shared link), it shows the same.
    other = new_page(viewport=PHONE)
    log_in(other, "owner@northwind.test")
    other.goto(page.url)
    expect(other.get_by_role("searchbox", name="Search invoices")).to_have_value(
        target.number.lower()
    )
    expect(other.locator("#invoice-list tbody tr")).to_have_count(1)
    shoot(other, "invoices-search-phone")
    # By buyer and by amount, typed without pressing Enter: the list follows as one types.
    box.fill("newsy")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Newsy Ads")
    box.fill("432.10")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(invoices["news"].number)
    assert serious_violations(page) == []


def test_search_works_without_javascript(cast, new_page, invoices):
    page = new_page(viewport=SCREEN, java_script_enabled=False)
    log_in(page, "owner@northwind.test")
    page.goto(f"/c/{cast.parent.pk}/billing/invoices/")
    page.get_by_role("searchbox", name="Search invoices").fill("open")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"q=open"))
    expect(page.locator("#invoice-list tbody tr")).to_have_count(1)
    expect(page.locator("#invoice-list")).to_contain_text("Newsy Ads")


def test_download_one_payouts_csv(cast, new_page, invoices):
    payout = Payout.objects.filter(status="paid", reconciliation_status="completed").first()
    page = new_page(viewport=SCREEN)
    log_in(page, "owner@northwind.test")
    page.goto(f"/c/{cast.parent.pk}/billing/payouts/{payout.stripe_id}/")
    expect(page.get_by_test_id("payout-bank")).to_have_text("STRIPE TEST BANK •••• 6789")
    with page.expect_download() as download:
        page.get_by_test_id("payout-csv").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    ids = {row["id"] for row in csv.DictReader(io.StringIO(text))}
    expected = BalanceTransaction.objects.filter(payout_stripe_id=payout.stripe_id)
    assert ids == set(expected.carried_by_payouts().values_list("stripe_id", flat=True))
    assert ids


@pytest.mark.parametrize("viewport", [SCREEN, PHONE], ids=["screen", "phone"])
def test_a_childs_owner_sees_its_own_invoices_settled_through_the_parent(
    cast, new_page, invoices, viewport
):
    make_member(cast.sibling, Role.ADMIN, "owner@news.northwind.test")
    page = new_page(viewport=viewport)
    log_in(page, "owner@news.northwind.test")
    size = "phone" if viewport is PHONE else "screen"
    page.get_by_role("link", name="Invoices", exact=True).click()
    expect(page.get_by_test_id("through-parent")).to_contain_text(
        "Settled through Northwind Media’s Stripe account"
    )
    rows = page.locator("#invoice-list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Newsy Ads")
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    shoot(page, f"child-invoices-{size}")
    assert serious_violations(page) == []
    page.get_by_role("link", name="Payouts", exact=True).click()
    expect(page.get_by_test_id("through-parent")).to_contain_text("Northwind Media’s bank account")
    shoot(page, f"child-payouts-{size}")
    page.get_by_role("link", name="Pending items", exact=True).click()
    expect(page.get_by_test_id("through-parent")).to_be_visible()
    assert "Acme" not in page.content()
