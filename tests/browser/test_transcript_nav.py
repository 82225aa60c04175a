"""Reaching any event of a long session in Chromium: paste an id, jump to an event and to the
next error, search inside the session, keyboard shortcuts, and a bounded window of loaded
events while scrolling a 5,000-event session."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sessions_app.inputs import EventInput
from sessions_app.models import AgentSession, Membership
from sessions_app.services.events import events_append
from sessions_app.services.sessions import session_upsert
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.browser

SIZE = 5_000
ERRORS = tuple(range(700, SIZE + 1, 700))  # 700, 1400, ..., 4900


@pytest.fixture
def big(transactional_db):
    project = ProjectFactory(slug="acme", name="Acme support")
    user = UserFactory(username="rita")
    MembershipFactory(project=project, user=user, role=Membership.Role.VIEWER)
    session_upsert(
        project=project, external_id="tenant/big-1", fields={"title": "A very long session"}
    )
    start = timezone.now() - timedelta(days=1)
    for first in range(1, SIZE + 1, 1000):
        events_append(
            project=project,
            session_external_id="tenant/big-1",
            events=[
                EventInput(
                    external_id=f"big-{n}",
                    source="user" if n % 2 else "llm",
                    role="user" if n % 2 else "assistant",
                    content=f"Step {n} of the plan."
                    + (" The carrier reported a lost parcel." if n % 450 == 0 else "")
                    + (" Tool failed: timeout." if n in ERRORS else ""),
                    is_error=n in ERRORS,
                    timestamp=start + timedelta(seconds=n),
                )
                for n in range(first, min(first + 1000, SIZE + 1))
            ],
        )
    return user, AgentSession.objects.get(external_id="tenant/big-1")


def in_view_below_the_bar(page, seq: int) -> bool:
    """Whether event #seq is on screen and not hidden under the sticky top bar."""
    return page.evaluate(
        """(seq) => {
            const e = document.getElementById("ev-" + seq);
            if (!e) return false;
            const bar = document.querySelector(".topbar").getBoundingClientRect().bottom;
            const r = e.getBoundingClientRect();
            return r.top >= bar - 1 && r.top < window.innerHeight;
        }""",
        seq,
    )


def test_paste_an_id_then_jump_to_an_event_and_to_the_next_error(page, login, screenshot, big):
    user, session = big
    login(user)
    page.fill("input[data-nav=paste]", "tenant/big-1")
    page.press("input[data-nav=paste]", "Enter")
    page.wait_for_url(f"**/p/acme/sessions/{session.pk}/")
    assert "A very long session" in page.inner_text("h1")

    # An event id pasted opens its session at that event, highlighted below the bar.
    page.fill("input[data-nav=paste]", "big-1234")
    page.press("input[data-nav=paste]", "Enter")
    page.wait_for_url("**?at=1234#ev-1234")
    page.wait_for_selector("#ev-1234.at-target", state="attached")
    assert in_view_below_the_bar(page, 1234)

    # Jump to an event number.
    page.fill("input[data-nav=at]", "2500")
    page.press("input[data-nav=at]", "Enter")
    page.wait_for_url("**at=2500**")
    page.wait_for_selector("#ev-2500.at-target", state="attached")
    assert in_view_below_the_bar(page, 2500)
    screenshot("transcript-at-2500")

    # `e`: the next error is not loaded, so the page opens there.
    page.keyboard.press("e")
    page.wait_for_url("**at=2800**")
    page.wait_for_selector("#ev-2800.at-target", state="attached")
    assert in_view_below_the_bar(page, 2800)
    screenshot("transcript-next-error")
    # Each error links to the next.
    page.click("#ev-2800 a.next-error")
    page.wait_for_url("**at=3500**")
    assert in_view_below_the_bar(page, 3500)
    # `E` goes back.
    page.keyboard.press("E")
    page.wait_for_url("**at=2800**")

    # The End button opens the last event.
    page.click("[data-nav=end]")
    page.wait_for_url(f"**at={SIZE}**")
    assert in_view_below_the_bar(page, SIZE)


def test_search_inside_a_session_and_walk_its_hits(page, login, screenshot, big):
    user, session = big
    login(user)
    page.goto(f"/p/acme/s/{session.external_id.replace('/', '%2F')}")
    page.wait_for_url(f"**/p/acme/sessions/{session.pk}/")
    # `/` puts the cursor in the search box.
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.dataset.nav") == "find"
    page.keyboard.type("lost parcel")
    page.keyboard.press("Enter")
    page.wait_for_selector("#find-results [data-hit]")
    hits = page.locator("#find-results [data-hit]")
    assert hits.count() == SIZE // 450
    assert page.inner_text("#find-results mark") in {"lost", "parcel"}
    assert "find=lost" in page.url
    screenshot("transcript-find")
    page.click("#find-results [data-hit='1350']")
    page.wait_for_url("**at=1350**")
    page.wait_for_selector("#ev-1350.at-target", state="attached")
    assert in_view_below_the_bar(page, 1350)
    # `n`: the next hit (not loaded: the page opens there); the list stays.
    page.keyboard.press("n")
    page.wait_for_url("**at=1800**")
    assert in_view_below_the_bar(page, 1800)
    assert page.locator("#find-results [data-hit]").count() == SIZE // 450


