"""The sessions list's search and pages, and the compare page's diff, in Chromium."""

from __future__ import annotations

import pytest

from sessions_app.models import Membership
from tests.dashboard.conftest import make_session
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def reviewer(transactional_db):
    project = ProjectFactory(slug="acme", name="Acme support")
    user = UserFactory(username="rita")
    MembershipFactory(project=project, user=user, role=Membership.Role.VIEWER)
    for i in range(3):
        make_session(project, f"s-{i}", turns=2, agent_name="support-bot")
    return user, project


def test_a_search_shows_highlighted_snippets_and_the_count(page, login, screenshot, reviewer):
    user, _ = reviewer
    login(user)
    page.fill("input[name=q]", "question 1")
    page.press("input[name=q]", "Enter")
    page.wait_for_url("**q=question**")
    page.wait_for_selector("#session-rows .snippet mark")
    assert page.locator("#session-rows tbody tr").count() == 3
    assert "3 sessions" in page.inner_text("#session-count")
    assert page.locator("#session-rows .snippet mark").first.inner_text().lower() == "question"
    screenshot("listing-search")


def test_the_compare_page_shows_a_diff_of_the_two_chosen_strategies(
    page, login, screenshot, reviewer, live_server
):
    user, project = reviewer
    session = project.sessions.get(external_id="s-0")
    login(user)
    page.goto(f"{live_server.url}/p/acme/sessions/{session.pk}/compare/")
    assert page.locator("select[name=model]").input_value() == "gpt-4o-mini"
    page.select_option("select[name=diff_b]", "tool_focused")
    page.wait_for_url("**diff_b=tool_focused**")
    page.wait_for_selector(".prompt-diff h2:has-text('Tool focused')")
    assert page.locator(".diff-lines tr.del, .diff-lines tr.ins").count() > 0
    screenshot("compare-diff")
