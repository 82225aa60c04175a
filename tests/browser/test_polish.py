"""Payloads, times and polish in Chromium: the JSON viewer and copy, the zone switch, the
keyboard and its help overlay, dark mode, visible focus, the htmx progress bar."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from sessions_app.inputs import EventInput, UsageInput
from sessions_app.models import AgentSession, Membership
from sessions_app.services.events import events_append
from sessions_app.services.sessions import session_upsert
from tests.dashboard.conftest import make_session
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def reader(transactional_db):
    project = ProjectFactory(slug="acme", name="Acme support")
    user = UserFactory(username="rita")
    MembershipFactory(project=project, user=user, role=Membership.Role.VIEWER)
    make_session(project, "s-1", turns=2, agent_name="support-bot")
    session_upsert(
        project=project,
        external_id="rich",
        fields={"agent_name": "research-agent", "state": {"step": 3, "notes": ["a", "b"]}},
    )
    result = {"hits": [{"title": f"Paper {n}", "year": 2020 + n % 5} for n in range(60)]}
    events_append(
        project=project,
        session_external_id="rich",
        events=[
            EventInput(
                external_id="q",
                source="user",
                role="user",
                content="Find papers on retrieval",
                timestamp=datetime(2026, 3, 4, 9, 5, 6, tzinfo=UTC),
            ),
            EventInput(
                external_id="a",
                source="llm",
                role="assistant",
                content="## Plan\n\n1. **Search** the index\n2. Rank with `bm25`",
                timestamp=datetime(2026, 3, 4, 9, 5, 8, tzinfo=UTC),
            ),
            EventInput(
                external_id="c",
                source="llm",
                type="tool_call",
                name="search",
                tool_call_id="call-1",
                parent_external_id="a",
                content=json.dumps({"query": "retrieval", "filters": {"year": [2020, 2024]}}),
                timestamp=datetime(2026, 3, 4, 9, 5, 9, tzinfo=UTC),
            ),
            EventInput(
                external_id="r",
                source="tool",
                type="tool_result",
                role="tool",
                tool_call_id="call-1",
                parent_tool_call_id="call-1",
                content=json.dumps(result),
                timestamp=datetime(2026, 3, 4, 9, 5, 10, tzinfo=UTC),
            ),
        ],
    )
    return user, AgentSession.objects.get(external_id="rich")


def test_expand_and_copy_a_json_value(page, login, screenshot, reader):
    user, session = reader
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    login(user)
    page.goto(f"/p/acme/sessions/{session.pk}/")
    # Markdown renders, and the raw toggle shows its source.
    assert page.locator("#ev-2 .content.md h2").inner_text() == "Plan"
    page.click("#ev-2 [data-toggle-view]")
    assert page.locator("#src-2").is_visible() and "## Plan" in page.inner_text("#src-2")
    page.click("#ev-2 [data-toggle-view]")
    # Open the tool call: its arguments are a tree; copy one value.
    page.click("#ev-3 > summary")
    args = page.locator("#args-3")
    assert args.locator(".jv-key", has_text="filters").is_visible()
    leaf = args.locator(".jv-leaf", has_text="retrieval")
    leaf.hover()
    leaf.locator(".jv-copy").click()
    assert page.evaluate("navigator.clipboard.readText()") == "retrieval"
    # The long result loads on open, lazily, as a tree with its items collapsed below depth 2.
    assert page.locator("#result-4-raw").count() == 0
    page.click("#ev-4 details.lazy > summary")
    page.wait_for_selector("#content-4 .jv")
    hits = page.locator("#content-4 details.jv-node").nth(1)
    # an open container hides its count; the count is there for when it is closed
    assert "60 items" in hits.locator("summary").first.text_content()
    first_hit = hits.locator("details.jv-node").first
    assert first_hit.get_attribute("open") is None
    first_hit.locator("summary").first.click()
    assert first_hit.locator(".jv-key", has_text="title").is_visible()
    # Copy the whole value from its box.
    page.click("#content-4 .jbox-tools [data-copy]")
    assert json.loads(page.evaluate("navigator.clipboard.readText()"))["hits"][0]["year"] == 2020
    # The state, shown when opened.
    page.click(".state-box > summary")
    page.wait_for_selector("#session-state-value .jv")
    assert page.locator("#session-state-value .jv-key", has_text="notes").is_visible()
    screenshot("polish-json-viewer")


def test_switch_the_time_zone(browser, live_server, reader):
    user, session = reader
    context = browser.new_context(
        viewport={"width": 1400, "height": 900}, base_url=live_server.url, timezone_id="Asia/Tokyo"
    )
    page = context.new_page()
    try:
        page.goto("/accounts/login/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", "pw-for-tests-1")
        page.click("button[type=submit]")
        page.goto(f"/p/acme/sessions/{session.pk}/")
        stamp = page.locator("#ev-1 time[data-dt]")
        assert stamp.inner_text() == "2026-03-04 09:05:06 UTC"
        page.select_option("#tz-choice", "local")
        assert stamp.inner_text() == "2026-03-04 18:05:06 GMT+9"
        # The choice sticks across pages and applies to times loaded later.
        page.goto("/p/acme/sessions/")
        assert "GMT+9" in page.locator("#session-rows time[data-dt]").first.inner_text()
        assert "GMT+9" in page.locator("#session-rows time[data-rel]").first.get_attribute("title")
        page.screenshot(path="test-artifacts/screenshots/polish-local-time.png", full_page=True)
        page.keyboard.press("t")
        assert page.locator("#session-rows time[data-dt]").first.inner_text().endswith(" UTC")
    finally:
        context.close()


def test_use_the_keyboard_help_overlay_and_go_to_sessions(page, login, screenshot, reader):
    user, session = reader
    login(user)
    page.goto(f"/p/acme/sessions/{session.pk}/")
    page.evaluate(
        "window.sessionscopeShortcuts.register("
        "{keys: 'j', description: 'Next event', group: 'Transcript', handler: () => {}})"
    )
    page.keyboard.press("?")
    overlay = page.locator("#help-overlay")
    assert overlay.is_visible()
    text = overlay.inner_text()
    assert "Show this help" in text and "Sessions list" in text and "Next event" in text
    # The transcript's own keys are listed too (from #transcript-nav's data-shortcuts).
    assert "Next error" in text and "Go to event number" in text
    screenshot("polish-help-overlay")
    page.keyboard.press("Escape")
    assert not overlay.is_visible()
    # Keys typed in a field are text, not shortcuts.
    page.goto("/p/acme/sessions/")
    page.fill("input[name=q]", "g")
    page.keyboard.press("s")
    assert page.locator("#help-overlay").is_visible() is False
    page.locator("input[name=q]").press("Escape")
    page.goto(f"/p/acme/sessions/{session.pk}/")
    page.keyboard.press("g")
    page.keyboard.press("s")
    page.wait_for_url("**/p/acme/sessions/")


def test_dark_mode_follows_the_system(page, login, screenshot, reader):
    user, session = reader
    login(user)
    page.emulate_media(color_scheme="dark")
    page.goto(f"/p/acme/sessions/{session.pk}/")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    panel = page.evaluate(
        "getComputedStyle(document.querySelector('.session-head')).backgroundColor"
    )
    assert background == "rgb(15, 20, 27)" and panel == "rgb(23, 29, 38)"
    screenshot("polish-dark-session")
    page.goto("/p/acme/sessions/")
    screenshot("polish-dark-list")
    page.emulate_media(color_scheme="light")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(246, 247, 249)"


def test_a_focused_control_is_visible(page, login, screenshot, reader):
    user, session = reader
    login(user)
    page.goto(f"/p/acme/sessions/{session.pk}/")
    button = page.locator("#ev-1 .payload-btn")
    assert page.evaluate("(el) => getComputedStyle(el).opacity", button.element_handle()) == "0"
    button.focus()
    # focus() from a script is not keyboard focus: tab onto it as a keyboard user would.
    page.locator("#ev-1 .msg-tools [data-copy]").focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.className")
    assert "payload-btn" in focused
    style = page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [s.opacity, s.outlineStyle, s.outlineWidth]; })()"
    )
    assert style == ["1", "solid", "2px"]
    screenshot("polish-focus")


def test_a_filter_shows_the_progress_bar_while_loading(page, login, reader):
    user, _session = reader
    login(user)
    page.goto("/p/acme/sessions/")
    page.evaluate(
        "window.__sawBar = false; document.addEventListener('htmx:beforeSend', () => {"
        " window.__sawBar = !document.getElementById('htmx-progress').hidden; });"
    )
    page.select_option("select[name=agent]", "support-bot")
    page.wait_for_url("**agent=support-bot**")
    assert page.evaluate("window.__sawBar") is True
    page.wait_for_selector("#htmx-progress[hidden]", state="attached")


def test_the_live_tail_updates_the_header_rollups(page, login, reader):
    user, session = reader
    login(user)
    page.goto(f"/p/acme/sessions/{session.pk}/")
    page.wait_for_selector("#transcript-more.live")
    events = page.locator("#session-stats .rollup dd").first
    assert events.inner_text() == "4"
    events_append(
        project=session.project,
        session_external_id="rich",
        events=[
            EventInput(external_id="late", source="user", role="user", content="Any news?"),
            EventInput(external_id="late-2", source="llm", role="assistant", content="Yes."),
        ],
    )
    # The tail polls every 5 s; the header reloads once it has brought the events (bounds
    # with room for a loaded CI machine).
    page.wait_for_selector("text=Any news?", timeout=20_000)
    expect(events).to_have_text("6", timeout=10_000)
    assert "just now" in page.inner_text("#session-stats") or "s ago" in page.inner_text(
        "#session-stats"
    )


@pytest.fixture
def timed(reader):
    """The reader's project with a session of timed model and tool calls, a long unbroken token,
    a wide code block and a long tool call id: what pushed a phone's page sideways."""
    user, session = reader
    start = datetime(2026, 3, 4, 10, 0, 0, tzinfo=UTC)
    events = [
        EventInput(
            external_id="t-u",
            source="user",
            role="user",
            content="Look at https://example.com/" + "abcdefghij" * 30,
            timestamp=start,
        ),
        EventInput(
            external_id="t-a",
            source="llm",
            role="assistant",
            content="Code:\n\n```\nx = 1  # " + "a-long-line " * 40 + "\n```",
            timestamp=start + timedelta(seconds=3),
            usage=UsageInput(model="gpt-4o-mini", prompt_tokens=900, completion_tokens=100),
            duration_ms=2800,
        ),
        EventInput(
            external_id="t-c",
            source="llm",
            type="tool_call",
            name="lookup_order",
            tool_call_id="call_Demo-" + "x" * 60,
            parent_external_id="t-a",
            content=json.dumps({"order": "o-" + "9" * 120}),
            timestamp=start + timedelta(seconds=3),
        ),
        EventInput(
            external_id="t-r",
            source="tool",
            type="tool_result",
            role="tool",
            name="lookup_order",
            tool_call_id="call_Demo-" + "x" * 60,
            parent_tool_call_id="call_Demo-" + "x" * 60,
            content=json.dumps({"status": "shipped", "token": "Z" * 200}),
            timestamp=start + timedelta(seconds=1277),
            duration_ms=1_274_000,
        ),
    ]
    events_append(project=session.project, session_external_id="timed", events=events)
    return user, AgentSession.objects.get(external_id="timed")


