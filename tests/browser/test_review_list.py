"""In Chromium: the sessions list sorts by a score column (unscored sessions last both ways),
two rows go into a queue from the bulk bar, and a score config is edited (a type change of a
config with scores is refused on the form)."""

from __future__ import annotations

import pytest

from sessions_app.models import DataType, Membership, QueueItem, ScoreConfig
from sessions_app.services.comments import comment_add
from sessions_app.services.queues import queue_save
from sessions_app.services.scores import score_record
from tests.dashboard.conftest import make_session
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def scored_list(transactional_db):
    project = ProjectFactory(slug="acme", name="Acme support")
    user = UserFactory(username="rita")
    MembershipFactory(project=project, user=user, role=Membership.Role.EDITOR)
    helpful = ScoreConfig.objects.create(
        project=project,
        name="helpfulness",
        data_type=DataType.NUMERIC,
        min_value=1,
        max_value=5,
        description="1 useless, 5 perfect",
    )
    sessions = {
        name: make_session(project, name, turns=1, agent_name="support-bot")
        for name in ("ticket-a", "ticket-b", "ticket-c", "ticket-d")
    }
    for name, value in (("ticket-a", 2), ("ticket-b", 5), ("ticket-d", 4)):
        score_record(session=sessions[name], name="helpfulness", value=value, config=helpful)
    comment_add(session=sessions["ticket-c"], text="no score yet", user=user)
    queue = queue_save(project=project, name="Triage", members=[user])
    return user, helpful, queue


def codes(page) -> list[str]:
    return page.locator("#session-rows tbody tr .sub code").all_inner_texts()


def test_an_editor_sorts_by_a_score_and_queues_two_sessions(page, login, screenshot, scored_list):
    from playwright.sync_api import expect

    user, _helpful, queue = scored_list
    # Wide enough that the score column is on screen for the screenshot.
    page.set_viewport_size({"width": 1800, "height": 700})
    login(user)
    page.goto("/p/acme/sessions/")
    page.click("th.score-col a.sort:has-text('helpfulness')")
    page.wait_for_url("**sort=-score%3Ahelpfulness**")
    page.wait_for_selector("th.score-col a.sort.active")
    assert codes(page) == ["ticket-b", "ticket-d", "ticket-a", "ticket-c"]
    screenshot("list-sorted-by-score")
    page.click("th.score-col a.sort:has-text('helpfulness')")
    page.wait_for_url("**sort=score%3Ahelpfulness**")
    page.wait_for_selector("th.score-col a.sort:has-text('↑')")
    # Ascending, the session without the score still comes last.
    assert codes(page) == ["ticket-a", "ticket-d", "ticket-b", "ticket-c"]

    page.check("input[aria-label='Select ticket-a']")
    page.check("input[aria-label='Select ticket-d']")
    assert page.text_content(".bulk-count") == "2 rows"
    page.select_option("select[name=queue]", label="Triage")
    page.click("#bulk-form button[value=queue]")
    page.wait_for_selector("#bulk-status:has-text('2 sessions added to Triage.')")
    # The rows reload by themselves, in the same order, their boxes clear.
    expect(page.locator("input[name=ids]:checked")).to_have_count(0)
    assert codes(page) == ["ticket-a", "ticket-d", "ticket-b", "ticket-c"]
    screenshot("list-bulk-added-to-queue")
    queued = QueueItem.objects.filter(queue=queue).values_list("session__external_id", flat=True)
    assert sorted(queued) == ["ticket-a", "ticket-d"]
    # Again with one of them already in: it is skipped and said so.
    page.check("input[aria-label='Select ticket-a']")
    page.check("input[aria-label='Select ticket-c']")
    page.select_option("select[name=queue]", label="Triage")
    page.click("#bulk-form button[value=queue]")
    page.wait_for_selector("#bulk-status:has-text('1 session added to Triage; 1 session')")
    assert QueueItem.objects.filter(queue=queue).count() == 3


def test_an_editor_edits_a_score_config_and_a_type_change_is_refused(
    page, login, screenshot, scored_list
):
    user, helpful, _queue = scored_list
    login(user)
    page.goto("/p/acme/scores/")
    page.click("a.btn:has-text('Edit')")
    page.wait_for_selector("#score-config-form")
    assert page.input_value("input[name=max_value]") == "5"
    screenshot("score-config-edit")
    page.select_option("select[name=data_type]", "boolean")
    page.click("#score-config-form button:has-text('Save')")
    page.wait_for_selector(".error-box:has-text('its type cannot change')")
    screenshot("score-config-edit-refused")
    page.select_option("select[name=data_type]", "numeric")
    page.fill("input[name=max_value]", "10")
    page.fill("input[name=description]", "1 useless, 10 perfect")
    page.click("#score-config-form button:has-text('Save')")
    page.wait_for_url("**/p/acme/scores/")
    page.wait_for_selector("td:has-text('1 useless, 10 perfect')")
    helpful.refresh_from_db()
    assert (helpful.data_type, helpful.max_value) == ("numeric", 10)
