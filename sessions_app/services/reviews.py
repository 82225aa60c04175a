"""Review marks on sessions (reviewed, flagged, a note) and archiving from the dashboard."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from ..errors import InvalidInput
from ..models import AgentSession
from .history import review_event_add

MAX_NOTE_LENGTH = 5000


@transaction.atomic
def session_review_set(
    *, session: AgentSession, status: str, note: str, user: User
) -> AgentSession:
    """Mark a session reviewed or flagged (or clear the mark) with an optional note."""
    if status not in AgentSession.Review.values:
        raise InvalidInput("review must be reviewed, flagged or empty.", field="review_status")
    if len(note) > MAX_NOTE_LENGTH:
        raise InvalidInput(f"A note is at most {MAX_NOTE_LENGTH} characters.", field="review_note")
    now = timezone.now()
    if status != session.review_status or note != session.review_note:
        mark = AgentSession.Review(status).label.lower()
        review_event_add(
            session=session,
            actor=user,
            actor_name="",
            kind="review",
            summary=f"set the review to {mark}" + (f": {note[:120]}" if note else ""),
        )
    session.review_status = status
    session.review_note = note
    session.reviewed_by = user if (status or note) else None
    session.reviewed_at = now if (status or note) else None
    AgentSession.objects.filter(pk=session.pk).update(
        review_status=session.review_status,
        review_note=session.review_note,
        reviewed_by=session.reviewed_by,
        reviewed_at=session.reviewed_at,
    )
    return session


@transaction.atomic
@transaction.atomic
def session_archive_set(*, session: AgentSession, archived: bool) -> AgentSession:
    """Archive a session (hidden from the default list) or bring it back with the status it
    had before (completed when that is not known)."""
    row = (
        AgentSession.objects.select_for_update().only("status", "archived_from").get(pk=session.pk)
    )
    now = timezone.now()
    if archived:
        if row.status == AgentSession.Status.ARCHIVED:
            status, archived_from = row.status, row.archived_from
        else:
            status, archived_from = AgentSession.Status.ARCHIVED, row.status
    elif row.status != AgentSession.Status.ARCHIVED:
        status, archived_from = row.status, ""
    else:
        status = row.archived_from or AgentSession.Status.COMPLETED
        archived_from = ""
    AgentSession.objects.filter(pk=session.pk).update(
        status=status, archived_from=archived_from, updated_at=now
    )
    session.status, session.archived_from, session.updated_at = status, archived_from, now
    return session
