"""The review history of a session: one line per change to its review, scores and comments."""

from __future__ import annotations

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
