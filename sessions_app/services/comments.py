"""Comments on sessions and events, by people (their user) and programs (their key's name)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ..errors import InvalidInput, PermissionDenied
from ..models import AgentSession, Comment, Event
from .history import review_event_add

MAX_COMMENT_LENGTH = 10_000


def _clean(text: str) -> str:
    text = text.strip()
    if not text:
        raise InvalidInput("A comment needs some text.", field="text")
    if len(text) > MAX_COMMENT_LENGTH:
        raise InvalidInput(f"A comment is at most {MAX_COMMENT_LENGTH} characters.", field="text")
    return text


def _where(event: Event | None) -> str:
    return f" on event #{event.seq}" if event else ""


@transaction.atomic
def comment_add(
    *,
    session: AgentSession,
    text: str,
    event: Event | None = None,
    user: User | None = None,
    author_name: str = "",
) -> Comment:
    """Add a comment to a session (or to one of its events) by a user or a named program."""
    if event is not None and event.session_id != session.pk:
        raise InvalidInput("That event is not in this session.", field="event_id")
    now = timezone.now()
    comment = Comment.objects.create(
        project_id=session.project_id,
        session=session,
        event=event,
        text=_clean(text),
        author=user,
        author_name=author_name or (user.get_username() if user else ""),
        created_at=now,
        updated_at=now,
    )
    AgentSession.objects.filter(pk=session.pk).update(comment_count=F("comment_count") + 1)
    review_event_add(
        session=session,
        actor=user,
        actor_name=comment.author_name,
        kind="comment",
        summary=f"commented{_where(event)}: {comment.text[:120]}",
    )
    return comment


@transaction.atomic
def comment_edit(*, comment: Comment, text: str, user: User) -> Comment:
    """Change a comment's text; only its author may."""
    if comment.author_id != user.pk:
        raise PermissionDenied("Only its author may edit a comment.", field="text")
    comment.text = _clean(text)
    comment.updated_at = timezone.now()
    comment.save(update_fields=["text", "updated_at"])
    review_event_add(
        session=comment.session,
        actor=user,
        actor_name="",
        kind="comment",
        summary=f"edited a comment: {comment.text[:120]}",
    )
    return comment


@transaction.atomic
def comment_delete(*, comment: Comment, user: User, is_admin: bool) -> None:
    """Delete a comment; its author may, and so may a project admin."""
    if comment.author_id != user.pk and not is_admin:
        raise PermissionDenied("Only its author or an admin may delete a comment.")
    review_event_add(
        session=comment.session,
        actor=user,
        actor_name="",
        kind="comment",
        summary=f"deleted a comment by {comment.author_name}: {comment.text[:100]}",
    )
    comment.delete()
    # Clamped at 0: the column is unsigned, and a count backfilled while comments were being
    # deleted must not fail the deletion.
    AgentSession.objects.filter(pk=comment.session_id, comment_count__gt=0).update(
        comment_count=F("comment_count") - 1
    )
