"""Share links, bulk actions and saved views in Chromium through the live server.

Screenshots land in test-artifacts/screenshots/ (see conftest.py).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from sessions_app.models import AgentSession, Membership
from sessions_app.services.reviews import session_review_set
from sessions_app.services.sharing import share_link_create
from tests.dashboard.conftest import make_session
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def team(transactional_db):
    project = ProjectFactory(slug="acme", name="Acme support")
    user = UserFactory(username="rita")
    MembershipFactory(project=project, user=user, role=Membership.Role.EDITOR)
    main = make_session(project, "refund-1", turns=2, agent_name="support-bot", title="Refund")
    make_session(project, "other-1", turns=1, agent_name="support-bot", title="Other customer")
    make_session(project, "research-1", turns=1, agent_name="research-agent")
    session_review_set(session=main, status="flagged", note="internal: check refund", user=user)
    return user, project, main


@pytest.fixture
def stranger(browser, live_server):
    """A second browser with no account and no cookies."""
    context = browser.new_context(viewport={"width": 1100, "height": 800}, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_a_share_link_opened_logged_out_shows_the_transcript_and_nothing_else_until_revoked(
    page, login, screenshot, team, stranger
):
    user, _project, main = team
    console: list[str] = []
    stranger.on("console", lambda m: console.append(m.text))
    login(user)
    page.goto(f"/p/acme/sessions/{main.pk}/")
    page.click("text=Share…")
    page.fill("input[name=note]", "for the customer")
    page.click("text=Create share link")
    link = page.inner_text("#new-share-url").strip()
    assert "/share/" in link
    screenshot("share-link-created")

    response = stranger.goto(link)
    assert response.status == 200
    body = stranger.inner_text("body")
    assert "question 0 from refund-1" in body and "answer 1" in body and "found 1 row" in body
    assert "Shared · read-only" in body
    for hidden in ("Acme", "internal: check refund", "flagged", "Other customer", "rita", "$"):
        assert hidden not in body, hidden
    # No way into the dashboard from here.
    assert stranger.locator("a[href^='/p/']").count() == 0
    assert not [m for m in console if "Content Security Policy" in m]
    stranger.screenshot(path=str(_path("shared-page")), full_page=True)

    page.goto("/p/acme/settings/share-links/")
    row = page.locator("table.share-links tbody tr").first
    assert "for the customer" in row.inner_text() and row.locator("td.num").inner_text() == "1"
    page.on("dialog", lambda d: d.accept())
    page.click("text=Revoke")
    page.wait_for_selector("text=revoked")
    screenshot("share-links-settings")

    response = stranger.goto(link)
    assert response.status == 410
    assert "revoked" in stranger.inner_text("body")
    assert "question 0" not in stranger.inner_text("body")
    stranger.screenshot(path=str(_path("shared-page-revoked")), full_page=True)


def test_a_share_link_stops_working_when_it_expires(team, stranger):
    _user, _project, main = team
    _, token = share_link_create(session=main, user=None, days=2)
    assert stranger.goto(f"/share/{token}/").status == 200
    with time_machine.travel(timezone.now() + timedelta(days=2, seconds=5), tick=True):
        response = stranger.goto(f"/share/{token}/")
        assert response.status == 410
        assert "expired" in stranger.inner_text("body")
        assert "question 0" not in stranger.inner_text("body")
    stranger.screenshot(path=str(_path("shared-page-expired")), full_page=True)


def test_an_editor_picks_rows_marks_them_and_saves_the_view(page, login, screenshot, team):
    from playwright.sync_api import expect

    user, _project, _main = team
    login(user)
    page.check("input.bulk-page")
    assert page.text_content(".bulk-count") == "3 rows"
    page.uncheck("input[aria-label='Select research-1']")
    assert page.text_content(".bulk-count") == "2 rows"
    assert not page.is_checked("input.bulk-page")
    screenshot("bulk-selected")
    page.click("#bulk-form button[value=reviewed]")
    page.wait_for_selector("#bulk-status:has-text('2 sessions marked reviewed.')")
    # The rows reload by themselves: the badges show and the boxes are clear again.
    expect(page.locator("#session-rows .review-reviewed")).to_have_count(2)
    assert page.locator("input[name=ids]:checked").count() == 0
    assert AgentSession.objects.filter(review_status="reviewed").count() == 2

    # Filter through htmx, then save the view: it keeps the filter now in the address bar.
    page.select_option("select[name=agent]", "research-agent")
    page.wait_for_url("**agent=research-agent**")
    page.click("summary:has-text('Saved views')")
    page.fill("input[name=name]", "Research")
    page.check("input[name=shared]")
    page.click("text=Save view")
    page.wait_for_selector("#saved-views a:has-text('Research')")
    href = page.get_attribute("#saved-views a:has-text('Research')", "href")
    assert href == "/p/acme/sessions/?agent=research-agent"
    screenshot("saved-views-picker")
    page.click("summary:has-text('Saved views')")  # close the picker

    # "All matching" archives every row of the filter, once confirmed.
    page.check("input.bulk-all")
    assert page.text_content(".bulk-count") == "All matching"
    asked: list[str] = []

    def answer(dialog, accept: bool) -> None:
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda d: answer(d, False))
    page.click("#bulk-form button[value=archive]")
    page.wait_for_timeout(300)
    assert "every session these filters match" in asked[0]
    assert AgentSession.objects.get(external_id="research-1").status != "archived"
    page.once("dialog", lambda d: answer(d, True))
    page.click("#bulk-form button[value=archive]")
    page.wait_for_selector("#bulk-status:has-text('1 session archived.')")
    page.wait_for_selector("text=No sessions match these filters.")
    assert AgentSession.objects.get(external_id="research-1").status == "archived"
    # Done: the box is clear, so the next action applies to picked rows only.
    assert not page.is_checked("input.bulk-all")
    assert page.text_content(".bulk-count") == "No rows"


def _path(name: str):
    from tests.browser.conftest import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"
