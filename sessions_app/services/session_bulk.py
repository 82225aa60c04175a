"""Bulk actions on the sessions list: review marks (with their history lines, in bulk) and
archiving, one UPDATE for the lot."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from ..errors import InvalidInput
from ..models import AgentSession
from .history import review_events_add_bulk


@transaction.atomic
def sessions_review_bulk(*, sessions: QuerySet[AgentSession], status: str, user: User) -> int:
    """Mark every session reviewed or flagged (or clear the mark), keeping their notes, with a
    line in each changed session's review history as marking it from its page writes; returns
    how many were changed (those already so marked are left as they are)."""
    if status not in AgentSession.Review.values:
        raise InvalidInput("review must be reviewed, flagged or empty.", field="review_status")
    now = timezone.now()
    changing = _unordered(sessions).exclude(review_status=status)
    # Locked first, so the history written is that of exactly the rows updated.
    locked = list(changing.select_for_update().values_list("pk", "project_id"))
    if not locked:
        return 0
    mark = AgentSession.Review(status).label.lower()
    review_events_add_bulk(
        sessions=locked, actor=user, kind="review", summary=f"set the review to {mark}"
    )
    return changing.update(
        review_status=status,
        reviewed_by=user if status else None,
        reviewed_at=now if status else None,
    )


@transaction.atomic
def sessions_archive_bulk(*, sessions: QuerySet[AgentSession]) -> int:
    """Archive every session (hidden from the default list); returns how many changed."""
    return (
        _unordered(sessions)
        .exclude(status=AgentSession.Status.ARCHIVED)
        .update(status=AgentSession.Status.ARCHIVED, updated_at=timezone.now())
    )


def _unordered(sessions: QuerySet[AgentSession]) -> QuerySet[AgentSession]:
    # A filtered list's queryset may defer columns or carry a sort; UPDATE wants neither, and a
    # subquery on pk keeps filters that join (full-text search, model) valid in an UPDATE.
    return AgentSession.objects.filter(pk__in=sessions.order_by().values("pk"))
