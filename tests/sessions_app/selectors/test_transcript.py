"""Moving through a transcript: pages before a seq, errors around a seq, hits of a search inside
a session (both the bounded probe and the index path on PostgreSQL)."""

from __future__ import annotations

import pytest

from sessions_app.inputs import EventInput
from sessions_app.models import AgentSession
from sessions_app.selectors import transcript
from sessions_app.services.events import events_append
from sessions_app.services.sessions import session_upsert

pytestmark = pytest.mark.django_db


@pytest.fixture
def long(project) -> AgentSession:
    session_upsert(project=project, external_id="long", fields={})
    events_append(
        project=project,
        session_external_id="long",
        events=[
            EventInput(
                external_id=f"e-{n}",
                source="user",
                role="user",
                content=f"step {n} common"
                + (" rare" if n in (7, 150, 151) else "")
                + (" often" if n % 3 == 0 else ""),
                is_error=n in (20, 90),
            )
            for n in range(1, 201)
        ],
    )
    return AgentSession.objects.get(external_id="long")


def test_the_page_before_a_seq_comes_in_seq_order_with_the_event_before_it(long):
    events, previous, has_less = transcript.transcript_before(long, before_seq=100, limit=10)
    assert [e.seq for e in events] == list(range(90, 100))
    assert previous.seq == 89 and has_less
    events, previous, has_less = transcript.transcript_before(long, before_seq=5, limit=10)
    assert [e.seq for e in events] == [1, 2, 3, 4] and previous is None and not has_less


def test_errors_after_and_before_a_seq(long):
    assert transcript.error_seq_after(long, 0) == 20
    assert transcript.error_seq_after(long, 20) == 90
    assert transcript.error_seq_after(long, 90) is None
    assert transcript.error_seq_before(long, 90) == 20
    assert transcript.error_seq_before(long, 20) is None


@pytest.mark.parametrize("probe", [1_000, 10])
def test_hits_of_a_rare_and_a_common_word(long, monkeypatch, probe):
    monkeypatch.setattr(transcript, "PROBE", probe)
    hits, more = transcript.find_in_session(long, "rare", limit=2)
    assert [h.seq for h in hits] == [7, 150] and more
    assert "rare" in hits[0].text
    hits, more = transcript.find_in_session(long, "rare", after_seq=150, limit=2)
    assert [h.seq for h in hits] == [151] and not more
    hits, more = transcript.find_in_session(long, "often", after_seq=100, limit=3)
    assert [h.seq for h in hits] == [102, 105, 108] and more
    assert transcript.hit_seq_after(long, "rare", 7) == 150
    assert transcript.hit_seq_before(long, "rare", 150) == 7
    assert transcript.hit_seq_before(long, "rare", 7) is None
    assert transcript.hit_seq_after(long, "nowhere", 0) is None


def test_an_event_and_a_session_are_found_by_their_own_ids(long, project, other_project):
    assert transcript.session_pk_by_external_id(project, "long") == long.pk
    assert transcript.session_pk_by_external_id(other_project, "long") is None
    assert transcript.event_location(project, "e-42") == (long.pk, 42)
    assert transcript.event_location(other_project, "e-42") is None


def _tool_event(kind: str, external_id: str, call_id: str, **fields) -> EventInput:
    source = "llm" if kind == "tool_call" else "tool"
    return EventInput(
        external_id=external_id, source=source, type=kind, tool_call_id=call_id, **fields
    )


def test_a_result_belongs_to_its_call_only_where_the_call_is_shown(project):
    from sessions_app.selectors.branches import branch_filter
    from sessions_app.selectors.events import transcript_page
    from sessions_app.services.branches import branch_create_from_turn

    def user(external_id: str) -> EventInput:
        return EventInput(external_id=external_id, source="user", role="user", content="q")

    events_append(
        project=project,
        session_external_id="calls",
        events=[user("q1"), user("q2"), _tool_event("tool_call", "c1", "call-1")],
    )
    session = AgentSession.objects.get(external_id="calls")
    branch_create_from_turn(session=session, name="retry", from_turn=2)
    events_append(
        project=project,
        session_external_id="calls",
        events=[
            _tool_event("tool_result", "r1", "call-1", parent_tool_call_id="call-1", branch="retry")
        ],
    )
    # Another session's result hung on this session's call is not this call's to show.
    events_append(
        project=project,
        session_external_id="elsewhere",
        events=[_tool_event("tool_result", "r-x", "call-1", parent_external_id="c1")],
    )

    def call_seqs(session: AgentSession, **filters) -> dict[int, int | None]:
        rows, _, _ = transcript_page(session, limit=10, **filters)
        return {e.seq: e.call_seq for e in rows}

    assert call_seqs(session) == {1: None, 2: None, 3: None, 4: 3}
    # On the branch the call (on main after the fork) is not shown: the result stands alone.
    assert call_seqs(session, branch=branch_filter(session, "retry")) == {1: None, 4: None}
    other = AgentSession.objects.get(external_id="elsewhere")
    assert call_seqs(other) == {1: None}


def test_a_pages_calls_bring_their_results_from_past_the_page(project, django_assert_num_queries):
    from sessions_app.selectors.events import transcript_page

    events = [EventInput(external_id="ask", source="llm", role="assistant", content="a")]
    events += [_tool_event("tool_call", f"c{n}", f"call-{n}") for n in (1, 2)]
    events += [EventInput(external_id="between", source="user", role="user", content="b")]
    events += [
        _tool_event("tool_result", f"r{n}", f"call-{n}", parent_tool_call_id=f"call-{n}")
        for n in (2, 1)
    ]
    events_append(project=project, session_external_id="split", events=events)
    session = AgentSession.objects.get(external_id="split")
    shown = transcript.shown_events()
    rows, _, more = transcript_page(session, limit=3)
    with django_assert_num_queries(1):
        page = transcript.call_results(session, rows, start=1, shown=shown)
    assert [e.seq for e in page.events] == [1, 2, 3, 5, 6] and more
    assert page.seen == 6 and page.late == []
    # The next page leaves them out, and tells apart what came after the first was made.
    rows, _, _ = transcript_page(session, after_seq=3, limit=3)
    with django_assert_num_queries(0):
        page = transcript.call_results(session, rows, start=4, shown=shown, seen=6)
    assert [e.seq for e in page.events] == [4] and page.late == []
    page = transcript.call_results(session, rows, start=4, shown=shown, seen=5)
    assert [e.seq for e in page.late] == [6]
