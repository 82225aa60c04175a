"""The interactive API docs in Chromium: served from our own static files under the site's
Content-Security-Policy, so they work on an install with no way out to the internet."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_the_api_docs_render_from_our_origin_under_the_policy(page, live_server, screenshot):
    elsewhere: list[str] = []
    page.on(
        "request",
        lambda request: (
            elsewhere.append(request.url)
            if urlparse(request.url).netloc != urlparse(live_server.url).netloc
            else None
        ),
    )
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))

    response = page.goto("/api/docs")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    expect(page.get_by_text("Sessionscope API").first).to_be_visible()
    page.get_by_text("Append events").first.click()
    expect(page.get_by_text("Example Value").first).to_be_visible()
    assert page.locator(".opblock").count() >= 15
    screenshot("api-docs")

    assert elsewhere == []
    assert not [text for text in console if "Content Security Policy" in text]
