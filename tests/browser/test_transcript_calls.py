"""A tool call and its result stay together in Chromium: across the first page's end, while
scrolling on, when the result comes later through the live tail, and when an event number
opens a result whose call is far before it."""

from __future__ import annotations

import pytest

from sessions_app.inputs import EventInput
from sessions_app.models import AgentSession, Membership
from sessions_app.services.events import events_append
from sessions_app.services.sessions import session_upsert
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

from .conftest import SCREENSHOTS

pytestmark = pytest.mark.browser


def message(n: int) -> EventInput:
    return EventInput(
        external_id=f"m{n}",
        source="user" if n % 2 else "llm",
        role="user" if n % 2 else "assistant",
        content=f"Step {n} of the conversation.",
    )


def call(call_id: str, parent: str) -> EventInput:
    return EventInput(
        external_id=f"c-{call_id}",
        source="llm",
        type="tool_call",
        name="lookup_order",
        tool_call_id=call_id,
        content='{"order": 42}',
        parent_external_id=parent,
    )


def result(call_id: str, text: str, **fields) -> EventInput:
    return EventInput(
        external_id=f"r-{call_id}",
        source="tool",
        type="tool_result",
        role="tool",
        name="lookup_order",
        tool_call_id=call_id,
        parent_tool_call_id=call_id,
        content=text,
        **fields,
    )


@pytest.fixture
def reader(transactional_db):
    project = ProjectFactory(slug="acme", name="Acme support")
    user = UserFactory(username="rita")
    MembershipFactory(project=project, user=user, role=Membership.Role.VIEWER)
    return project, user


def append(project, key: str, events: list[EventInput]) -> AgentSession:
    events_append(project=project, session_external_id=key, events=events)
    return AgentSession.objects.get(project=project, external_id=key)


def test_a_call_at_the_end_of_a_page_shows_its_result_and_the_next_page_does_not(
    page, login, screenshot, reader
):
    """#48 asks; its calls are #49 and #50, answered at #51 and #52 (the second failed): the
    first page (#1-#50) holds both calls with their results, the next starts at #53."""
    project, user = reader
    session_upsert(project=project, external_id="edge", fields={"title": "Two lookups"})
    events = [message(n) for n in range(1, 48)]
    events += [
        EventInput(
            external_id="ask", source="llm", role="assistant", content="I will look both up."
        ),
        call("call-a", "ask"),
        call("call-b", "ask"),
        result("call-a", '{"status": "shipped"}'),
        result("call-b", "Tool failed: timeout", is_error=True),
    ]
    events += [message(n) for n in range(53, 90)]
    session = append(project, "edge", events)
    AgentSession.objects.filter(pk=session.pk).update(status="completed")
    login(user)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"/p/acme/sessions/{session.pk}/")
    page.wait_for_selector("#ev-50", state="attached")
    # The first page ends at #50, both calls on it with their results; none says it lacks one.
    assert page.locator("#transcript > .tpage").first.get_attribute("data-last") == "50"
    assert page.inner_text("#ev-49 > summary .result-tags") == "done"
    assert page.inner_text("#ev-50 > summary .result-tags") == "error"
    assert "has-error" in page.get_attribute("#ev-50", "class")
    page.click("#ev-49 > summary")
    page.click("#ev-50 > summary")
    assert page.is_visible("#results-49 #ev-51") and page.is_visible("#results-50 #ev-52")
    assert "no result" not in page.inner_text("#transcript")
    page.evaluate("document.getElementById('ev-46').scrollIntoView()")
    page.screenshot(path=str(SCREENSHOTS / "transcript-call-at-the-page-end.png"))
    screenshot("transcript-call-across-the-page-boundary")

    # Scrolling loads the next page: it starts after the results, which are not repeated.
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_selector("#ev-89", state="attached")
    assert page.locator("#ev-51").count() == 1 and page.locator("#ev-52").count() == 1
    second = page.locator("#transcript > .tpage").nth(1)
    assert second.locator("[data-seq]").first.get_attribute("data-seq") == "53"


def test_a_result_that_comes_later_goes_into_its_call(page, login, screenshot, reader):
    project, user = reader
    session_upsert(project=project, external_id="live", fields={"title": "A live session"})
    session = append(
        project, "live", [message(1), message(2), call("call-slow", "m2")]
    )  # active: the tail polls every 5 s
    login(user)
    page.goto(f"/p/acme/sessions/{session.pk}/")
    page.wait_for_selector("#transcript-more.live", state="attached")
    assert page.inner_text("#ev-3 > summary .result-tags") == "no result yet"
    screenshot("transcript-call-with-no-result-yet")
    append(project, "live", [result("call-slow", "3 rows"), message(5)])
    # The next poll brings the message as a row and the result into its call.
    page.wait_for_selector("#ev-5", state="attached", timeout=15_000)
    page.wait_for_selector("#results-3 #ev-4", state="attached")
    assert page.inner_text("#ev-3 > summary .result-tags") == "done"
    assert page.locator("#ev-4").count() == 1
    page.click("#ev-3 > summary")
    assert page.is_visible("#results-3 #ev-4")
    screenshot("transcript-late-result-joins-its-call")
    # Later polls do not bring it again.
    append(project, "live", [message(6)])
    page.wait_for_selector("#ev-6", state="attached", timeout=15_000)
    assert page.locator("#ev-4").count() == 1


def test_an_event_number_of_a_result_opens_its_call(page, login, reader):
    project, user = reader
    session_upsert(project=project, external_id="far", fields={"title": "A slow tool"})
    events = [message(1), call("call-far", "m1")]
    events += [message(n) for n in range(3, 100)]
    events += [result("call-far", "finally", is_error=True)]
    session = append(project, "far", events)
    login(user)
    page.goto(f"/p/acme/sessions/{session.pk}/")
    page.fill("input[data-nav=at]", "100")
    page.press("input[data-nav=at]", "Enter")
    page.wait_for_url("**at=100**")
    page.wait_for_selector("#ev-100.at-target", state="visible")
    assert page.evaluate("document.getElementById('ev-2').open")
    assert page.locator("#transcript > .tpage").first.get_attribute("data-first") == "1"
    # `e`: no error after this one. The result lies past its page's own events (#1-#50): the
    # jump goes on from the result, not from #50, which would find this result again.
    page.keyboard.press("e")
    page.wait_for_url("**none=next-error**")
