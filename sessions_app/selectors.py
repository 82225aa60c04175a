"""Read-side queries (HackSoft style): views and API operations read through these."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Max, QuerySet, Sum

from .models import AgentSession, Event, Membership, Project


def projects_for_user(user: AbstractBaseUser) -> QuerySet[Project]:
    """Projects a user may see: all for a superuser, else those they are a member of."""
    if user.is_superuser:
        return Project.objects.all()
    return Project.objects.filter(memberships__user=user)


def role_of(user: AbstractBaseUser, project: Project) -> str | None:
    """The user's role in a project (superusers are admins everywhere), or None."""
    if user.is_superuser:
        return Membership.Role.ADMIN
    return (
        Membership.objects.filter(user=user, project=project).values_list("role", flat=True).first()
    )


def session_subtree(session: AgentSession) -> QuerySet[AgentSession]:
    """The session and all its descendants (one indexed prefix scan on the materialised path)."""
    return AgentSession.objects.filter(project_id=session.project_id, path__startswith=session.path)


def session_subtree_totals(session: AgentSession) -> dict:
    """Rollups summed over a session's subtree: sessions, events, tokens, cost, last activity."""
    return session_subtree(session).aggregate(
        sessions=Count("id"),
        events=Sum("event_count"),
        prompt_tokens=Sum("prompt_tokens"),
        completion_tokens=Sum("completion_tokens"),
        total_tokens=Sum("total_tokens"),
        cost_usd=Sum("cost_usd"),
        errors=Sum("error_count"),
        last_event_at=Max("last_event_at"),
    )


def session_ancestors(session: AgentSession) -> list[AgentSession]:
    """Ancestors from the root down to the parent, in one query (ids come from the path)."""
    ids = [int(part) for part in session.path.strip("/").split("/")[:-1] if part]
    by_id = AgentSession.objects.in_bulk(ids)
    return [by_id[i] for i in ids if i in by_id]


def session_events_page(
    session: AgentSession, *, after_seq: int = 0, limit: int = 100
) -> QuerySet[Event]:
    """A page of a session's events in seq order, by keyset (never OFFSET)."""
    return Event.objects.filter(session=session, seq__gt=after_seq).order_by("seq")[:limit]

