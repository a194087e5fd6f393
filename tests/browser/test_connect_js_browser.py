"""The connect.js stand-in in a real browser: embedded onboarding, banner, load errors."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.local_http import QuietHandler, serve_in_background
from tests.stripe_emulator.helpers import express_account

pytestmark = pytest.mark.browser

PAGE = """<!doctype html><html><body>
<div id="mount"></div>
<script src="%(base)s/connect-js/v1.0/connect.js"></script>
<script>
  window.__log = [];
  const secrets = %(secrets)s;
  function mount(tag, secret) {
    const instance = window.StripeConnect.init({
      publishableKey: "pk_test_emulator",
      fetchClientSecret: async () => secret,
      appearance: {overlays: "dialog", variables: {colorPrimary: "#635BFF"}},
    });
    const el = instance.create(tag);
    el.setOnLoaderStart(() => window.__log.push("loader:" + tag));
    el.setOnLoadError(({error}) => window.__log.push("error:" + error.type));
    if (el.setOnExit) el.setOnExit(() => window.__log.push("exit"));
    el.setOnNotificationsChange(({total, actionRequired}) =>
      window.__log.push("notifications:" + total + ":" + actionRequired));
    document.getElementById("mount").appendChild(el);
    return instance;
  }
  secrets.forEach(([tag, secret]) => mount(tag, secret));
</script></body></html>"""


class PageServer:
    """Serves one HTML page from a different origin than the emulator, like the app does."""

    def __init__(self) -> None:
        self.html = ""
        server = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                body = server.html.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd, base_url = serve_in_background(Handler)
        self.url = f"{base_url}/"


@pytest.fixture
def page_server() -> Iterator[PageServer]:
    server = PageServer()
    yield server
    server.httpd.shutdown()


def _open(browser, page_server, base, secrets):
    page_server.html = PAGE % {"base": base, "secrets": json.dumps(secrets)}
    page = browser.new_page()
    page.goto(page_server.url)
    return page


def _session(client, account_id, *components):
    return client.v1.account_sessions.create(
        {"account": account_id, "components": {c: {"enabled": True} for c in components}}
    ).client_secret


def test_embedded_onboarding_completes_kyc_and_fires_exit(
    browser, page_server, stripe_client, stripe_emulator
):
    account = express_account(stripe_client)
    secret = _session(stripe_client, account.id, "account_onboarding")
    page = _open(browser, page_server, stripe_emulator.base_url, [["account-onboarding", secret]])
    frame = page.frame_locator("stripe-connect-account-onboarding iframe")
    frame.get_by_role("button", name="Submit and verify").click()
    page.wait_for_function("window.__log.includes('exit')", timeout=10_000)
    assert page.evaluate("window.__log")[0] == "loader:account-onboarding"
    account = stripe_client.v1.accounts.retrieve(account.id)
    assert account.details_submitted and account.charges_enabled
    page.close()


def test_reused_client_secret_fires_load_error(
    browser, page_server, stripe_client, stripe_emulator
):
    account = express_account(stripe_client)
    secret = _session(stripe_client, account.id, "account_onboarding")
    page = _open(
        browser,
        page_server,
        stripe_emulator.base_url,
        [["account-onboarding", secret], ["account-onboarding", secret]],
    )
    page.wait_for_function("window.__log.includes('error:authentication_error')", timeout=10_000)
    page.close()
    page = _open(
        browser,
        page_server,
        stripe_emulator.base_url,
        [["account-onboarding", "accs_bogus_secret"]],
    )
    page.wait_for_function("window.__log.includes('error:authentication_error')", timeout=10_000)
    page.close()


def test_notification_banner_shows_outstanding_requirements(
    browser, page_server, stripe_client, stripe_emulator
):
    account = express_account(stripe_client)
    stripe_emulator.complete_onboarding(account.id, "restrict")
    secret = _session(stripe_client, account.id, "notification_banner")
    page = _open(browser, page_server, stripe_emulator.base_url, [["notification-banner", secret]])
    banner = page.get_by_test_id("notification-banner")
    banner.wait_for(timeout=10_000)
    assert "individual.verification.document" in banner.inner_text()
    page.wait_for_function("window.__log.some(e => e.startsWith('notifications:'))", timeout=10_000)
    assert "notifications:1:1" in page.evaluate("window.__log")
    page.close()
