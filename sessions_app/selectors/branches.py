"""Reads of a session's branches (Agents SDK `AdvancedSQLiteSession`): which exist, and which
events each one holds (its own, after its ancestors' up to each fork point)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from ..errors import NotFound
from ..models import MAIN_BRANCH, AgentSession, Event, SessionBranch
from .sessions import chain_base

# Items of these formats are stored as one event with the payload plus derived events.
FOREIGN_FORMATS = (Event.Format.OPENAI_CHAT, Event.Format.RESPONSES, Event.Format.AGENT_FRAMEWORK)


def branch_session(session: AgentSession, branch: str | None) -> AgentSession:
    """The session a read of `branch` reads: for a branch other than main, the conversation
    that has the branch and holds its events (a segment's id stands for its chain's base: a
    branch's events are not segmented); else the session itself. No query unless `session` is
    a segment."""
    if branch is None or branch == MAIN_BRANCH:
        return session
    return chain_base(session)


def session_branches(session: AgentSession) -> list[SessionBranch]:
    """The session's branches, main first then by creation (main is implicit: never stored);
    deleted branches are left out."""
    stored = list(
        SessionBranch.objects.filter(session=session, deleted_at__isnull=True).order_by(
            "created_at", "pk"
        )
    )
    main = SessionBranch(session=session, name=MAIN_BRANCH, created_at=session.created_at)
    return [main, *(b for b in stored if b.name != MAIN_BRANCH)]


def branch_filter(session: AgentSession, branch: str) -> Q:
    """The events of `branch`: its own, and each ancestor's up to where the line forked.
    One query for a named branch; none for main. A deleted branch is not found (its ancestors
    may be deleted: their events up to the fork still belong to the branches forked from them)."""
    if branch == MAIN_BRANCH:
        return Q(branch=MAIN_BRANCH)
    rows = {b.name: b for b in SessionBranch.objects.filter(session=session)}
    if branch not in rows or rows[branch].deleted_at is not None:
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
    """A branch's live items (events with a payload, or native events, that the agent wrote)
    and user turns."""
    live = Event.objects.filter(
        branch_filter(session, branch), session=session, removed_at__isnull=True
    ).exclude(payload__isnull=True, payload_format__in=FOREIGN_FORMATS)
    # A run's usage is recorded as a reference event: not an item of the conversation. Nor is
    # the `summary` event the server writes when it summarizes the session: a summary row links
    # to it (`Summary.event`). An agent's own summary events have no such row and stay items.
    live = live.exclude(type=Event.Type.REFERENCE).filter(summary_record__isnull=True)
    return live.count(), _user_turns(session, branch).count()


def branch_exists(session: AgentSession, name: str) -> bool:
    """Whether the session has this branch, not deleted (main always exists)."""
    return (
        name == MAIN_BRANCH
        or SessionBranch.objects.filter(
            session=session, name=name, deleted_at__isnull=True
        ).exists()
    )


def latest_branch_item(session: AgentSession, branch: str, fmt: str | None) -> Event | None:
    """The latest live item a branch reads (its own or shared with its parents), written in
    `fmt` when given: what the SDK's `pop_item` takes from a branch."""
    items = Event.objects.filter(
        branch_filter(session, branch),
        session=session,
        removed_at__isnull=True,
        payload__isnull=False,
    )
    if fmt is not None:
        items = items.filter(payload_format=fmt)
    return items.order_by("-seq").only("seq").first()


def shared_up_to(session: AgentSession, branch: str) -> int:
    """How far the live branches forked from `branch` (directly, or through deleted branches)
    read its events: its events up to this seq are theirs too (0: none). One query."""
    rows = list(SessionBranch.objects.filter(session=session))
    children: dict[str, list[SessionBranch]] = {}
    for row in rows:
        children.setdefault(row.parent or MAIN_BRANCH, []).append(row)
    shared = 0
    # (a branch forked from `branch`, the lowest fork point on the way down to it)
    stack = [(row, row.fork_seq) for row in children.get(branch, [])]
    seen: set[str] = set()
    while stack:
        row, limit = stack.pop()
        if row.name in seen:
            continue
        seen.add(row.name)
        if row.deleted_at is None:
            shared = max(shared, limit)
        stack.extend((child, min(limit, child.fork_seq)) for child in children.get(row.name, []))
    return shared
