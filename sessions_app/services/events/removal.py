"""Removing items from an agent's view of a session: the latest item (pop) or all (clear).

Nothing is erased: removed events are marked with when and by which call, disappear from the
agent's reads (`format=` reads, prompts, the next pop) and stay in the record, the transcript
and the cost figures. Money spent stays spent. Retention and the dashboard's delete
(`services.sessions.delete_events_of`) still remove them for good.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ...models import AgentSession, Event

POP = "pop"
CLEAR = "clear"


@transaction.atomic
def event_pop_last(*, session: AgentSession) -> Event | None:
    """Mark the latest live item of a session (with the events derived from it) removed and
    return it as it was before the pop.

    An OpenAI chat message with `tool_calls` is stored as the message plus one tool_call event
    per call; popping removes all of them, as an SDK session's `pop_item` removes one item.
    """
    session = AgentSession.objects.select_for_update().get(pk=session.pk)
    # Loaded with its usage and its parent's and run's ids: the caller shows what was removed.
    events = (
        Event.objects.filter(session=session, removed_at__isnull=True)
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
    Event.objects.filter(session=session, seq__gte=last.seq, removed_at__isnull=True).update(
        removed_at=timezone.now(), removed_by=POP
    )
    return last


@transaction.atomic
def events_clear(*, session: AgentSession) -> int:
    """Mark every live event of a session removed (every branch, as the SDK's
    `clear_session`); returns how many were."""
    session = AgentSession.objects.select_for_update().get(pk=session.pk)
    return Event.objects.filter(session=session, removed_at__isnull=True).update(
        removed_at=timezone.now(), removed_by=CLEAR
    )
