"""Reads of a session's branches (Agents SDK `AdvancedSQLiteSession`): which exist, and which
events each one holds (its own, after its ancestors' up to each fork point)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from ..errors import NotFound
from ..models import MAIN_BRANCH, AgentSession, Event, SessionBranch

# Items of these formats are stored as one event with the payload plus derived events.
FOREIGN_FORMATS = (Event.Format.OPENAI_CHAT, Event.Format.RESPONSES, Event.Format.AGENT_FRAMEWORK)


def session_branches(session: AgentSession) -> list[SessionBranch]:
    """The session's branches, main first then by creation (main is implicit: never stored)."""
    stored = list(SessionBranch.objects.filter(session=session).order_by("created_at", "pk"))
    main = SessionBranch(session=session, name=MAIN_BRANCH, created_at=session.created_at)
    return [main, *(b for b in stored if b.name != MAIN_BRANCH)]


def branch_filter(session: AgentSession, branch: str) -> Q:
    """The events of `branch`: its own, and each ancestor's up to where the line forked.
    One query for a named branch; none for main."""
    if branch == MAIN_BRANCH:
        return Q(branch=MAIN_BRANCH)
    rows = {b.name: b for b in SessionBranch.objects.filter(session=session)}
    if branch not in rows:
        raise NotFound(f"No branch {branch!r} in this session.", field="branch")
    condition = Q(branch=branch)
    name, seen = branch, {branch}
    limit: int | None = None
    while name in rows:
        row = rows[name]
        limit = row.fork_seq if limit is None else min(limit, row.fork_seq)
        parent = row.parent or MAIN_BRANCH
        condition |= Q(branch=parent, seq__lte=limit)
        if parent in seen:
            break
        seen.add(parent)
        name = parent
    return condition


def _user_turns(session: AgentSession, branch: str) -> QuerySet[Event]:
    """The live user messages of a branch, in order: turn N is the N-th (the SDK's
    `branch_turn_number`)."""
    return Event.objects.filter(
        branch_filter(session, branch),
        session=session,
        type=Event.Type.MESSAGE,
        source=Event.Source.USER,
        removed_at__isnull=True,
    ).order_by("seq")


def turn_start_seq(session: AgentSession, branch: str, turn: int) -> int | None:
    """The seq of a branch's user turn `turn` (1-based), or None when it has fewer turns."""
    if turn < 1:
        return None
    return _user_turns(session, branch).values_list("seq", flat=True)[turn - 1 : turn].first()


def branch_counts(session: AgentSession, branch: str) -> tuple[int, int]:
    """A branch's live items (events with a payload, or native events) and user turns."""
    live = Event.objects.filter(
        branch_filter(session, branch), session=session, removed_at__isnull=True
    ).exclude(payload__isnull=True, payload_format__in=FOREIGN_FORMATS)
    # A run's usage is recorded as a reference event: not an item of the conversation.
    live = live.exclude(type=Event.Type.REFERENCE)
    return live.count(), _user_turns(session, branch).count()


def branch_exists(session: AgentSession, name: str) -> bool:
    """Whether the session has this branch (main always exists)."""
    return name == MAIN_BRANCH or SessionBranch.objects.filter(session=session, name=name).exists()
