"""The seller dashboard in a real browser, against a live server and the Stripe emulator."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from billing import ledger, mirror, onboarding
from billing.models import BalanceTransaction, ConnectAccount, OnboardingStatus
from tests.browser_fixtures import log_in

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


def shoot(page: Page, name: str) -> None:
    """Keep a screenshot of each page the run visits (CI keeps tests/artifacts/)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def serious_violations(page: Page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)"
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]


@pytest.fixture
def synced(busy_seller):
    mirror.sync_account(busy_seller, throttle=mirror.Throttle(1_000_000, sleep=lambda s: None))
    busy_seller.refresh_from_db()
    return busy_seller


def test_globex_completes_the_wizard_in_the_embedded_component(cast, new_page, emulated_stripe):
    page = new_page()
    log_in(page, "owner@globex.test")
    page.get_by_role("link", name="Billing setup").click()
    shoot(page, "setup-country")
    page.get_by_label("Country").select_option("US")
    page.get_by_role("button", name="Create Stripe account").click()
    expect(page.get_by_role("heading", name="Verify with Stripe")).to_be_visible()
    frame = page.frame_locator("stripe-connect-account-onboarding iframe")
    expect(frame.get_by_role("button", name="Submit and verify")).to_be_visible()
    shoot(page, "setup-verify-embedded")
    frame.get_by_role("button", name="Submit and verify").click()
    expect(page.get_by_test_id("setup-done")).to_be_visible()
    expect(page.get_by_test_id("setup-done")).to_contain_text("Payments enabled")
    shoot(page, "setup-done")
    connect = ConnectAccount.objects.get(billing_account__customer=cast.standalone)
    assert connect.onboarding_status == OnboardingStatus.COMPLETE


def test_the_same_through_the_hosted_link(cast, new_page, emulated_stripe):
    page = new_page()
    log_in(page, "owner@globex.test")
    page.goto(f"/c/{cast.standalone.pk}/billing/setup/")
    page.get_by_role("button", name="Create Stripe account").click()
    # Let the embedded form finish mounting and scroll down to the link, as a person would:
    # clicking while Playwright scrolls past the freshly loaded iframe can land in the frame.
    frame = page.frame_locator("stripe-connect-account-onboarding iframe")
    expect(frame.get_by_role("button", name="Submit and verify")).to_be_visible()
    page.get_by_test_id("hosted-link").scroll_into_view_if_needed()
    page.get_by_test_id("hosted-link").click()
    expect(page.get_by_role("heading", name="Stripe onboarding (emulated)")).to_be_visible()
    page.get_by_role("button", name="Submit and verify").click()
    expect(page.get_by_test_id("setup-done")).to_be_visible()
    assert ConnectAccount.objects.get().onboarding_status == OnboardingStatus.COMPLETE


def test_when_connect_js_cannot_load_the_page_offers_the_hosted_link(
    cast, new_page, emulated_stripe, settings, live_server
):
    settings.STRIPE_CONNECT_JS_URL = f"{live_server.url}/static/no-such-connect.js"
    page = new_page()
    log_in(page, "owner@globex.test")
    page.goto(f"/c/{cast.standalone.pk}/billing/setup/")
    page.get_by_role("button", name="Create Stripe account").click()
    fallback = page.locator("#onboarding-fallback")
    expect(fallback).to_be_visible()
    expect(fallback).to_contain_text("finish on Stripe")
    expect(page.get_by_test_id("hosted-link")).to_be_visible()


def test_a_child_user_is_told_who_can_set_up_billing(cast, new_page, emulated_stripe):
    page = new_page()
    log_in(page, "owner@sports.northwind.test")
    page.goto(f"/c/{cast.child.pk}/billing/setup/")
    expect(page.get_by_test_id("child-refusal")).to_contain_text("Only an admin of Northwind Media")
    expect(page.get_by_role("button", name="Create Stripe account")).to_have_count(0)


def test_a_parent_runs_the_wizard_for_a_child(cast, new_page, emulated_stripe):
    page = new_page()
    log_in(page, "owner@northwind.test")
    page.goto(f"/c/{cast.child.pk}/billing/setup/")
    expect(page.get_by_test_id("acting-customer")).to_have_text("Northwind Sports")
    page.get_by_role("button", name="Create Stripe account").click()
    expect(page.get_by_role("heading", name="Verify with Stripe")).to_be_visible()
    assert ConnectAccount.objects.get().billing_account.customer == cast.child


