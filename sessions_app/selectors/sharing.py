"""Reads of saved views and share links."""

from __future__ import annotations

import hashlib

from django.contrib.auth.models import User
from django.db.models import Q
from django.http import Http404

from ..models import AgentSession, Event, Project, SavedView, ShareLink


def saved_views_for(project: Project, user: User) -> list[SavedView]:
    """The views a user may pick on the list: their own and those shared with the project
    (one query), the owner's username loaded for the shared ones."""
    return list(
        SavedView.objects.filter(project=project)
        .filter(Q(owner=user) | Q(shared=True))
        .select_related("owner")
        .only("pk", "name", "query", "shared", "owner_id", "owner__username")
    )


def saved_view_for(project: Project, pk: int, user: User) -> SavedView:
    """One view the user may see (their own or a shared one), or 404."""
    view = (
        SavedView.objects.filter(project=project, pk=pk)
        .filter(Q(owner=user) | Q(shared=True))
        .first()
    )
    if view is None:
        raise Http404("No such saved view.")
    return view


def token_hash(token: str) -> str:
    """The stored form of a share link's token."""
    return hashlib.sha256(token.encode()).hexdigest()


def share_link_by_token(token: str) -> ShareLink | None:
    """The link a token opens (revoked and expired ones included: the caller says which), with
    its session; None for a token nobody made."""
    if not token or len(token) > 100:
        return None
    return ShareLink.objects.select_related("session").filter(token_hash=token_hash(token)).first()


def share_links_of_project(project: Project, *, limit: int = 200) -> list[ShareLink]:
    """The project's share links, newest first, with their session and author."""
    return list(
        ShareLink.objects.filter(project=project)
        .select_related("session", "created_by")
        .only(
            *(f.name for f in ShareLink._meta.concrete_fields if f.name != "token_hash"),
            "session__external_id",
            "session__title",
            "session__preview",
            "created_by__username",
        )[:limit]
    )


def share_links_of_session(session: AgentSession) -> list[ShareLink]:
    """A session's share links, newest first."""
    return list(ShareLink.objects.filter(session=session).select_related("created_by"))


def share_link_of_project(project: Project, pk: int) -> ShareLink:
    """One of the project's links, or 404 (another project's link does not exist here)."""
    link = ShareLink.objects.filter(project=project, pk=pk).select_related("session").first()
    if link is None:
        raise Http404("No such share link.")
    return link


def shared_transcript_page(
    session: AgentSession, *, after_seq: int, limit: int
) -> tuple[list[Event], bool]:
    """A page of a shared session's events by seq (keyset): only what the transcript shows."""
    rows = list(
        Event.objects.filter(session=session, seq__gt=after_seq)
        .order_by("seq")
        .only("pk", "seq", "timestamp", "source", "type", "role", "name", "content", "is_error")[
            : limit + 1
        ]
    )
    return rows[:limit], len(rows) > limit
