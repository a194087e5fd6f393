"""Real-browser fixtures (a pytest plugin for every test package): Playwright driving Debian's Chromium against pytest-django's live server.

`playwright install` cannot download browsers here, so we launch the system Chromium.
"""

from __future__ import annotations

import os
import shutil

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

# Generous waits: CI machines have two cores shared by the browser, server and emulator.
expect.set_options(timeout=15_000)

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # This machine's network is closed: without these Chromium keeps dialling Google.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Browser:
    """One Chromium per test process: Playwright's sync API allows one instance per thread."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install Debian's chromium (make test does, as root)."
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser: Browser, live_server):
    """`new_page(viewport=...)` → a Page in a fresh context (its own cookies), closed afterwards.

    Every test fails if the browser refused anything under the Content-Security-Policy.
    """
    contexts = []
    violations: list[str] = []

    def watch(page: Page) -> None:
        page.on(
            "console",
            lambda message: (
                violations.append(f"{page.url}: {message.text}")
                if "Content Security Policy" in message.text
                else None
            ),
        )

    def make(**context_options) -> Page:
        context = browser.new_context(base_url=live_server.url, **context_options)
        context.set_default_timeout(20_000)
        context.on("page", watch)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
    assert violations == [], "the page broke its Content-Security-Policy"


def log_in(page: Page, email: str, password: str = "pw") -> None:
    page.goto("/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/c/*/")
