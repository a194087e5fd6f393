"""Django admin in a real browser under the Content-Security-Policy: its scripts still run
(the new_page fixture fails the test on any CSP violation in the console)."""

from __future__ import annotations

from playwright.sync_api import expect

from billing.models import BillingAccount


def test_staff_log_in_to_admin_and_use_the_fee_schedule_editor(cast, new_page):
    cast.staff.is_superuser = True
    cast.staff.save()
    account = BillingAccount.objects.create(customer=cast.parent)
    account.change_fee_schedule(platform_fee_percent="10", currency="USD", default_net_days=30)
    page = new_page()
    page.goto("/admin/login/")
    page.get_by_label("Email").fill("staff@example.com")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    page.goto(f"/admin/billing/billingaccount/{account.pk}/change/")
    page.get_by_label("Default net days").fill("45")
    page.get_by_role("button", name="Save").first.click()
    expect(page.locator(".messagelist")).to_contain_text("Default net days 30 days → 45 days")
    # Admin's own JavaScript (the changelist's select-all checkbox) runs.
    page.goto("/admin/storefront/user/")
    page.locator("#action-toggle").check()
    expect(page.locator(".action-counter")).to_contain_text("selected")


def test_the_api_docs_render_under_the_policy(db, new_page):
    page = new_page()
    page.goto("/api/v2/storefront/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Storefront Billing API")
