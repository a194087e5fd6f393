"""Every page is served under a strict Content-Security-Policy and carries no inline code that
policy would refuse (the browser tests check the same in Chromium's console)."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from billing.models import BillingAccount


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {
        name: sources
        for name, *sources in (part.split() for part in header.split(";") if part.strip())
    }


class InlineCode(HTMLParser):
    """Inline scripts without a nonce, on* handlers, style attributes, inline <style>."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        self.problems += [f"<{tag} {name}=…>" for name in names if name.startswith("on")]
        if "style" in names:
            self.problems.append(f"<{tag} style=…>")
        if tag == "style" and "nonce" not in names:
            self.problems.append("<style> without a nonce")
        self._in_script = tag == "script" and "src" not in names and "nonce" not in names

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.problems.append(f"inline <script>: {data.strip()[:60]}")

    def handle_endtag(self, tag):
        self._in_script = False


def inline_code(response) -> list[str]:
    parser = InlineCode()
    parser.feed(response.content.decode())
    return parser.problems


def test_scripts_and_styles_come_from_the_site_only(cast, client_as):
    response = client_as(cast.parent_owner).get(f"/c/{cast.parent.pk}/")
    policy = directives(response)
    assert policy["default-src"] == ["'self'"]
    for directive in ("script-src", "style-src"):
        assert "'unsafe-inline'" not in policy[directive]
        assert "'unsafe-eval'" not in policy[directive]
        assert "*" not in policy[directive]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]


def test_connect_js_and_its_frames_are_allowed_from_the_emulator(cast, client_as, settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:12999"
    settings.STRIPE_CONNECT_JS_URL = "http://127.0.0.1:12999/connect-js/v1.0/connect.js"
    policy = directives(client_as(cast.parent_owner).get(f"/c/{cast.parent.pk}/billing/setup/"))
    for directive in ("script-src", "frame-src", "connect-src"):
        assert "http://127.0.0.1:12999" in policy[directive]


def test_with_real_stripe_the_policy_names_stripes_hosts(cast, client_as, settings):
    settings.STRIPE_API_BASE = ""
    settings.STRIPE_CONNECT_JS_URL = "https://connect-js.stripe.com/v1.0/connect.js"
    policy = directives(client_as(cast.parent_owner).get(f"/c/{cast.parent.pk}/"))
    assert {"https://connect-js.stripe.com", "https://js.stripe.com"} <= set(policy["script-src"])
    assert {"https://connect-js.stripe.com", "https://js.stripe.com"} <= set(policy["frame-src"])
    assert "https://*.stripe.com" in policy["connect-src"]
    assert not any("127.0.0.1" in source for sources in policy.values() for source in sources)


def test_the_500_pages_inline_style_is_allowed_by_its_hash():
    style = re.search(
        r"<style>(.*?)</style>", (Path(settings.BASE_DIR) / "templates/500.html").read_text(), re.S
    )
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    assert f"'sha256-{digest}'" in settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["style-src"]


@pytest.mark.parametrize(
    "path",
    [
        "",
        "storefront/",
        "billing/transactions/",
        "billing/payouts/",
        "billing/invoices/",
        "billing/pending/",
        "billing/fees/",
        "billing/setup/",
        "api-keys/",
    ],
)
def test_dashboard_pages_carry_no_inline_code(cast, client_as, path):
    response = client_as(cast.parent_owner).get(f"/c/{cast.parent.pk}/{path}")
    assert response.status_code == 200
    assert inline_code(response) == []


def test_the_new_api_key_box_copies_without_inline_handlers(cast, client_as):
    client = client_as(cast.parent_owner)
    response = client.post(
        f"/c/{cast.parent.pk}/api-keys/",
        {"name": "ERP", "scopes": ["billing:read"]},
        follow=True,
    )
    assert b"data-copy-from" in response.content
    assert inline_code(response) == []


def test_login_and_error_pages_carry_no_inline_code(db):
    client = Client()
    assert inline_code(client.get("/login/")) == []
    assert inline_code(client.get("/no-such-page/")) == []


def test_admin_pages_we_customised_carry_no_inline_code(cast, client_as):
    cast.staff.is_superuser = True
    cast.staff.save()
    account = BillingAccount.objects.create(customer=cast.parent)
    account.change_fee_schedule(platform_fee_percent="10", currency="USD", default_net_days=30)
    client = client_as(cast.staff)
    for url in (
        "/admin/",
        f"/admin/billing/billingaccount/{account.pk}/change/",
        f"/admin/billing/billingaccount/{account.pk}/history/",
        "/admin/billing/webhookevent/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Content-Security-Policy" in response, url
        assert inline_code(response) == [], url
