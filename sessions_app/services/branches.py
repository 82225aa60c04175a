"""Branches of a session (Agents SDK `AdvancedSQLiteSession`): creating one from a user turn
of another branch, or recording one an importer found. See `models/branches.py` for why a
branch is a column on events plus one row, not a child session."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..errors import Conflict, InvalidInput, NotFound
from ..inputs import EventInput
from ..models import MAIN_BRANCH, AgentSession, Event, SessionBranch
from ..selectors.branches import branch_exists, shared_up_to, turn_start_seq

DELETE_BRANCH = "delete_branch"


@transaction.atomic
def branch_create_from_turn(
    *, session: AgentSession, name: str, parent: str = MAIN_BRANCH, from_turn: int
) -> tuple[SessionBranch, bool]:
    """A new branch holding `parent`'s events before its user turn `from_turn` (as the SDK's
    `create_branch_from_turn`), and whether it was created: a retry of the same request
    returns the stored branch; a name used before for another fork is a conflict, as in
    the SDK."""
    session = AgentSession.objects.select_for_update().get(pk=session.pk)
    stored = SessionBranch.objects.filter(session=session, name=name).first()
    if (
        stored is not None
        and stored.deleted_at is None
        and (stored.parent, stored.from_turn) == (parent, from_turn)
    ):
        return stored, False
    if stored is not None or name == MAIN_BRANCH:
        # A deleted branch's name stays taken, as in the SDK.
        raise Conflict(f"Branch {name!r} has already been used in this session.", field="name")
    if not branch_exists(session, parent):
        raise InvalidInput(f"No branch {parent!r} in this session.", field="parent")
    start = turn_start_seq(session, parent, from_turn)
    if start is None:
        raise InvalidInput(
            f"Turn {from_turn} does not contain a user message in branch {parent!r}.",
            field="from_turn",
        )
    created = SessionBranch.objects.create(
        session=session, name=name, parent=parent, fork_seq=start - 1, from_turn=from_turn
    )
    return created, True


def branches_check_writable(*, session: AgentSession, events: Iterable[EventInput]) -> None:
    """Refuse a batch holding an event written to a branch the session does not have (422)
    or has deleted (409 `branch_deleted`), naming `branch`: stored there, no read, list or
    page would ever show it. Main is always there. One query; none when all are on main."""
    wanted = list(dict.fromkeys(e.branch for e in events if e.branch != MAIN_BRANCH))
    if not wanted:
        return
    deleted = dict(
        SessionBranch.objects.filter(session=session, name__in=wanted).values_list(
            "name", "deleted_at"
        )
    )
    for name in wanted:
        if name not in deleted:
            raise InvalidInput(
                f"No branch {name!r} in this session: create it first "
                "(POST /sessions/{id}/branches).",
                field="branch",
            )
        if deleted[name] is not None:
            raise Conflict(
                f"Branch {name!r} was deleted: events cannot be written to it.",
                code="branch_deleted",
                field="branch",
            )


def branch_record(
    *, session: AgentSession, name: str, parent: str, fork_seq: int, from_turn: int
) -> SessionBranch:
    """Record (or correct) a branch whose fork point is known (an importer's)."""
    branch, _ = SessionBranch.objects.update_or_create(
        session=session,
        name=name,
        defaults={"parent": parent, "fork_seq": fork_seq, "from_turn": from_turn},
    )
    return branch


@transaction.atomic
def branch_delete(*, session: AgentSession, name: str) -> int:
    """Delete a branch (the SDK's `delete_branch`): it leaves the branch list and the agent's
    reads, its name stays taken, and its own events are marked removed (kept in the record and
    the costs) except those that branches forked from it still read. Returns how many events
    were marked. Main cannot be deleted."""
    if name == MAIN_BRANCH:
        raise InvalidInput("The main branch cannot be deleted.", field="name")
    session = AgentSession.objects.select_for_update().get(pk=session.pk)
    branch = SessionBranch.objects.filter(session=session, name=name, deleted_at=None).first()
    if branch is None:
        raise NotFound(f"No branch {name!r} in this session.", field="name")
    now = timezone.now()
    branch.deleted_at = now
    branch.save(update_fields=["deleted_at"])
    # A run's usage recorded on the branch (a reference event) goes with it, as the SDK drops
    # the branch's `turn_usage`; the forked branches never read it.
    own = Event.objects.filter(session=session, branch=name, removed_at__isnull=True)
    return own.filter(Q(seq__gt=shared_up_to(session, name)) | Q(type=Event.Type.REFERENCE)).update(
        removed_at=now, removed_by=DELETE_BRANCH
    )