def test_two_tabs_on_two_children_stay_apart_across_pages(cast, new_page, synced):
    first = new_page()
    log_in(first, "owner@northwind.test")
    second = first.context.new_page()
    first.goto(f"/c/{cast.child.pk}/")
    second.goto(f"/c/{cast.parent.pk}/")
    first.get_by_role("link", name="Transactions", exact=True).click()
    second.get_by_role("link", name="Transactions", exact=True).click()
    expect(first.get_by_test_id("acting-customer")).to_have_text("Northwind Sports")
    expect(second.get_by_test_id("acting-customer")).to_have_text("Northwind Media")
    expect(second.get_by_test_id("txn-row").first).to_be_visible()
    # The child's tab shows its own share of the parent's account (none here), never the
    # parent's rows that the second tab shows.
    expect(first.get_by_test_id("through-parent")).to_contain_text(
        "Settled through Northwind Media"
    )
    expect(first.get_by_test_id("txn-row")).to_have_count(0)


def test_filter_the_ledger_and_download_csv(cast, new_page, synced):
    page = new_page()
    log_in(page, "owner@northwind.test")
    page.goto(f"/c/{cast.parent.pk}/billing/transactions/")
    all_rows = page.get_by_test_id("txn-row").count()
    page.get_by_label("Kind").select_option("sales")
    expect(page.get_by_test_id("txn-row")).to_have_count(3)
    assert all_rows > 3
    assert "kind=sales" in page.url  # htmx pushed the filter into the URL
    shoot(page, "transactions-filtered")
    with page.expect_download() as download:
        page.get_by_test_id("csv").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 3
    assert {(row["type"], row["kind"]) for row in rows} == {("charge", "Sale")}


def expect_ledger_of_kind(page: Page, kind: str, name: str) -> None:
    """The filter form and the rows under it tell the same story."""
    expect(page).to_have_url(re.compile(f"kind={kind}"))
    expect(page.get_by_label("Kind")).to_have_value(kind)
    count = BalanceTransaction.objects.filter(ledger.kind_condition(kind)).count()
    names = page.get_by_test_id("txn-row").locator("td:nth-child(2)")
    expect(names).to_have_text([name] * count)


def test_back_and_forward_keep_the_filters_and_the_ledger_in_step(cast, new_page, synced):
    page = new_page()
    log_in(page, "owner@northwind.test")
    page.goto(f"/c/{cast.parent.pk}/billing/transactions/")
    page.get_by_label("Kind").select_option("sales")
    expect_ledger_of_kind(page, "sales", "Sale")
    page.get_by_label("Kind").select_option("payouts")
    expect_ledger_of_kind(page, "payouts", "Payout")
    page.go_back()
    expect_ledger_of_kind(page, "sales", "Sale")
    page.go_forward()
    expect_ledger_of_kind(page, "payouts", "Payout")
    page.go_back()
    # Each step back is a request to the server; wait for it as a user would see it land.
    expect_ledger_of_kind(page, "sales", "Sale")
    page.go_back()
    expect(page.get_by_label("Kind")).to_have_value("")
    assert page.get_by_test_id("txn-row").count() > 3
    # Away to another page and back: the whole page again, not a bare piece of it.
    page.go_forward()
    expect_ledger_of_kind(page, "sales", "Sale")
    page.get_by_role("link", name="Payouts").click()
    page.wait_for_url("**/billing/payouts/")
    page.go_back()
    expect(page.get_by_role("heading", name="Transactions")).to_be_visible()
    expect_ledger_of_kind(page, "sales", "Sale")


def test_a_payout_adds_up(cast, new_page, synced):
    page = new_page()
    log_in(page, "owner@northwind.test")
    page.goto(f"/c/{cast.parent.pk}/billing/payouts/")
    shoot(page, "payouts")
    page.locator("table a").first.click()
    expect(page.get_by_test_id("payout-totals")).to_contain_text("Adds up to the payout")
    shoot(page, "payout-detail")