def test_j_and_k_move_event_by_event(page, login, big):
    user, session = big
    login(user)
    page.goto(f"/p/acme/sessions/{session.pk}/?at=100#ev-100")
    page.wait_for_selector("#ev-100.at-target", state="attached")
    page.keyboard.press("j")
    page.wait_for_selector("#ev-101.kb-current", state="attached")
    assert in_view_below_the_bar(page, 101)
    page.keyboard.press("k")
    page.keyboard.press("k")
    page.wait_for_selector("#ev-99.kb-current", state="attached")
    assert in_view_below_the_bar(page, 99)


def test_the_window_of_loaded_events_stays_bounded_while_scrolling(page, login, screenshot, big):
    user, session = big
    login(user)
    page.goto(f"/p/acme/sessions/{session.pk}/")
    most = {"events": 0, "nodes": 0, "pages": 0}
    last = 50
    # Down 40 pages (2,000 events), a page at a time.
    for _ in range(40):
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        page.wait_for_function(
            "(last) => Number([...document.querySelectorAll('#transcript > .tpage')].pop()"
            ".dataset.last) > last",
            arg=last,
        )
        state = page.evaluate(
            """() => ({
                events: document.querySelectorAll('#transcript [data-seq]').length,
                nodes: document.getElementsByTagName('*').length,
                pages: document.querySelectorAll('#transcript > .tpage').length,
                last: Number(
                    [...document.querySelectorAll('#transcript > .tpage')].pop().dataset.last
                ),
            })"""
        )
        last = state["last"]
        for key in most:
            most[key] = max(most[key], state[key])
    assert last >= 2_000
    assert most["pages"] <= 6 and most["events"] <= 300
    assert most["nodes"] < 6_000
    first = page.evaluate("Number(document.querySelector('#transcript > .tpage').dataset.first)")
    assert first > 1_000  # the early pages were dropped
    screenshot("transcript-window-scrolled")

    # Back up: the dropped pages are loaded again, and the ones below are dropped in turn.
    for _ in range(45):
        first = page.evaluate(
            "Number(document.querySelector('#transcript > .tpage').dataset.first)"
        )
        if first == 1:
            break
        page.evaluate("window.scrollTo(0, 0)")
        page.wait_for_function(
            "(first) => Number(document.querySelector('#transcript > .tpage').dataset.first)"
            " < first",
            arg=first,
        )
        pages = page.evaluate("document.querySelectorAll('#transcript > .tpage').length")
        assert pages <= 6
    assert first == 1
    assert page.evaluate("document.querySelectorAll('#transcript [data-seq]').length") <= 300
    assert page.locator("#ev-1").count() == 1


@pytest.fixture
def nested(transactional_db):
    """Turns of a user question, an answer that calls a tool, the call and its result (nested
    inside the answer's card), every third result an error."""
    project = ProjectFactory(slug="acme", name="Acme support")
    user = UserFactory(username="rita")
    MembershipFactory(project=project, user=user, role=Membership.Role.VIEWER)
    start = timezone.now() - timedelta(days=1)
    events = []
    for turn in range(8):
        at = start + timedelta(minutes=turn)
        call = f"call-{turn}"
        failed = turn % 3 == 0
        events += [
            EventInput(
                external_id=f"u{turn}", source="user", role="user", content="Q", timestamp=at
            ),
            EventInput(
                external_id=f"a{turn}", source="llm", role="assistant", content="Let me look.",
                timestamp=at,
            ),
            EventInput(
                external_id=f"c{turn}", source="llm", type="tool_call", name="lookup",
                tool_call_id=call, content='{"order": 42}', parent_external_id=f"a{turn}",
                payload={"tool": "lookup", "arguments": {"order": 42}}, timestamp=at,
            ),
            EventInput(
                external_id=f"r{turn}", source="tool", type="tool_result", role="tool",
                name="lookup", tool_call_id=call, parent_tool_call_id=call,
                content="timeout" if failed else "found", is_error=failed, timestamp=at,
            ),
        ]  # fmt: skip
    events_append(project=project, session_external_id="nested-1", events=events)
    return user, AgentSession.objects.get(external_id="nested-1")


def test_j_and_e_walk_into_and_out_of_nested_tool_calls(page, login, nested):
    """A tool call sits inside the answer's card, which still spans the view when the call is at
    the top: `j` must go on past the call, not come back to it. A result inside a closed call
    is not shown, so it is not a stop; opened, it is."""
    user, session = nested
    login(user)
    page.set_viewport_size({"width": 1280, "height": 500})
    page.goto(f"/p/acme/sessions/{session.pk}/")
    page.wait_for_selector("#ev-1", state="attached")
    seen = []
    for _ in range(12):
        page.keyboard.press("j")
        seen.append(int(page.get_attribute(".kb-current", "data-seq")))
    # Each turn: question, answer, call (its result folded inside the call).
    assert seen == [1, 2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 15], seen
    assert in_view_below_the_bar(page, 15)
    page.keyboard.press("k")
    page.keyboard.press("k")
    assert int(page.get_attribute(".kb-current", "data-seq")) == 13
    # Opened, the call's result is the next stop.
    page.click("#ev-15 > summary")
    page.keyboard.press("j")
    assert int(page.get_attribute(".kb-current", "data-seq")) == 14
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert int(page.get_attribute(".kb-current", "data-seq")) == 16
    # `e`: the next failed call each time (turns 0, 3 and 6: calls #3, #15, #27).
    page.goto(f"/p/acme/sessions/{session.pk}/")
    page.wait_for_selector("#ev-1", state="attached")
    errors = []
    for _ in range(3):
        page.keyboard.press("e")
        errors.append(int(page.get_attribute(".kb-current", "data-seq")))
    assert errors == [3, 15, 27], errors
