"""Saved views of the sessions list and share links to one session."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from ..errors import Conflict, InvalidInput
from ..models import AgentSession, Project, SavedView, ShareLink
from ..selectors.sharing import token_hash

MAX_SHARE_DAYS = 90
MAX_VIEW_NAME = 100
MAX_QUERY = 2000


@transaction.atomic
def saved_view_create(
    *, project: Project, owner: User, name: str, query: str, shared: bool
) -> SavedView:
    """Save the list's filters and sort under a name; a name is unique per owner."""
    name = name.strip()
    if not name or len(name) > MAX_VIEW_NAME:
        raise InvalidInput(f"A view needs a name of 1 to {MAX_VIEW_NAME} characters.", field="name")
    if len(query) > MAX_QUERY:
        raise InvalidInput("These filters are too long to save.", field="query")
    try:
        with transaction.atomic():
            return SavedView.objects.create(
                project=project, owner=owner, name=name, query=query, shared=shared
            )
    except IntegrityError:
        raise Conflict(f"You already have a view named {name!r}.", field="name") from None


@transaction.atomic
def saved_view_delete(*, view: SavedView) -> None:
    """Delete a saved view (the caller has checked who may)."""
    SavedView.objects.filter(pk=view.pk).delete()


@transaction.atomic
def share_link_create(
    *,
    session: AgentSession,
    user: User | None,
    days: int = 7,
    note: str = "",
) -> tuple[ShareLink, str]:
    """Make a read-only link to a session, expiring in `days`; returns the link and its token,
    which is not stored (only its hash) and cannot be shown again."""
    if not 1 <= days <= MAX_SHARE_DAYS:
        raise InvalidInput(f"A link lasts 1 to {MAX_SHARE_DAYS} days.", field="days")
    if len(note) > 200:
        raise InvalidInput("A note is at most 200 characters.", field="note")
    # 32 random bytes: unguessable, and URL-safe as it stands.
    token = secrets.token_urlsafe(32)
    link = ShareLink.objects.create(
        project_id=session.project_id,
        session=session,
        token_hash=token_hash(token),
        hint=token[:6],
        note=note.strip(),
        created_by=user,
        expires_at=timezone.now() + timedelta(days=days),
    )
    return link, token


@transaction.atomic
def share_link_revoke(*, link: ShareLink) -> ShareLink:
    """Revoke a link now (revoking twice keeps the first time)."""
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        ShareLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(
            revoked_at=link.revoked_at
        )
    return link


def share_link_opened(*, link: ShareLink) -> None:
    """Count one opening of a link (one UPDATE: concurrent openings all count)."""
    now = timezone.now()
    ShareLink.objects.filter(pk=link.pk).update(open_count=F("open_count") + 1, last_opened_at=now)
    link.open_count += 1
    link.last_opened_at = now
