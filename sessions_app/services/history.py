"""The review history of a session: one line per change to its review, scores and comments."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import User

from ..models import AgentSession, ReviewEvent

Actor = User | None


def review_event_add(
    *, session: AgentSession, actor: Actor, actor_name: str, kind: str, summary: str
) -> ReviewEvent:
    """Record one change to a session's review (called inside the change's transaction)."""
    user = actor if isinstance(actor, User) else None
    return ReviewEvent.objects.create(
        project_id=session.project_id,
        session=session,
        actor=user,
        actor_name=actor_name or (user.get_username() if user else ""),
        kind=kind,
        summary=summary[:500],
    )


# Rows per INSERT when a bulk action writes history for many sessions.
BULK_BATCH = 1000


def review_events_add_bulk(
    *,
    sessions: Iterable[tuple[int, int]],
    actor: Actor,
    kind: str,
    summary: str,
    actor_name: str = "",
) -> int:
    """Record the same change to many sessions, given as (id, project id) pairs, in one
    INSERT per thousand rows (called inside the change's transaction); returns how many."""
    user = actor if isinstance(actor, User) else None
    name = actor_name or (user.get_username() if user else "")
    rows = [
        ReviewEvent(
            project_id=project_id,
            session_id=pk,
            actor=user,
            actor_name=name,
            kind=kind,
            summary=summary[:500],
        )
        for pk, project_id in sessions
    ]
    ReviewEvent.objects.bulk_create(rows, batch_size=BULK_BATCH)
    return len(rows)
