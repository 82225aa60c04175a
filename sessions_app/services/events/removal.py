"""Removing events from a session: the latest item (pop) or all of them (clear)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F

from ...models import AgentSession, Event
from ..sessions import delete_events_of
from .rollups import session_recompute_rollups


@transaction.atomic
def event_pop_last(*, session: AgentSession) -> Event | None:
    """Remove the latest item of a session (with the events derived from it) and return it.

    An OpenAI chat message with `tool_calls` is stored as the message plus one tool_call event
    per call; popping removes all of them, as an SDK session's `pop_item` removes one item.
    """
    session = AgentSession.objects.select_for_update().get(pk=session.pk)
    # Loaded with its usage and its parent's and run's ids: the caller shows what was removed.
    events = (
        Event.objects.filter(session=session)
        .select_related("usage")
        .annotate(
            parent_external_id=F("parent_event__external_id"),
            run_external_id=F("run__external_id"),
        )
        .order_by("-seq")
    )
    last = events.filter(payload__isnull=False).first() or events.first()
    if last is None:
        return None
    delete_events_of(project_id=session.project_id, session_ids=[session.pk], from_seq=last.seq)
    session_recompute_rollups(session=session)
    return last


@transaction.atomic
def events_clear(*, session: AgentSession) -> int:
    """Remove every event of a session (its runs and the session itself stay)."""
    session = AgentSession.objects.select_for_update().get(pk=session.pk)
    deleted = delete_events_of(project_id=session.project_id, session_ids=[session.pk])
    session.summaries.all().delete()
    session_recompute_rollups(session=session)
    return deleted