def test_a_phone_sized_window_does_not_scroll_sideways(browser, live_server, timed):
    """At 390 px the top bar wraps, messages wrap or scroll inside themselves, and wide tables
    scroll in their own box: the page itself is no wider than the window."""
    user, session = timed
    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live_server.url)
    page = context.new_page()
    try:
        page.goto("/accounts/login/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", "pw-for-tests-1")
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        width = "document.documentElement.scrollWidth"
        page.goto("/p/acme/sessions/")
        assert page.evaluate(width) <= 394
        assert page.locator(".topbar .account button", has_text="Log out").is_visible()
        page.screenshot(path="test-artifacts/screenshots/polish-list-390.png", full_page=True)
        page.goto(f"/p/acme/sessions/{session.pk}/")
        page.wait_for_load_state("networkidle")
        assert page.evaluate(width) <= 394
        page.screenshot(path="test-artifacts/screenshots/polish-session-390.png", full_page=True)
        # The timeline's labels are a model's or a tool's name: they keep their case (the
        # page's .label is small caps), and latencies read in seconds and minutes.
        label = page.locator("#timeline text.label").first
        assert label.text_content() == "gpt-4o-mini · 2.8 s"
        assert label.evaluate("(el) => getComputedStyle(el).textTransform") == "none"
        assert page.inner_text("#timeline .turn h3").endswith("· 21m 17s")
    finally:
        context.close()
