"""Browser tests: Debian's Chromium driven by Playwright through pytest-django's live server.

Screenshots go to test-artifacts/screenshots/ (not committed): look at them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make between
# page actions are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


# Module scope, not session: while Playwright's sync API is running it owns an event loop in the
# main thread, and tests collected after the browser tests call asyncio.run().
@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        from tests.conftest import require

        require(False, "needs Debian's chromium at /usr/bin/chromium")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server) -> Iterator:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    in_flight: set = set()
    page.on("request", lambda request: in_flight.add(request))
    page.on("requestfinished", lambda request: in_flight.discard(request))
    page.on("requestfailed", lambda request: in_flight.discard(request))
    yield page
    # A request the test did not wait for (an htmx refresh after its last check) finishes before
    # the database is flushed: on SQLite the server thread's open read locks the flush's DELETE.
    deadline = time.monotonic() + 10
    while in_flight and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    context.close()


@pytest.fixture
def screenshot(page):
    """Save a full-page screenshot under test-artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def login(page):
    """Log a user in through the real login form (password from tests/factories.py)."""

    def do(user, password: str = "pw-for-tests-1") -> None:
        page.goto("/accounts/login/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")

    return do
