"""Reads of summaries: a session's newest first, one of the project's; another's is not found."""

from __future__ import annotations

import pytest

from sessions_app.errors import NotFound
from sessions_app.inputs import EventInput
from sessions_app.models import AgentSession
from sessions_app.selectors.summaries import (
    session_summaries,
    summary_for_api,
    summary_of_project,
)
from sessions_app.services.events import events_append
from sessions_app.services.summaries import summary_create

pytestmark = pytest.mark.django_db


def _session(project, external_id: str = "conv") -> AgentSession:
    events_append(
        project=project,
        session_external_id=external_id,
        events=[EventInput(external_id=f"{external_id}-1", source="user", content="Hello")],
    )
    return AgentSession.objects.get(project=project, external_id=external_id)


def test_a_sessions_summaries_come_newest_first(project):
    session = _session(project)
    first = summary_create(session=session)
    second = summary_create(session=session, strategy="key_points")
    assert session_summaries(session.pk) == [second, first]


def test_another_projects_summary_is_not_found(project, other_project):
    theirs = summary_create(session=_session(other_project, "theirs"))
    assert summary_of_project(project.pk, theirs.pk) is None
    with pytest.raises(NotFound) as caught:
        summary_for_api(project.pk, theirs.pk)
    assert caught.value.field == "id"


def test_the_api_reads_a_summary_with_its_session(project):
    session = _session(project, "conv-1")
    summary = summary_create(session=session)
    assert summary_for_api(project.pk, summary.pk).session.external_id == "conv-1"
