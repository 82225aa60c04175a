"""A tool call and its results on the session page are never split by a page boundary: the
results of a page's calls are read past its end, never repeated on the next page, and a result
that comes later joins its call on screen."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from sessions_app.inputs import EventInput
from sessions_app.models import AgentSession, Event
from sessions_app.selectors import transcript
from sessions_app.services.events import events_append
from sessions_app.services.sessions import session_upsert

from .conftest import htmx

pytestmark = pytest.mark.django_db

START = timezone.now() - timedelta(hours=1)


def message(key: str, n: int, **fields) -> EventInput:
    return EventInput(
        external_id=f"{key}-m{n}",
        source="user" if n % 2 else "llm",
        role="user" if n % 2 else "assistant",
        content=f"message {n}",
        timestamp=START + timedelta(seconds=n),
        **fields,
    )


def call(key: str, call_id: str, **fields) -> EventInput:
    return EventInput(
        external_id=f"{key}-{call_id}",
        source="llm",
        type="tool_call",
        name="lookup",
        tool_call_id=call_id,
        content='{"order": 42}',
        timestamp=START,
        **fields,
    )


def result(key: str, call_id: str, n: int = 0, **fields) -> EventInput:
    return EventInput(
        external_id=f"{key}-{call_id}-r{n}",
        source="tool",
        type="tool_result",
        role="tool",
        name="lookup",
        tool_call_id=call_id,
        parent_tool_call_id=call_id,
        content=f"rows for {call_id}",
        timestamp=START,
        **fields,
    )


def conversation(project, key: str, events: list[EventInput]) -> AgentSession:
    session_upsert(project=project, external_id=key, fields={})
    events_append(project=project, session_external_id=key, events=events)
    return AgentSession.objects.get(project=project, external_id=key)


def across_the_boundary(project, key: str = "edge") -> AgentSession:
    """48 messages; an assistant message (#49) whose two tool calls (#50, #51) are answered at
    #52 (failed) and #53; messages to #60. The first page (50 events) ends after the first
    call, before the second and before both results."""
    events = [message(key, n) for n in range(1, 49)]
    events += [
        EventInput(
            external_id=f"{key}-ask", source="llm", role="assistant", content="Looking both up."
        ),
        call(key, "c-a", parent_external_id=f"{key}-ask"),
        call(key, "c-b", parent_external_id=f"{key}-ask"),
        result(key, "c-a", is_error=True),
        result(key, "c-b"),
    ]
    events += [message(key, n) for n in range(54, 61)]
    return conversation(project, key, events)


def url(session: AgentSession, name: str = "dashboard:session_detail") -> str:
    return reverse(name, args=[session.project.slug, session.pk])


def results_of(items, found=None) -> dict[int, list[int]]:
    """{call seq: [its nested results' seqs]} of a page's items, at any depth."""
    found = {} if found is None else found
    for item in items:
        if item.event.type == "tool_call":
            found[item.event.seq] = [r.event.seq for r in item.results]
        results_of(item.calls, found)
    return found


def top_seqs(response) -> list[int]:
    return [item.event.seq for item in response.context["items"]]


def inside_call(html: str, call_seq: int, seq: int) -> bool:
    """Whether event #seq is rendered among call #call_seq's results (before the call's own
    payload button, which closes its body)."""
    start = html.find(f'id="results-{call_seq}"')
    end = html.find(f'hx-target="#payload-{call_seq}"', start)
    at = html.find(f'id="ev-{seq}"', start)
    return -1 < start < at < end


def test_a_page_ending_inside_a_call_brings_its_results(client, viewer, project):
    session = across_the_boundary(project)
    client.force_login(viewer)
    response = client.get(url(session))
    html = response.content.decode()
    # The page is still the first 50 events; the call's result comes with them.
    assert response.context["last_seq"] == 50 and response.context["has_more"]
    assert results_of(response.context["items"]) == {50: [52]}
    assert inside_call(html, 50, 52)
    assert "no result on this page" not in html and "no result yet" not in html
    # The failed result marks its call.
    assert 'class="toolcall has-error" id="ev-50"' in html
    # "Load more" goes on after the page's own events, saying what the page has read.
    assert "after_seq=50&amp;seen=52" in html


def test_the_next_page_does_not_repeat_the_results(client, viewer, project):
    session = across_the_boundary(project)
    client.force_login(viewer)
    for extra in ({"seen": 52}, {}):
        response = client.get(
            url(session, "dashboard:session_events"),
            {"after_seq": 50, **extra},
            **htmx("transcript-more"),
        )
        html = response.content.decode()
        # The second call opens the page, with its own result.
        assert top_seqs(response) == [51, *range(54, 61)]
        assert results_of(response.context["items"]) == {51: [53]}
        assert 'id="ev-52"' not in html and inside_call(html, 51, 53)
        assert "hx-swap-oob" not in html
    # Without JavaScript ("Load more" is a link to a whole page) the same.
    html = client.get(url(session, "dashboard:session_events"), {"after_seq": 50}).content
    assert b'id="ev-52"' not in html and b'id="ev-54"' in html


def test_an_earlier_page_brings_the_results_that_open_the_page_below(client, viewer, project):
    session = across_the_boundary(project)
    client.force_login(viewer)
    # Opened at #55, the page starts at #45: the results at #52 and #53 are inside their calls.
    response = client.get(url(session), {"at": 55})
    assert top_seqs(response)[0] == 45
    assert results_of(response.context["items"]) == {50: [52], 51: [53]}
    # Opened where the page starts between the calls and their results (after #51), the
    # results are not orphans at the top: they are on the earlier page, with their calls.
    response = client.get(url(session, "dashboard:session_events"), {"after_seq": 51})
    assert top_seqs(response) == list(range(54, 61))
    response = client.get(
        url(session, "dashboard:session_events"), {"before_seq": 52}, **htmx("transcript-prev")
    )
    assert results_of(response.context["items"]) == {50: [52], 51: [53]}
    assert response.context["last_seq"] == 51


def test_at_a_result_opens_the_page_of_its_call(client, viewer, project):
    events = [call("far", "c-slow")]
    events += [message("far", n) for n in range(2, 80)]
    events += [result("far", "c-slow")]
    session = conversation(project, "far", events)
    client.force_login(viewer)
    response = client.get(url(session), {"at": 80})
    html = response.content.decode()
    # The result is shown inside its call (#1), so the page opens there.
    assert top_seqs(response)[0] == 1 and inside_call(html, 1, 80)
    assert 'data-at="80"' in html
    # The pages in between do not show it again.
    response = client.get(url(session, "dashboard:session_events"), {"after_seq": 50})
    assert 80 not in top_seqs(response) and top_seqs(response)[-1] == 79


def test_a_call_without_a_result_says_none_yet(client, viewer, project):
    events = [message("wait", n) for n in range(1, 4)] + [call("wait", "c-wait")]
    session = conversation(project, "wait", events)
    client.force_login(viewer)
    html = client.get(url(session)).content.decode()
    assert "no result yet" in html and "no result on this page" not in html


def test_a_result_that_comes_later_joins_its_call_through_the_live_tail(client, viewer, project):
    events = [message("live", n) for n in range(1, 4)] + [call("live", "c-live")]
    session = conversation(project, "live", events)
    client.force_login(viewer)
    html = client.get(url(session)).content.decode()
    assert "no result yet" in html and "after_seq=4&amp;seen=4" in html
    events_append(
        project=project,
        session_external_id="live",
        events=[result("live", "c-live"), message("live", 6)],
    )
    response = client.get(
        url(session, "dashboard:session_events"),
        {"after_seq": 4, "seen": 4},
        **htmx("transcript-more"),
    )
    html = response.content.decode()
    # The new message is a row; the result goes into its call, already on screen.
    assert top_seqs(response) == [6]
    oob = re.search(r'<div hx-swap-oob="beforeend:#results-4">(.*?)</div>\s*$', html, re.S)
    assert oob and 'id="ev-5"' in oob.group(1) and "rows for c-live" in oob.group(1)
    assert html.count('id="ev-5"') == 1
    # The next poll asks after both.
    assert "after_seq=6&amp;seen=6" in html
    response = client.get(
        url(session, "dashboard:session_events"),
        {"after_seq": 6, "seen": 6},
        **htmx("transcript-more"),
    )
    assert "hx-swap-oob" not in response.content.decode()


def test_a_result_is_left_on_its_own_when_its_call_is_not_shown(client, viewer, project):
    events = [
        message("rm", 1),
        call("rm", "c-gone"),
        result("rm", "c-gone"),
        message("rm", 4),
    ]
    session = conversation(project, "rm", events)
    Event.objects.filter(session=session, seq=2).update(removed_at=timezone.now(), removed_by="pop")
    client.force_login(viewer)
    response = client.get(url(session))
    assert top_seqs(response) == [1, 3, 4]
    html = response.content.decode()
    assert 'class="toolresult standalone" id="ev-3"' in html
    # Shown with the removed events, it is inside its call again.
    response = client.get(url(session), {"removed": "1"})
    assert results_of(response.context["items"]) == {2: [3]}


def test_a_result_of_a_result_is_still_shown(client, viewer, project):
    events = [
        message("odd", 1),
        result("odd", "c-x"),
        EventInput(
            external_id="odd-follow-up",
            source="tool",
            type="tool_result",
            role="tool",
            content="a result hung on a result",
            parent_external_id="odd-c-x-r0",
        ),
    ]
    session = conversation(project, "odd", events)
    client.force_login(viewer)
    html = client.get(url(session)).content.decode()
    assert "a result hung on a result" in html


def test_the_results_read_past_a_page_are_bounded(client, viewer, project, monkeypatch):
    monkeypatch.setattr(transcript, "CALL_RESULTS", 2)
    events = [message("many", n) for n in range(1, 50)] + [call("many", "c-many")]
    events += [result("many", "c-many", n) for n in range(5)]
    session = conversation(project, "many", events)
    client.force_login(viewer)
    response = client.get(url(session))
    assert results_of(response.context["items"]) == {50: [51, 52]}
    assert "more results than a page reads" in response.content.decode()


def test_a_page_whose_calls_end_on_it_query_count(
    client, viewer, project, django_assert_num_queries
):
    session = across_the_boundary(project)
    client.force_login(viewer)
    client.get(url(session))
    # session row, user, project, role, session, events page (each result's call joined), the
    # results of its calls past the page, the page's comments and scores
    with django_assert_num_queries(9):
        client.get(
            url(session, "dashboard:session_events"),
            {"before_seq": 51},
            **htmx("transcript-prev"),
        )
    # A page without tool calls reads no results.
    with django_assert_num_queries(8):
        client.get(
            url(session, "dashboard:session_events"),
            {"after_seq": 53, "seen": 53},
            **htmx("transcript-more"),
        )
