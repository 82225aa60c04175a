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


def test_a_long_title_wraps_and_every_column_stays_on_a_laptop_screen(
    page, login, screenshot, reviewer
):
    user, project = reviewer
    title = "Customer asks why the invoice for the annual plan " * 5
    make_session(project, "s-long", turns=1, title=title, agent_name="support-bot")
    page.set_viewport_size({"width": 1366, "height": 800})
    login(user)
    page.wait_for_selector("#session-rows tbody tr")

    overflow = page.eval_on_selector(".table-scroll", "el => el.scrollWidth - el.clientWidth")
    assert overflow <= 0, f"the list is {overflow}px wider than the screen"
    status = page.locator("#session-rows thead th:has-text('Status')").bounding_box()
    assert status is not None and status["x"] + status["width"] <= 1366
    link = page.locator("a.session-link", has_text="Customer asks why").bounding_box()
    assert link is not None and link["height"] < 3 * 20  # clamped to two lines
    screenshot("listing-long-title")


def test_a_cost_ceiling_narrows_the_list_and_its_empty_row_spans_every_column(
    page, login, screenshot, reviewer
):
    from sessions_app.models import DataType, ScoreConfig

    user, project = reviewer  # three sessions of $0.02
    for name in ("helpfulness", "solved"):  # two more columns on the list
        ScoreConfig.objects.create(project=project, name=name, data_type=DataType.NUMERIC)
    login(user)
    page.wait_for_selector("#session-rows tbody tr .session-link")
    page.fill("input[name=max_cost]", "0.02")
    page.press("input[name=max_cost]", "Enter")
    page.wait_for_url("**max_cost=0.02**")
    page.wait_for_selector("#session-rows .empty-row")
    row = page.locator("#session-rows tbody tr").first.bounding_box()
    header = page.locator("#session-rows thead tr").bounding_box()
    cell = page.locator("#session-rows .empty-row").bounding_box()
    assert row and header and cell
    assert abs(cell["width"] - header["width"]) <= 1 and abs(row["width"] - header["width"]) <= 1
    screenshot("listing-cost-ceiling-empty")
    page.fill("input[name=max_cost]", "0.0201")
    page.press("input[name=max_cost]", "Enter")
    page.wait_for_url("**max_cost=0.0201**")
    page.wait_for_selector("#session-rows tbody tr .session-link")
    assert page.locator("#session-rows tbody tr .session-link").count() == 3
    assert page.input_value("input[name=max_cost]") == "0.0201"
