"""Appending events to a session: the service, and its general path through the ORM.

Everything for one batch happens in one transaction under the session's row lock, so a batch is
stored all or nothing, concurrent writers to a session queue instead of colliding, and the
rollups (counts, tokens, cost, last_seq) are incremented without a read-modify-write race. On
PostgreSQL a plain batch is first offered to the one statement (statement.py), which stores the
same rows from the same description (rows.py).
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from ...errors import InvalidInput
from ...inputs import AppendResult, EventInput
from ...models import MAIN_BRANCH, AgentSession, Event, Project
from ..branches import branches_check_writable
from ..budgets import budgets_check_on_commit
from ..segments import segments_after_append
from . import statement
from .lookups import Targets, resolve_session, runs_for, split_duplicates, stored_parents
from .rollups import rollups_add
from .rows import EVENT_COLUMNS, EVENT_VALUES, USAGE_COLUMNS, batch_totals
from .store import insert_events, usage_store

# The columns this path supplies itself (rows.py lists them); any other comes from the input.
_EVENT_GIVEN = ("project_id", "session_id", "run_id", "parent_event_id", "seq", "received_at")
_USAGE_GIVEN = ("project_id", "session_id", "run_id", "event_id")
for _columns, _given in ((EVENT_COLUMNS, _EVENT_GIVEN), (USAGE_COLUMNS, _USAGE_GIVEN)):
    if {c.name for c in _columns if not c.from_input} != set(_given):
        raise LookupError(f"The general append path does not fill {_given} exactly.")


def events_append(
    *,
    project: Project,
    session_external_id: str,
    events: list[EventInput],
    new_branches: bool = False,
) -> tuple[AgentSession, list[AppendResult]]:
    """Append a batch to a session (created if missing), all or nothing, in arrival order.

    Once the session was summarized, main's new events go to its newest segment and those on
    another branch to the conversation that has the branch (the chain's base), where every
    branch read finds them: a branch's events are not segmented.

    A stored id with the same body comes back as `duplicate` with its stored seq; with a
    different body the whole batch is refused (409). A new event on a branch the session does
    not have is refused (422), on a deleted one too (409), unless `new_branches`: an importer
    records the branches' fork points once their events have seqs. Returns one result per
    input event.
    """
    if not events:
        raise InvalidInput("A batch needs at least one event.", field="events")
    fast = statement.statement_append(project, session_external_id, events)
    if fast is not None:
        return fast
    for attempt in range(2):
        try:
            return _events_append_once(project, session_external_id, events, new_branches)
        except IntegrityError:
            # Another session of the project stored one of these ids between our duplicate check
            # and our insert: the retry sees it and answers duplicate or 409.
            if attempt:
                raise
    raise AssertionError("unreachable")


@transaction.atomic
def _events_append_once(
    project: Project, session_external_id: str, events: list[EventInput], new_branches: bool
) -> tuple[AgentSession, list[AppendResult]]:
    targets = resolve_session(
        project, session_external_id, branched=any(e.branch != MAIN_BRANCH for e in events)
    )
    stored, fresh = split_duplicates(project, events)
    if fresh and not new_branches:
        # Against the conversation's own branches (a summarized session keeps its branches;
        # its segments have none), under its lock, so a branch deleted meanwhile is seen
        # (branch_delete locks it too). A retry of events stored before is still a duplicate.
        branches_check_writable(session=targets.owner, events=fresh)
    # The session the answer names: where main's events go, else (a batch on other branches
    # only) the conversation that has the branches.
    on_main = any(e.branch == MAIN_BRANCH for e in events)
    session = targets.current if on_main else targets.owner
    if not fresh and targets.created:
        # Every event is already stored in another session (the same batch sent to several
        # sessions at once, and another won): the answer names where they are, and the session
        # this call created is dropped before anyone sees it, not left behind empty.
        AgentSession.objects.filter(pk=targets.addressed.pk).delete()
        session = AgentSession.objects.get(pk=stored[events[0].external_id].session_id)
    created_by_id: dict[str, Event] = {}
    written: list[AgentSession] = []
    if fresh:
        now = timezone.now()
        # Main's events and the other branches' go to different sessions once the conversation
        # was summarized: each part takes its session's next seqs, in the order sent, and adds
        # to its rollups, in this one transaction.
        for target, part in _by_session(targets, fresh):
            created = _store(project, target, part, now)
            priced = usage_store(project, target, created, part)
            rollups_add(
                target,
                totals=batch_totals(created, priced),
                first_at=min(e.timestamp for e in created),
                last_at=max(e.timestamp for e in created),
            )
            created_by_id.update((e.external_id, e) for e in created)
            written.append(target)
    results = []
    for e in events:
        row = created_by_id.pop(e.external_id, None)
        if row is not None:
            results.append(AppendResult(e.external_id, row.seq, "created", row.pk))
            stored[e.external_id] = row  # a repeat later in the batch is a duplicate of it
        else:
            row = stored[e.external_id]
            results.append(AppendResult(e.external_id, row.seq, "duplicate", row.pk))
    for target in written:
        budgets_check_on_commit(project_id=project.pk, session_id=target.pk)
        # A continued session is never segmented again: the base taking a branch's events
        # after its summary stays as it is.
        segments_after_append(project=project, session=target)
    return session, results


def _by_session(
    targets: Targets, fresh: list[EventInput]
) -> list[tuple[AgentSession, list[EventInput]]]:
    """The new events grouped by the session each goes to, in the order sent (one group
    unless the conversation was summarized and the batch mixes main and other branches)."""
    groups: dict[int, tuple[AgentSession, list[EventInput]]] = {}
    for e in fresh:
        target = targets.of(e)
        groups.setdefault(target.pk, (target, []))[1].append(e)
    return list(groups.values())


def _store(
    project: Project, session: AgentSession, fresh: list[EventInput], now: datetime
) -> list[Event]:
    runs = runs_for(project, session, fresh)
    stored_by_id, stored_by_call = stored_parents(session, fresh)
    rows: list[Event] = []
    batch_calls: set[str] = set()  # tool call ids of the calls earlier in this batch
    for offset, data in enumerate(fresh, start=1):
        stored_call = None if data.parent_tool_call_id in batch_calls else data.parent_tool_call_id
        if data.type == Event.Type.TOOL_CALL and data.tool_call_id:
            batch_calls.add(data.tool_call_id)
        rows.append(
            Event(
                # Ids, not instances: the related descriptors cost more than the rest of __init__.
                project_id=project.pk,
                session_id=session.pk,
                run_id=runs[data.run_external_id].pk if data.run_external_id else None,
                parent_event_id=(
                    (stored_by_id.get(data.parent_external_id) if data.parent_external_id else None)
                    or (stored_by_call.get(stored_call) if stored_call else None)
                ),
                seq=session.last_seq + offset,
                received_at=now,
                **dict(zip(EVENT_VALUES.names, EVENT_VALUES(data, now), strict=True)),
            )
        )
    created = insert_events(rows)

    # Parents inside the same batch get their ids only now: link them with one bulk UPDATE.
    # A tool result answers the latest call with its id *before* it, never a later one.
    by_id = {e.external_id: e.pk for e in created}
    calls_so_far: dict[str, int] = {}
    relink = []
    for event, data in zip(created, fresh, strict=True):
        if event.parent_event_id is None:
            parent = by_id.get(data.parent_external_id or "") or calls_so_far.get(
                data.parent_tool_call_id or ""
            )
            if parent and parent != event.pk:
                event.parent_event_id = parent
                relink.append(event)
        if event.type == Event.Type.TOOL_CALL and event.tool_call_id:
            calls_so_far[event.tool_call_id] = event.pk
    if relink:
        Event.objects.bulk_update(relink, ["parent_event"])
    return created
