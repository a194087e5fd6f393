"""Every money page on a phone (375 px wide): nothing makes the page scroll sideways, and the
ledger still shows each row's amount, fee and net."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from billing import mirror
from billing.models import BalanceTransaction, Invoice, Payout
from tests.browser_fixtures import log_in

from .test_dashboard_browser import PAGES, shoot

PHONE = {"width": 375, "height": 800}


@pytest.fixture
def eventful(busy_seller, emulated_stripe, stripe_client):
    """The busy seller after a refund and a chargeback: negative months and long figures."""
    on_seller = {"stripe_account": busy_seller.stripe_id}
    charges = stripe_client.v1.charges.list({"limit": 10}, on_seller).data
    stripe_client.v1.refunds.create({"charge": charges[0].id, "amount": 5_000}, on_seller)
    emulated_stripe.control("POST", f"charges/{charges[1].id}/dispute", reason="fraudulent")
    mirror.sync_account(busy_seller, throttle=mirror.Throttle(1_000_000, sleep=lambda s: None))
    busy_seller.refresh_from_db()
    return busy_seller


def page_width_overflow(page: Page) -> int:
    """How far the page scrolls sideways (0 when it fits the screen)."""
    return page.evaluate("Math.max(0, document.documentElement.scrollWidth - window.innerWidth)")


def on_screen(locator: Locator) -> bool:
    """Inside the screen's width: not scrolled away to the right inside its table."""
    box = locator.bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]


def test_no_money_page_scrolls_sideways_on_a_phone(cast, new_page, eventful):
    page = new_page(viewport=PHONE)
    log_in(page, "owner@northwind.test")
    payout = Payout.objects.filter(connect_account=eventful).order_by("-created").first()
    invoice = Invoice.objects.filter(connect_account=eventful).exclude(number="").first()
    assert payout is not None and invoice is not None
    paths = {
        **PAGES,
        "payout-detail": f"billing/payouts/{payout.stripe_id}/",
        "invoice-detail": f"billing/invoices/{invoice.number}/",
    }
    overflowing = {}
    for name, path in paths.items():
        response = page.goto(f"/c/{cast.parent.pk}/{path}")
        assert response is not None and response.status == 200, name
        page.wait_for_load_state("networkidle")
        shoot(page, f"phone-{name}")
        if overflow := page_width_overflow(page):
            overflowing[name] = overflow
    assert overflowing == {}


def test_the_ledger_on_a_phone_shows_amount_fee_and_net_of_every_row(cast, new_page, eventful):
    page = new_page(viewport=PHONE)
    log_in(page, "owner@northwind.test")
    page.goto(f"/c/{cast.parent.pk}/billing/transactions/")
    rows = page.get_by_test_id("txn-row")
    expect(rows.first).to_be_visible()
    shoot(page, "phone-transactions-fees")
    assert page_width_overflow(page) == 0
    by_id = {t.stripe_id: t for t in BalanceTransaction.objects.filter(connect_account=eventful)}
    assert rows.count() == min(25, len(by_id))
    charged = 0
    for index in range(rows.count()):
        row = rows.nth(index)
        txn = by_id[row.get_attribute("data-txn")]
        for testid, amount in (("phone-amount", txn.amount), ("phone-fee", txn.fee)):
            cell = row.get_by_test_id(testid)
            expect(cell).to_be_visible()
            expect(cell).to_contain_text(f"{abs(amount) // 100:,}.{abs(amount) % 100:02d}")
            assert on_screen(cell), (testid, txn.stripe_id)
        assert on_screen(row.locator("td.net strong"))
        charged += txn.fee != 0
    assert charged  # some rows do carry a fee