def test_a_failed_payout_explains_itself_and_leads_to_the_payout_that_carried_it(
    cast, new_page, seller, emulated_stripe
):
    emulated_stripe.control("POST", "charges", account=seller.stripe_id, amount=50_000)
    emulated_stripe.control(
        "POST", f"accounts/{seller.stripe_id}/payouts", fail_next="account_closed"
    )
    emulated_stripe.advance(days=4)  # the payout goes out and fails
    emulated_stripe.control("POST", f"accounts/{seller.stripe_id}/external_accounts")
    emulated_stripe.advance(days=3)  # a later payout carries the returned money
    mirror.sync_account(seller, throttle=mirror.Throttle(1_000_000, sleep=lambda s: None))
    page = new_page()
    log_in(page, "owner@northwind.test")
    page.goto(f"/c/{cast.parent.pk}/billing/transactions/")
    sale = page.get_by_test_id("txn-row").filter(has_text="Sale")
    expect(sale.get_by_test_id("payout-trace")).to_contain_text("failed; the money returned")
    sale.get_by_role("link", name=re.compile("payout of")).first.click()
    failure = page.get_by_test_id("payout-failure")
    expect(failure).to_contain_text("Your bank says this account has been closed")
    expect(failure).to_contain_text("came back to your balance")
    shoot(page, "payout-failed")
    assert serious_violations(page) == []
    page.get_by_test_id("carried-by").click()
    expect(page.get_by_test_id("payout-totals")).to_contain_text("Adds up to the payout")
    expect(page.get_by_test_id("payout-row").filter(has_text="Payout returned")).to_contain_text(
        "Returned from the failed payout of"
    )
    shoot(page, "payout-retry")


def test_a_member_cannot_reach_admin_actions(cast, new_page, synced):
    page = new_page()
    log_in(page, "viewer@northwind.test")
    expect(page.get_by_role("link", name="API keys")).to_have_count(0)
    expect(page.get_by_role("button", name="Open Stripe Express dashboard ↗")).to_have_count(0)
    response = page.goto(f"/c/{cast.parent.pk}/api-keys/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()


# The money pages (the phone ledger test walks them); every page every persona reaches, at
# both sizes, is checked in test_every_page_browser.py.
PAGES = {
    "overview": "",
    "transactions": "billing/transactions/",
    "payouts-list": "billing/payouts/",
    "invoices": "billing/invoices/",
    "pending": "billing/pending/",
    "fees": "billing/fees/",
    "setup": "billing/setup/",
    "children": "children/",
    "api-keys": "api-keys/",
}


def test_onboarding_states_read_the_same_on_setup_and_overview(cast, new_page, emulated_stripe):
    """One state at a time, as Globex's owner sees it: details due, Stripe verifying,
    restricted; the setup page and the overview say the same, each sentence once."""
    page = new_page()
    log_in(page, "owner@globex.test")
    setup, overview = f"/c/{cast.standalone.pk}/billing/setup/", f"/c/{cast.standalone.pk}/"
    page.goto(setup)
    page.get_by_role("button", name="Create Stripe account").click()
    connect = ConnectAccount.objects.get(billing_account__customer=cast.standalone)
    steps = [
        ("details-due", None, "Details due", True),
        ("verifying", "pending_verification", "Stripe is verifying", False),
        ("restricted", "partial", "Restricted", True),
    ]
    for name, action, badge, form in steps:
        if action:
            emulated_stripe.complete_onboarding(connect.stripe_id, action)
            onboarding.refresh(connect)
        for where, url in (("setup", setup), ("overview", overview)):
            page.set_viewport_size({"width": 1280, "height": 800})
            page.goto(url)
            expect(page.get_by_test_id("onboarding-badge")).to_have_text(badge)
            expect(page.get_by_test_id("onboarding-summary")).to_have_count(1)
            shoot(page, f"onboarding-{name}-{where}")
            page.set_viewport_size({"width": 390, "height": 844})
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            shoot(page, f"onboarding-{name}-{where}-phone")
        expect(page.locator("#onboarding")).to_have_count(0)  # the overview never embeds it
        page.goto(setup)
        expect(page.locator("#onboarding")).to_have_count(1 if form else 0)
        if form:
            expect(page.get_by_test_id("onboarding-due")).to_be_visible()
