"""Reads for the payload viewer: the large JSON values pages load only when someone opens them."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404

from ..models import AgentSession, Event, Project


def session_state(project: Project, pk: int) -> tuple[AgentSession, Any]:
    """A session of the project with only its id and its `state` (deferred elsewhere), or 404."""
    session = get_object_or_404(
        AgentSession.objects.only("id", "project_id", "state"), project=project, pk=pk
    )
    return session, session.state


def event_content(project: Project, pk: int, seq: int) -> Event:
    """One event's content (a long tool result or arguments), by its session and seq, or 404."""
    return get_object_or_404(
        Event.objects.only("id", "session_id", "seq", "content", "is_error"),
        session__project=project,
        session_id=pk,
        seq=seq,
    )
