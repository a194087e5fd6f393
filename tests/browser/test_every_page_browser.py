"""Every page every persona reaches, on a laptop (1280×800) and a phone (390×844): nothing
scrolls sideways, axe finds no serious or critical violation, every aria-describedby names an
element that exists, and a screenshot of each lands in tests/artifacts/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page

from billing import mirror
from billing.models import NotificationKind
from tests.browser_fixtures import log_in

from .test_dashboard_browser import serious_violations, shoot

SIZES = {"laptop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}

# The demo's personas, as the test cast has them (tests/conftest.py).
PERSONAS = {
    "owner": "owner@northwind.test",  # ADMIN of the parent
    "viewer": "viewer@northwind.test",  # read-only MEMBER of the parent
    "child-owner": "owner@sports.northwind.test",  # ADMIN of a child on the parent's billing
    "globex": "owner@globex.test",  # standalone, nothing set up
    "staff": "staff@example.com",  # platform staff, no membership
}

MISSING_DESCRIPTIONS = """() => {
  const missing = [];
  for (const attr of ["aria-describedby", "aria-labelledby", "aria-controls"]) {
    for (const el of document.querySelectorAll(`[${attr}]`)) {
      for (const id of el.getAttribute(attr).split(/\\s+/).filter(Boolean)) {
        if (!document.getElementById(id)) missing.push(`${el.tagName.toLowerCase()}#${el.id} ${attr}=${id}`);
      }
    }
  }
  return missing;
}"""


@pytest.fixture
def world(cast, busy_seller, emulated_stripe, stripe_client):
    """The busy parent after a refund and a chargeback (a dispute to answer, and its notice)."""
    on_seller = {"stripe_account": busy_seller.stripe_id}
    charges = stripe_client.v1.charges.list({"limit": 10}, on_seller).data
    stripe_client.v1.refunds.create({"charge": charges[0].id, "amount": 5_000}, on_seller)
    emulated_stripe.control("POST", f"charges/{charges[1].id}/dispute", reason="fraudulent")
    mirror.sync_account(busy_seller, throttle=mirror.Throttle(1_000_000, sleep=lambda s: None))
    assert cast.parent_owner.notifications.filter(kind=NotificationKind.DISPUTE_OPENED).exists()
    return cast


def width_overflow(page: Page) -> int:
    return page.evaluate("Math.max(0, document.documentElement.scrollWidth - window.innerWidth)")


def pages_of(page: Page) -> dict[str, str]:
    """The pages the logged-in persona reaches from the header and the section tabs, plus the
    first payout and invoice they list, by name → path."""
    links = page.locator(".tabs a, .usermenu a").evaluate_all(
        "links => links.map(a => [a.textContent.trim(), new URL(a.href).pathname])"
    )
    # "Notices 2 unread" → notices
    found = {
        re.sub(r"\W+", "-", re.sub(r"\d.*", "", name).lower()).strip("-"): path
        for name, path in links
    }
    found.setdefault("logout", "/logout/")
    for listing, detail in (("payouts", "payout-detail"), ("invoices", "invoice-detail")):
        if listing in found:
            page.goto(found[listing])
            first = page.locator("main table tbody a").first
            if first.count():
                found[detail] = first.evaluate("a => new URL(a.href).pathname")
    return found


def check(page: Page, shot: str, problems: dict[str, list[str]]) -> None:
    page.wait_for_load_state("networkidle")
    shoot(page, shot)
    found = []
    if overflow := width_overflow(page):
        found.append(f"{overflow}px wider than the screen")
    found += [f"aria reference to nothing: {m}" for m in page.evaluate(MISSING_DESCRIPTIONS)]
    found += serious_violations(page)
    if found:
        problems[shot] = found


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("persona", PERSONAS)
def test_every_page_fits_reads_and_is_captured(world, new_page, persona, size):
    page = new_page(viewport=SIZES[size])
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    log_in(page, PERSONAS[persona])
    paths = pages_of(page)
    expected = {"overview", "transactions", "payouts", "invoices", "notices", "password", "logout"}
    assert expected <= set(paths), paths
    problems: dict[str, list[str]] = {}
    for name, path in paths.items():
        if name == "admin":
            continue  # Django's own admin: tests/browser/test_admin_browser.py
        response = page.goto(path)
        assert response is not None and response.status == 200, (name, path)
        check(page, f"{size}-{persona}-{name}", problems)
    assert problems == {}
    assert errors == []


@pytest.mark.parametrize("size", SIZES)
def test_the_pages_before_logging_in_fit_and_read(db, new_page, size):
    page = new_page(viewport=SIZES[size])
    problems: dict[str, list[str]] = {}
    page.goto("/login/")
    check(page, f"{size}-anonymous-login", problems)
    page.get_by_label("Email").fill("nobody@example.com")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    page.locator(".form-errors").wait_for()
    check(page, f"{size}-anonymous-login-refused", problems)
    page.goto("/logout/")
    check(page, f"{size}-anonymous-logout", problems)
    assert problems == {}
