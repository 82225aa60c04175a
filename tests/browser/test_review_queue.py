"""A reviewer works through an annotation queue of five sessions by keyboard in Chromium,
scoring and commenting each; the sessions list then filters by that score."""

from __future__ import annotations

import pytest

from sessions_app.models import Comment, DataType, Membership, QueueItem, Score, ScoreConfig
from sessions_app.services.queues import queue_items_add, queue_save
from tests.dashboard.conftest import make_session
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def queue_setup(transactional_db):
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
    tone = ScoreConfig.objects.create(
        project=project, name="tone", data_type=DataType.CATEGORICAL, categories=["kind", "rude"]
    )
    sessions = [
        make_session(project, f"ticket-{n}", turns=2, agent_name="support-bot") for n in range(5)
    ]
    make_session(project, "unqueued", turns=1, agent_name="support-bot")
    queue = queue_save(
        project=project,
        name="Weekly sample",
        description="Five support tickets",
        score_configs=[helpful, tone],
        members=[user],
    )
    queue_items_add(queue=queue, sessions=sessions, added_by="rita")
    return user, project, queue


def test_a_reviewer_works_through_a_queue_by_keyboard(page, login, screenshot, queue_setup):
    user, _project, queue = queue_setup
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text))
    login(user)
    page.goto(f"/p/acme/queues/{queue.pk}/")
    screenshot("review-queue-before")
    page.click("text=Start reviewing")
    for n in range(5):
        page.wait_for_selector("#queue-form")
        if n == 0:
            screenshot("review-queue-item")
        # 1 focuses the first score, 2 the second; c the comment box; Ctrl+Enter completes.
        page.keyboard.press("1")
        page.keyboard.type(str(5 - n % 2 * 3))  # 5, 2, 5, 2, 5
        page.keyboard.press("Escape")
        page.keyboard.press("2")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Escape")
        page.keyboard.press("c")
        page.keyboard.type(f"checked ticket {n}")
        with page.expect_navigation():
            page.keyboard.press("Control+Enter")
    assert "Nothing left for you" in page.content()
    screenshot("review-queue-done")
    assert QueueItem.objects.filter(status="completed", done_by=user).count() == 5
    assert sorted(
        Score.objects.filter(name="helpfulness").values_list("value_number", flat=True)
    ) == [2, 2, 5, 5, 5]
    assert Score.objects.filter(name="tone", value_label="kind").count() == 5
    assert Comment.objects.filter(author=user).count() == 5
    assert "<b>5</b> done" in page.content()

    # j/k walk the queue; s skips (nothing left to skip here, so only walking is checked).
    first = QueueItem.objects.order_by("pk").first()
    page.goto(f"/p/acme/queues/{queue.pk}/items/{first.pk}/")
    with page.expect_navigation():
        page.keyboard.press("j")
    assert page.url.endswith(f"/items/{first.pk + 1}/")
    with page.expect_navigation():
        page.keyboard.press("k")
    assert page.url.endswith(f"/items/{first.pk}/")

    # The list filters by the score the reviewer gave.
    page.goto("/p/acme/sessions/?score=helpfulness&score_min=5")
    page.wait_for_selector("#session-rows")
    links = page.locator("a.session-link")
    assert links.count() == 3
    assert page.locator("td.score-cell").first.inner_text() == "5"
    screenshot("review-list-filtered-by-score")
    page.goto(f"/p/acme/sessions/{first.session_id}/")
    page.wait_for_selector("#review-panel .scores")
    assert "checked ticket 0" in page.locator("#review-panel").inner_text()
    screenshot("review-session-panel")
    assert not [m for m in messages if "Content Security Policy" in m]
