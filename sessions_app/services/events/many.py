"""Appending to many sessions at once: one set of statements for the whole batch.

The OTLP receiver's exports touch many sessions (an exporter sends every conversation its
process served since the last export). Appended session by session, each paid its own
duplicate lookup, price-book read, inserts, rollup update and commit; here those are shared, so
a batch is the same dozen statements whether it touches one session or two hundred. The rows
and the rules are the one-session path's (rows.py, pricing.py, rollups.py, store.py), so the
events land exactly as `events_append` would store them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from ...db import server_bound
from ...errors import Conflict
from ...inputs import EventInput
from ...models import AgentSession, Event, Project, Run
from ...selectors.budgets import project_has_budgets
from ..budgets import budgets_check_on_commit
from ..segments import segments_after_append
from .lookups import newest_segment, split_duplicates, stored_events
from .rollups import rollup_times
from .rows import (
    EVENT_VALUES,
    ROLLUP_SUMS,
    Column,
    batch_totals,
    json_rows,
    recordset,
)
from .store import insert_event_records, usage_store_many

_ROLLUP_COLUMNS = (
    *(Column(column, "numeric" if column == "cost_usd" else "bigint") for column, _ in ROLLUP_SUMS),
    Column("created_at", "timestamptz"),
    Column("last_event_at", "timestamptz"),
    Column("duration_seconds", "bigint"),  # events may be centuries apart
    Column("preview", "text"),
    Column("updated_at", "timestamptz"),
)
_ROLLUP_FIELDS = tuple(c.name for c in _ROLLUP_COLUMNS)


@transaction.atomic
def events_append_many(
    *,
    project: Project,
    sessions: dict[str, AgentSession],
    batches: dict[str, list[EventInput]],
    checked: bool = False,
) -> dict[str, str]:
    """Append each session's batch in arrival order, all in one transaction.

    `sessions` are the batches' sessions by external id, locked by the caller's transaction
    (`sessions_lock`). Stored ids with the same body are skipped as duplicates; a session whose
    batch reuses an id with another body gets nothing stored and is returned with the reason.
    With `checked`, the caller has just read that none of the ids is stored (the OTLP receiver
    does, to tell late spans from new ones): the duplicate check is not read twice, and a racing
    writer's copy fails the insert with IntegrityError, for the caller to retry.
    """
    refused: dict[str, str] = {}
    targets = {ext: newest_segment(sessions[ext]) for ext, events in batches.items() if events}
    wanted = [] if checked else list({e.external_id for ext in targets for e in batches[ext]})
    stored = stored_events(project, wanted) if wanted else {}
    fresh: dict[str, list[EventInput]] = {}
    taken: dict[str, str] = {}  # an id new in this batch -> its body, so a second copy is seen
    for ext in targets:
        try:
            _, new = split_duplicates(project, batches[ext], stored=stored)
        except Conflict as exc:
            refused[ext] = exc.detail
            continue
        mine = []
        for e in new:
            if e.external_id in taken:
                if taken[e.external_id] != e.body_hash:
                    refused[ext] = f"Event id {e.external_id!r} was used with another body."
                continue
            mine.append(e)
        if ext in refused:
            continue
        taken.update((e.external_id, e.body_hash) for e in mine)
        if mine:
            fresh[ext] = mine
    if fresh:
        _store(project, {ext: targets[ext] for ext in fresh}, fresh)
    return refused


@dataclass
class _Row:
    """A new event as the rest of the append needs it (no model instance: building 1,000 of
    them cost more CPU than the statements that store them)."""

    external_id: str
    session_id: int
    run_id: int | None
    parent_event_id: int | None
    timestamp: datetime
    type: str
    tool_call_id: str
    source: str
    content: str
    is_error: bool
    pk: int | None = None


def _store(
    project: Project, targets: dict[str, AgentSession], fresh: dict[str, list[EventInput]]
) -> None:
    now = timezone.now()
    runs = _runs(project, targets, fresh)
    by_id, by_call = _stored_parents(project, targets, fresh)
    records: list[dict[str, Any]] = []
    created: list[_Row] = []
    inputs: list[EventInput] = []
    names = EVENT_VALUES.names
    for ext, new in fresh.items():
        session = targets[ext]
        batch_calls: set[str] = set()  # tool call ids of the calls earlier in this batch
        for offset, data in enumerate(new, start=1):
            call = data.parent_tool_call_id
            stored_call = None if call in batch_calls else call
            if data.type == Event.Type.TOOL_CALL and data.tool_call_id:
                batch_calls.add(data.tool_call_id)
            record = dict(zip(names, EVENT_VALUES(data, now), strict=True))
            record.update(
                project_id=project.pk,
                session_id=session.pk,
                run_id=runs[data.run_external_id].pk if data.run_external_id else None,
                parent_event_id=(
                    (by_id.get(data.parent_external_id) if data.parent_external_id else None)
                    or (by_call.get((session.pk, stored_call)) if stored_call else None)
                ),
                seq=session.last_seq + offset,
                received_at=now,
            )
            records.append(record)
            created.append(
                _Row(
                    data.external_id, session.pk, record["run_id"], record["parent_event_id"],
                    record["timestamp"], data.type, data.tool_call_id, data.source,
                    data.content, data.is_error,
                )
            )  # fmt: skip
            inputs.append(data)
    for row, pk in zip(created, insert_event_records(records), strict=True):
        row.pk = pk
    _relink(created, inputs)
    by_pk = {s.pk: s for s in targets.values()}
    priced = usage_store_many(project, by_pk, created, inputs)
    _rollups_add(by_pk, created, priced, now)
    has_budgets = project_has_budgets(project.pk)
    for session in targets.values():
        if has_budgets:
            budgets_check_on_commit(
                project_id=project.pk, session_id=session.pk, known_to_exist=True
            )
        segments_after_append(project=project, session=session)


def _runs(
    project: Project, targets: dict[str, AgentSession], fresh: dict[str, list[EventInput]]
) -> dict[str, Run]:
    """The runs the batch names (one read), creating as running those not reported yet (one
    insert), each in the first session that names it."""
    first: dict[str, AgentSession] = {}
    started: dict[str, datetime] = {}
    for ext, events in fresh.items():
        for e in events:
            if e.run_external_id:
                first.setdefault(e.run_external_id, targets[ext])
                if e.timestamp and (
                    e.run_external_id not in started or e.timestamp < started[e.run_external_id]
                ):
                    started[e.run_external_id] = e.timestamp
    if not first:
        return {}
    runs = {r.external_id: r for r in Run.objects.filter(project=project, external_id__in=first)}
    missing = [
        Run(
            project=project,
            session=first[run_id],
            external_id=run_id,
            status=Run.Status.RUNNING,
            started_at=started.get(run_id) or timezone.now(),
        )
        for run_id in sorted(set(first) - set(runs))
    ]
    for run in Run.objects.bulk_create(missing):
        runs[run.external_id] = run
    return runs


def _stored_parents(
    project: Project, targets: dict[str, AgentSession], fresh: dict[str, list[EventInput]]
) -> tuple[dict[str, int], dict[tuple[int, str], int]]:
    """Parents already stored: by event id (project-wide) and by (session, tool call id)."""
    ids = {e.parent_external_id for es in fresh.values() for e in es if e.parent_external_id}
    calls = {e.parent_tool_call_id for es in fresh.values() for e in es if e.parent_tool_call_id}
    by_id: dict[str, int] = {}
    by_call: dict[tuple[int, str], int] = {}
    if ids:
        by_id = dict(
            Event.objects.filter(
                project=project, external_id__in=ids, removed_at__isnull=True
            ).values_list("external_id", "id")
        )
    if calls:
        # In seq order, so a call id reused within a session (branches) maps to its latest call.
        rows = (
            Event.objects.filter(
                session_id__in=[s.pk for s in targets.values()],
                tool_call_id__in=calls,
                type=Event.Type.TOOL_CALL,
            )
            .order_by("seq")
            .values_list("session_id", "tool_call_id", "id")
        )
        by_call = {(session_id, call): pk for session_id, call, pk in rows}
    return by_id, by_call


def _relink(created: list[_Row], inputs: list[EventInput]) -> None:
    """Link parents inside the batch (their ids exist only now) with one bulk UPDATE. A tool
    result answers the latest call of its session with its id before it, never a later one."""
    by_id = {e.external_id: e.pk for e in created}
    calls_so_far: dict[tuple[int, str], int] = {}
    relink = []
    for event, data in zip(created, inputs, strict=True):
        if event.parent_event_id is None:
            parent = by_id.get(data.parent_external_id or "") or calls_so_far.get(
                (event.session_id, data.parent_tool_call_id or "")
            )
            if parent and parent != event.pk:
                relink.append(Event(pk=event.pk, parent_event_id=parent))
        if event.type == Event.Type.TOOL_CALL and event.tool_call_id and event.pk:
            calls_so_far[(event.session_id, event.tool_call_id)] = event.pk
    if relink:
        Event.objects.bulk_update(relink, ["parent_event"])


def _rollups_add(
    sessions: dict[int, AgentSession], created: list[_Row], priced: dict, now: datetime
) -> None:
    """Add each session's new events to its rollups: one UPDATE for every session. The rows
    are locked by this transaction and were read in it, so the new values are exact."""
    by_session: dict[int, list[_Row]] = {}
    for event in created:
        by_session.setdefault(event.session_id, []).append(event)
    changed = []
    for session_id, events in by_session.items():
        session = sessions[session_id]
        totals = batch_totals(events, priced.get(session_id, []))
        times = rollup_times(
            created_at=session.created_at,
            last_event_at=session.last_event_at,
            last_seq=session.last_seq,
            preview=session.preview,
            first_at=min(e.timestamp for e in events),
            last_at=max(e.timestamp for e in events),
            totals=totals,
            now=now,
        )
        for column, key in ROLLUP_SUMS:
            setattr(session, column, getattr(session, column) + getattr(totals, key))
        for column, value in times.items():
            setattr(session, column, value)
        changed.append(session)
    if connection.vendor != "postgresql":
        AgentSession.objects.bulk_update(changed, _ROLLUP_FIELDS)
        return
    # bulk_update's CASE per field and row cost more CPU than the rest of the append.
    columns = (Column("id", "bigint"), *(_ROLLUP_COLUMNS))
    values = [{c.name: getattr(s, c.name) for c in columns} for s in changed]
    table = AgentSession._meta.db_table
    sets = ", ".join(f'"{c.name}" = v."{c.name}"' for c in _ROLLUP_COLUMNS)
    server_bound(
        f"UPDATE {table} SET {sets} FROM jsonb_to_recordset(%s::jsonb) AS v({recordset(columns)})"
        f" WHERE {table}.id = v.id RETURNING {table}.id",
        [json_rows(values)],
    )
