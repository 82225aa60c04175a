"""The dashboard in Chromium through the live server: a reviewer's path, and stored XSS.

Screenshots land in test-artifacts/screenshots/ (see conftest.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from sessions_app.inputs import EventInput
from sessions_app.models import AgentSession, Membership
from sessions_app.services.events import events_append
from tests.dashboard.conftest import make_session
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def reviewer(transactional_db):
    project = ProjectFactory(slug="acme", name="Acme support")
    user = UserFactory(username="rita")
    MembershipFactory(project=project, user=user, role=Membership.Role.EDITOR)
    make_session(project, "refund-1", turns=2, agent_name="support-bot", user_ref="u-1")
    make_session(project, "research-1", turns=1, agent_name="research-agent", user_ref="u-2")
    make_session(project, "long-1", turns=30, agent_name="support-bot", title="Long thread")
    make_session(project, "planner", turns=1, agent_name="planner", title="Trip planner")
    make_session(project, "planner-sub", parent="planner", agent_name="flights")
    make_session(
        project, "planner-sub-sub", parent="planner-sub", agent_name="prices", title="Price checker"
    )
    return user, project


def csp_errors(messages: list[str]) -> list[str]:
    return [m for m in messages if "Content Security Policy" in m]


def test_a_reviewer_finds_reads_and_exports_a_session(
    page, login, screenshot, reviewer, tmp_path: Path
):
    user, _project = reviewer
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))

    login(user)
    assert page.url.endswith("/p/acme/sessions/")
    assert page.locator("#session-rows tbody tr").count() == 6
    screenshot("dashboard-list")

    # Filter: htmx swaps the rows and the address bar keeps the state.
    page.select_option("select[name=agent]", "research-agent")
    page.wait_for_url("**agent=research-agent**")
    expect(page.locator("#session-rows tbody tr")).to_have_count(1)
    assert "question 0 from research-1" in page.inner_text("#session-rows")
    screenshot("dashboard-list-filtered")

    # Sort by cost through the column header.
    page.goto("/p/acme/sessions/")
    page.click("#session-rows th a:has-text('Cost')")
    page.wait_for_url("**sort=-cost_usd**")
    first_row = page.locator("#session-rows tbody tr").first.inner_text()
    assert "Long thread" in first_row

    # Open a session; expand a tool call and load its raw payload on click.
    page.click("a.session-link:has-text('question 0 from refund-1')")
    page.wait_for_selector("#transcript")
    call = page.locator("details.toolcall").first
    assert call.get_attribute("open") is None
    call.locator("> summary").click()
    assert call.get_attribute("open") is not None
    assert call.locator(".toolresult").inner_text().count("found 1 row") == 1
    call.locator("button:has-text('Raw payload')").click()
    page.wait_for_selector(".payload-box")
    # shown as a tree; the raw JSON sits beside it, behind the Raw toggle
    assert call.locator(".payload-box .jv-key", has_text="order").first.is_visible()
    assert '"order": 42' in call.locator(".payload-box").text_content()
    screenshot("dashboard-session")

    # Flag it with a note (an htmx POST carrying the CSRF header).
    page.check("input[name=review_status][value=flagged]")
    page.fill("textarea[name=review_note]", "refund looks wrong")
    page.click("#review button[type=submit]")
    page.wait_for_selector("#review .ok-text")
    assert AgentSession.objects.get(external_id="refund-1").review_status == "flagged"

    # Export: the browser downloads a JSON file of the session.
    with page.expect_download() as download_info:
        page.click("#session-actions a:has-text('JSON')")
    download = download_info.value
    assert download.suggested_filename == "refund-1.json"
    saved = tmp_path / "export.json"
    download.save_as(saved)
    assert len(json.loads(saved.read_text())["events"]) == 8

    # A long transcript loads its next page when scrolled to the end.
    long_session = AgentSession.objects.get(external_id="long-1")
    page.goto(f"/p/acme/sessions/{long_session.pk}/")
    assert page.locator("#ev-51").count() == 0
    page.locator("#transcript-more").scroll_into_view_if_needed()
    page.wait_for_selector("#ev-51", state="attached")
    page.locator("#transcript-more").scroll_into_view_if_needed()
    page.wait_for_selector("#ev-101", state="attached")
    screenshot("dashboard-transcript-scrolled")

    # The tree page: expand a node to load its children lazily.
    planner = AgentSession.objects.get(external_id="planner")
    page.goto(f"/p/acme/sessions/{planner.pk}/tree/")
    assert page.locator("text=Price checker").count() == 0
    page.click("button.twisty[data-expand]")
    page.wait_for_selector("text=Price checker")
    screenshot("dashboard-tree")

    assert csp_errors(console) == []


XSS = [
    "<script>window.__xss = 'script'; alert('script')</script>",
    "<img src=x onerror=\"window.__xss='img'; alert('img')\">",
    "[click me](javascript:alert('md-link')) <a href=\"javascript:alert('a')\">link</a>",
    "<svg onload=\"alert('svg')\"></svg><iframe src=\"javascript:alert('iframe')\"></iframe>",
]


@pytest.fixture
def hostile(transactional_db):
    project = ProjectFactory(slug="acme", name="Acme")
    user = UserFactory(username="rita")
    MembershipFactory(project=project, user=user, role=Membership.Role.ADMIN)
    make_session(
        project,
        "xss",
        turns=0,
        title=XSS[1],
        agent_name=XSS[0][:150],
        user_ref=XSS[3][:200],
        metadata={XSS[0]: XSS[1], "link": XSS[2]},
    )
    make_session(project, "xss-kid", parent="xss", turns=0, title=XSS[3][:400])
    events_append(
        project=project,
        session_external_id="xss",
        events=[
            EventInput(external_id="x1", source="user", role="user", content=XSS[0] + XSS[2]),
            EventInput(
                external_id="x2",
                source="llm",
                role="assistant",
                content=XSS[1],
                metadata={"note": XSS[3]},
            ),
            EventInput(
                external_id="x3",
                source="llm",
                type="tool_call",
                name=XSS[1][:200],
                tool_call_id="c1",
                content=json.dumps({"url": XSS[2], "html": XSS[1]}),
                parent_external_id="x2",
                payload={"arguments": {"x": XSS[0]}},
            ),
            EventInput(
                external_id="x4",
                source="tool",
                type="tool_result",
                role="tool",
                tool_call_id="c1",
                parent_tool_call_id="c1",
                content=XSS[3] * 40,
                is_error=True,
            ),
        ],
    )
    return user, AgentSession.objects.get(external_id="xss")


def test_stored_script_payloads_execute_nothing(page, login, screenshot, hostile):
    user, session = hostile
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    login(user)
    page.goto("/p/acme/sessions/")
    page.goto(f"/p/acme/sessions/{session.pk}/")
    for details in page.locator("details").all():
        details.locator("summary").first.click()
    # Every payload shown at once (a click each, from the page: a pointer click needs the button
    # in view, and each payload that opens moves the ones below it).
    page.eval_on_selector_all("button:has-text('Raw')", "all => all.forEach(b => b.click())")
    page.wait_for_selector(".payload-box")
    page.goto(f"/p/acme/sessions/{session.pk}/tree/")
    page.wait_for_load_state("networkidle")
    page.goto(f"/p/acme/sessions/{session.pk}/")
    page.wait_for_load_state("networkidle")
    screenshot("dashboard-xss")
    assert dialogs == []
    assert page.evaluate("window.__xss") is None
    # The payloads are shown as text, not dropped.
    assert "<script>window.__xss" in page.inner_text("#transcript")
    assert page.locator("a[href^='javascript:']").count() == 0
    assert page.locator("#transcript img, #transcript svg, #transcript iframe").count() == 0


def test_an_active_session_shows_new_events_without_reloading(page, login, reviewer):
    user, project = reviewer
    session = AgentSession.objects.get(external_id="refund-1")
    login(user)
    page.goto(f"/p/acme/sessions/{session.pk}/")
    page.wait_for_selector("#transcript-more.live")
    events_append(
        project=project,
        session_external_id="refund-1",
        events=[
            EventInput(
                external_id="late-1", source="user", role="user", content="Are you still there?"
            ),
        ],
    )
    # The tail polls every 5 s for events after the last seq shown.
    page.wait_for_selector("text=Are you still there?", timeout=12_000)
    assert page.locator("#ev-9").count() == 1 and page.locator("#transcript-more").count() == 1


def test_an_admin_creates_and_revokes_an_api_key(page, login, screenshot, transactional_db):
    from sessions_app.services.projects import api_key_authenticate

    project = ProjectFactory(slug="acme", name="Acme")
    admin = UserFactory(username="ada")
    MembershipFactory(project=project, user=admin, role=Membership.Role.ADMIN)
    page.goto("/")
    assert "/accounts/login/" in page.url
    screenshot("dashboard-login")
    login(admin)
    page.click("nav.mainnav a:has-text('Settings')")
    page.fill("#api-keys input[name=name]", "prod-agents")
    page.click("#api-keys button:has-text('Create key')")
    token = page.locator("#new-token").inner_text().strip()
    assert api_key_authenticate(token).name == "prod-agents"
    screenshot("dashboard-settings")
    page.on("dialog", lambda dialog: dialog.accept())  # hx-confirm asks before revoking
    page.click("#api-keys button:has-text('Revoke')")
    page.wait_for_selector("#api-keys .badge:has-text('revoked')")
    assert page.locator("#new-token").count() == 0  # the secret is never shown again
    assert api_key_authenticate(token) is None


def test_an_editor_deletes_a_tree_after_confirming(page, login, screenshot, reviewer):
    user, _project = reviewer
    planner = AgentSession.objects.get(external_id="planner")
    login(user)
    page.goto(f"/p/acme/sessions/{planner.pk}/")
    page.click("#session-actions a:has-text('Delete')")
    assert "2 descendant sessions" in page.inner_text(".confirm-box")
    screenshot("dashboard-delete")
    page.fill("input[name=confirm]", "planner")
    page.click("button:has-text('Delete permanently')")
    page.wait_for_url("**/p/acme/sessions/")
    assert not AgentSession.objects.filter(external_id__startswith="planner").exists()


def test_going_back_after_a_filter_shows_the_rows_undimmed(page, login, reviewer):
    """htmx snapshots the page for Back while the request's busy marks are on: the restored
    rows must not stay dimmed under a progress bar."""
    user, _project = reviewer
    login(user)
    page.select_option("select[name=agent]", "research-agent")
    page.wait_for_url("**agent=research-agent**")
    expect(page.locator("#session-rows tbody tr")).to_have_count(1)
    page.go_back()
    expect(page.locator("#session-rows tbody tr")).to_have_count(6)
    assert page.locator("[aria-busy]").count() == 0
    assert page.locator("#htmx-progress").is_hidden()


def test_saving_a_review_mark_updates_the_review_history_in_place(page, login, reviewer):
    user, project = reviewer
    session = AgentSession.objects.get(project=project, external_id="refund-1")
    login(user)
    page.goto(f"/p/acme/sessions/{session.pk}/")
    history = page.locator("#review-panel ol.history")
    expect(history).to_have_text("Nothing yet.")
    page.check("#review input[name=review_status][value=flagged]")
    page.fill("#review textarea[name=review_note]", "refund sent twice")
    page.click("#review button:has-text('Save review')")
    page.wait_for_selector("#review .ok-text")
    expect(history).to_contain_text("flagged")
    assert "Nothing yet." not in history.inner_text()
