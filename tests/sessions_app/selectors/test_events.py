"""Reads of events and runs: pages by seq, runs scoped to their session and project."""

from __future__ import annotations

import pytest

from sessions_app.errors import NotFound
from sessions_app.inputs import EventInput
from sessions_app.models import AgentSession, Run
from sessions_app.selectors.events import (
    events_page,
    run_by_external_id,
    session_has_run,
    transcript_page,
)
from sessions_app.services.events import events_append

pytestmark = pytest.mark.django_db


def _session(project, external_id: str, n: int) -> AgentSession:
    events_append(
        project=project,
        session_external_id=external_id,
        events=[
            EventInput(external_id=f"{external_id}-{i}", source="user", content=f"m{i}")
            for i in range(1, n + 1)
        ],
    )
    return AgentSession.objects.get(project=project, external_id=external_id)


def test_event_pages_follow_seq_and_say_where_to_go_on(project):
    session = _session(project, "s", 5)
    rows, after = events_page(session, after_seq=0, limit=2)
    assert [e.seq for e in rows] == [1, 2] and after == 2
    rows, after = events_page(session, after_seq=4, limit=2)
    assert [e.seq for e in rows] == [5] and after is None


def test_a_transcript_page_brings_the_event_before_it(project):
    session = _session(project, "s", 5)
    rows, previous, has_more = transcript_page(session, after_seq=2, limit=2)
    assert [e.seq for e in rows] == [3, 4] and previous.seq == 2 and has_more


def test_a_run_belongs_to_its_session_only(project, other_project):
    session, other = _session(project, "a", 1), _session(project, "b", 1)
    run = Run.objects.create(project=project, session=session, external_id="r1")
    assert session_has_run(session, run.pk)
    assert not session_has_run(other, run.pk)


def test_another_projects_run_is_not_found(project, other_project):
    theirs = _session(other_project, "theirs", 1)
    Run.objects.create(project=other_project, session=theirs, external_id="r1")
    with pytest.raises(NotFound):
        run_by_external_id(project, "r1")
    assert run_by_external_id(other_project, "r1")[1] == "theirs"
