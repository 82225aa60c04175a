"""A session's start and last activity come from its events, not from when rows were written."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from sessions_app.inputs import EventInput
from sessions_app.models import AgentSession
from sessions_app.services.events import events_append
from sessions_app.services.sessions import session_upsert

pytestmark = pytest.mark.django_db

MAY = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _event(i: str, at: datetime) -> EventInput:
    return EventInput(external_id=i, source="user", role="user", content="hi", timestamp=at)


def test_imported_history_keeps_its_own_start_and_last_activity(project):
    events_append(
        project=project,
        session_external_id="old",
        events=[_event("a", MAY), _event("b", MAY + timedelta(minutes=5))],
    )
    session = AgentSession.objects.get(external_id="old")
    assert session.created_at == MAY
    assert session.last_event_at == MAY + timedelta(minutes=5)
    assert session.duration_seconds == 300  # stored, so the list sorts by it through an index


def test_a_session_declared_before_its_first_event_starts_at_that_event(project):
    session_upsert(project=project, external_id="s", fields={"title": "declared now"})
    events_append(project=project, session_external_id="s", events=[_event("a", MAY)])
    session = AgentSession.objects.get(external_id="s")
    assert session.created_at == MAY
    assert session.last_event_at == MAY


def test_later_events_only_move_last_activity_forward(project):
    events_append(project=project, session_external_id="s", events=[_event("a", MAY)])
    late = MAY + timedelta(days=1)
    events_append(project=project, session_external_id="s", events=[_event("b", late)])
    events_append(project=project, session_external_id="s", events=[_event("c", MAY)])
    session = AgentSession.objects.get(external_id="s")
    assert session.created_at == MAY
    assert session.last_event_at == late


def test_a_live_session_starts_when_its_row_was_created_if_that_is_earlier(project):
    session, _ = session_upsert(project=project, external_id="live", fields={})
    events_append(project=project, session_external_id="live", events=[_event("a", timezone.now())])
    assert AgentSession.objects.get(external_id="live").created_at == session.created_at


def _call(i: str, call_id: str) -> EventInput:
    return EventInput(external_id=i, source="llm", type="tool_call", tool_call_id=call_id)


def _result(i: str, call_id: str) -> EventInput:
    return EventInput(
        external_id=i,
        source="tool",
        type="tool_result",
        tool_call_id=call_id,
        parent_tool_call_id=call_id,
    )


def _parent_of(external_id: str) -> str:
    from sessions_app.models import Event

    return Event.objects.get(external_id=external_id).parent_event.external_id


def test_a_reused_tool_call_id_links_each_result_to_the_latest_call_before_it(project):
    # Branches of a conversation replay the same call ids.
    events_append(
        project=project,
        session_external_id="s",
        events=[_call("c1", "call_1"), _result("r1", "call_1"), _call("c2", "call_1")],
    )
    events_append(project=project, session_external_id="s", events=[_result("r2", "call_1")])
    events_append(
        project=project,
        session_external_id="s",
        events=[_call("c3", "call_1"), _result("r3", "call_1")],
    )
    assert _parent_of("r1") == "c1"
    assert _parent_of("r2") == "c2"
    assert _parent_of("r3") == "c3"
