"""Bulk actions on the sessions list: review marks and archiving, one UPDATE for the lot."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from ..errors import InvalidInput
from ..models import AgentSession


@transaction.atomic
def sessions_review_bulk(*, sessions: QuerySet[AgentSession], status: str, user: User) -> int:
    """Mark every session reviewed or flagged (or clear the mark), keeping their notes;
    returns how many were changed."""
    if status not in AgentSession.Review.values:
        raise InvalidInput("review must be reviewed, flagged or empty.", field="review_status")
    now = timezone.now()
    return _unordered(sessions).update(
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
