"""In Chromium: one click shows what an agent removed; the branch selector swaps the transcript."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from sessions_app.inputs import EventInput
from sessions_app.models import AgentSession, Membership
from sessions_app.services.branches import branch_create_from_turn
from sessions_app.services.events import event_pop_last, events_append
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.browser


def say(eid: str, text: str, source: str = "user", branch: str = "main") -> EventInput:
    role = "user" if source == "user" else "assistant"
    return EventInput(external_id=eid, source=source, role=role, content=text, branch=branch)


@pytest.fixture
def reviewer(transactional_db):
    project = ProjectFactory(slug="acme", name="Acme support")
    user = UserFactory(username="rita")
    MembershipFactory(project=project, user=user, role=Membership.Role.VIEWER)
    events_append(
        project=project,
        session_external_id="weather",
        events=[
            say("u1", "Hi there"),
            say("a1", "Hello! How can I help?", "llm"),
            say("u2", "Weather in Paris?"),
            say("a2", "Sunny in Paris.", "llm"),
            say("u3", "And tomorrow?"),
        ],
    )
    session = AgentSession.objects.get(external_id="weather")
    event_pop_last(session=session)
    branch_create_from_turn(session=session, name="retry-rome", from_turn=2)
    events_append(
        project=project,
        session_external_id="weather",
        events=[
            say("r2", "Weather in Rome?", branch="retry-rome"),
            say("r3", "Rain in Rome.", "llm", branch="retry-rome"),
        ],
    )
    return user, session


def test_removed_items_show_on_one_click_and_branches_swap_the_transcript(
    page, login, screenshot, reviewer
):
    user, session = reviewer
    login(user)
    page.goto(f"/p/acme/sessions/{session.pk}/")
    transcript = page.locator("#transcript")
    assert "And tomorrow?" not in transcript.inner_text()
    screenshot("session-removed-hidden")

    page.click("text=Show items the agent removed")
    page.wait_for_selector("#transcript .tag.removed")
    assert "And tomorrow?" in transcript.inner_text()
    assert "removed by pop" in transcript.inner_text()
    screenshot("session-removed-shown")

    page.select_option("select[name=branch]", "retry-rome")
    # All branches showed Rome too: wait until main's later turn has gone.
    expect(page.locator("#transcript")).not_to_contain_text("Sunny in Paris")
    text = page.locator("#transcript").inner_text()
    assert "Sunny in Paris" not in text
    assert "Hi there" in text and "Rain in Rome." in text
    screenshot("session-branch-retry-rome")


def test_after_showing_removed_items_the_first_error_link_reaches_a_removed_error(page, login):
    project = ProjectFactory(slug="acme", name="Acme support")
    user = UserFactory(username="rita")
    MembershipFactory(project=project, user=user, role=Membership.Role.VIEWER)
    failed = EventInput(
        external_id="a1", source="llm", role="assistant", content="It failed", is_error=True
    )
    events_append(
        project=project, session_external_id="w", events=[say("u1", "Look it up"), failed]
    )
    session = AgentSession.objects.get(external_id="w")
    event_pop_last(session=session)  # the failed answer leaves the agent's conversation
    login(user)
    page.goto(f"/p/acme/sessions/{session.pk}/")
    page.click("text=Show items the agent removed")  # htmx: only the transcript is swapped
    page.wait_for_selector("#transcript .tag.removed")
    page.click("[data-nav=next-error]")
    page.wait_for_url("**at=2**")
    assert "removed=1" in page.url and "none=" not in page.url
