"""Appending events to a session: idempotency, gapless `seq`, usage pricing and rollups.

Everything for one batch happens in one transaction under the session's row lock, so a batch is
stored all or nothing, concurrent writers to a session queue instead of colliding, and the
rollups (counts, tokens, cost, last_seq) are incremented without a read-modify-write race.
"""

from __future__ import annotations

import contextlib
import functools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Field, Max, Q, Sum
from django.utils import timezone

from .. import jsontext, llm
from ..db import server_bound
from ..errors import Conflict, InvalidInput
from ..models import AgentSession, Budget, DailyUsage, Event, Project, Run, TokenUsage
from ..pricing import PriceBook, cost_of
from .budgets import budgets_check_on_commit
from .segments import segments_after_append
from .sessions import delete_events_of, session_get_or_create
from .usage import daily_usage_apply

PREVIEW_LENGTH = 300
TOOL_TYPES = frozenset({Event.Type.TOOL_CALL, Event.Type.TOOL_RESULT})


@dataclass
class UsageInput:
    """Token usage as a client reported it; missing counts are filled in or estimated."""

    model: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: Decimal | None = None


@dataclass
class EventInput:
    """One event ready to store, as the normalizers produce it."""

    external_id: str
    source: str
    type: str = Event.Type.MESSAGE
    role: str = ""
    name: str = ""
    content: str = ""
    tool_call_id: str = ""
    is_error: bool = False
    payload: Any = None
    payload_format: str = Event.Format.NATIVE
    body_hash: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    timestamp: datetime | None = None
    run_external_id: str | None = None
    # The parent is named either by event id or, for tool results, by the tool call's id.
    parent_external_id: str | None = None
    parent_tool_call_id: str | None = None
    usage: UsageInput | None = None
    # An LLM message without usage gets its tokens counted for this model (tokens_estimated).
    model: str = ""
    # A model or tool call's latency; the OpenTelemetry span it came from (hex ids).
    duration_ms: int | None = None
    span_id: str = ""
    trace_id: str = ""


@dataclass(frozen=True)
class AppendResult:
    """What happened to one input event."""

    external_id: str
    seq: int
    status: str  # "created" or "duplicate"
    event_id: int


def _resolve_session(project: Project, external_id: str) -> AgentSession:
    session, _ = session_get_or_create(project=project, external_id=external_id)
    # A session that was summarized into a segment keeps receiving events under its old id:
    # they go to the newest segment of the chain.
    hops = 0
    while session.continued_in_id and hops < 1000:
        session = AgentSession.objects.select_for_update().get(pk=session.continued_in_id)
        hops += 1
    return session


def _stored_events(project: Project, ids: list[str]) -> dict[str, Event]:
    """Stored events of the project with these ids (id, external_id, seq, body_hash only)."""
    if connection.vendor != "postgresql":
        return {
            e.external_id: e
            for e in Event.objects.filter(project=project, external_id__in=ids).only(
                "id", "external_id", "seq", "body_hash", "session_id"
            )
        }
    # One JSON parameter bound server-side instead of 500 client-quoted literals, and one
    # index probe per id (LATERAL): with `external_id = ANY(...)` or a plain join PostgreSQL
    # chose to scan every event of the project (seen at 500 ids on 255k events).
    sql = (
        "SELECT e.id, e.external_id, e.seq, e.body_hash, e.session_id "
        "FROM json_array_elements_text(%s::json) AS wanted(external_id), LATERAL ("
        f"SELECT id, external_id, seq, body_hash, session_id FROM {Event._meta.db_table} "
        "WHERE project_id = %s AND external_id = wanted.external_id) AS e"
    )
    found = server_bound(sql, [_json_rows(ids), project.pk])
    return {
        external_id: Event(
            id=pk, external_id=external_id, seq=seq, body_hash=body_hash, session_id=session_id
        )
        for pk, external_id, seq, body_hash, session_id in found
    }


def _check_duplicates(
    project: Project, events: list[EventInput]
) -> tuple[dict[str, Event], list[EventInput]]:
    """Split a batch into stored duplicates and new events; a reused id with another body is a
    409 for the whole batch."""
    stored = _stored_events(project, list({e.external_id for e in events}))
    fresh: list[EventInput] = []
    seen: dict[str, EventInput] = {}
    for e in events:
        prior = stored.get(e.external_id)
        if prior is not None:
            if prior.body_hash != e.body_hash:
                raise Conflict(
                    f"Event id {e.external_id!r} was already used with a different body.",
                    code="idempotency_conflict",
                    field="id",
                )
            continue
        if e.external_id in seen:
            if seen[e.external_id].body_hash != e.body_hash:
                raise Conflict(
                    f"Event id {e.external_id!r} appears twice in the batch with different bodies.",
                    code="idempotency_conflict",
                    field="id",
                )
            continue
        seen[e.external_id] = e
        fresh.append(e)
    return stored, fresh


def _runs_for(project: Project, session: AgentSession, events: list[EventInput]) -> dict[str, Run]:
    """The runs the batch names, creating (as running) those not reported yet."""
    wanted = {e.run_external_id for e in events if e.run_external_id}
    if not wanted:
        return {}
    runs = {r.external_id: r for r in Run.objects.filter(project=project, external_id__in=wanted)}
    missing = [
        Run(
            project=project,
            session=session,
            external_id=run_id,
            status=Run.Status.RUNNING,
            started_at=min(
                (e.timestamp for e in events if e.run_external_id == run_id and e.timestamp),
                default=timezone.now(),
            ),
        )
        for run_id in sorted(wanted - set(runs))
    ]
    for run in Run.objects.bulk_create(missing):
        runs[run.external_id] = run
    return runs


def _stored_parents(session: AgentSession, events: list[EventInput]) -> tuple[dict, dict]:
    """Parents that are already stored: by event id (project-wide) and by tool call id."""
    by_id: dict[str, int] = {}
    by_call: dict[str, int] = {}
    ids = {e.parent_external_id for e in events if e.parent_external_id}
    calls = {e.parent_tool_call_id for e in events if e.parent_tool_call_id}
    if ids:
        by_id = dict(
            Event.objects.filter(project_id=session.project_id, external_id__in=ids).values_list(
                "external_id", "id"
            )
        )
    if calls:
        # In seq order, so a call id reused within a session (branches) maps to its latest call.
        by_call = dict(
            Event.objects.filter(session=session, tool_call_id__in=calls, type=Event.Type.TOOL_CALL)
            .order_by("seq")
            .values_list("tool_call_id", "id")
        )
    return by_id, by_call


@dataclass(frozen=True)
class PricedUsage:
    """One event's usage with its cost: what a TokenUsage row stores."""

    model: str
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cached_tokens: int
    reasoning_tokens: int
    cost_usd: Decimal
    cost_source: str
    prices: llm.UnitPrices | None
    tokens_estimated: bool


def _priced(data: EventInput, at: datetime, book: PriceBook) -> PricedUsage | None:
    """Price one event's usage. Reported cost wins; tool executions cost nothing; an unknown
    model is marked unknown rather than given a guessed price."""
    usage = data.usage
    estimated = False
    if usage is None:
        if not (data.model and data.source == Event.Source.LLM and data.type == Event.Type.MESSAGE):
            return None
        usage = UsageInput(
            model=data.model,
            prompt_tokens=0,
            completion_tokens=llm.count_tokens(data.model, text=data.content),
        )
        estimated = True
    prompt = usage.prompt_tokens or 0
    completion = usage.completion_tokens
    if completion is None:
        completion = max((usage.total_tokens or 0) - prompt, 0)
    total = usage.total_tokens if usage.total_tokens is not None else prompt + completion
    price = book.price(usage.model, at)
    if usage.cost_usd is not None:
        cost, source = usage.cost_usd, TokenUsage.CostSource.REPORTED
    elif data.type in TOOL_TYPES or data.source == Event.Source.TOOL:
        cost, source = Decimal(0), TokenUsage.CostSource.COMPUTED
    elif price.prices is None:
        cost, source = Decimal(0), TokenUsage.CostSource.UNKNOWN
    else:
        cost = cost_of(
            price.prices,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cached_tokens=usage.cached_tokens,
        )
        source = TokenUsage.CostSource.COMPUTED
    return PricedUsage(
        model=usage.model,
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=total,
        cached_tokens=usage.cached_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        cost_usd=cost,
        cost_source=source,
        prices=price.prices,
        tokens_estimated=estimated,
    )


def _usage_row(
    *, project: Project, session: AgentSession, event: Event, data: EventInput, book: PriceBook
) -> TokenUsage | None:
    priced = _priced(data, event.timestamp, book)
    if priced is None:
        return None
    prices = priced.prices
    return TokenUsage(
        project=project,
        session=session,
        run_id=event.run_id,
        event=event,
        timestamp=event.timestamp,
        model=priced.model,
        prompt_tokens=priced.prompt_tokens,
        completion_tokens=priced.completion_tokens,
        total_tokens=priced.total_tokens,
        cached_tokens=priced.cached_tokens,
        reasoning_tokens=priced.reasoning_tokens,
        cost_usd=priced.cost_usd,
        input_cost_per_token=prices.input if prices else None,
        output_cost_per_token=prices.output if prices else None,
        cached_cost_per_token=prices.cached if prices else None,
        cost_source=priced.cost_source,
        tokens_estimated=priced.tokens_estimated,
    )


# Columns of an event insert with their PostgreSQL types.
_EVENT_COLUMNS = (
    ("project_id", "bigint"),
    ("session_id", "bigint"),
    ("run_id", "bigint"),
    ("parent_event_id", "bigint"),
    ("external_id", "text"),
    ("seq", "integer"),
    ("timestamp", "timestamptz"),
    ("received_at", "timestamptz"),
    ("source", "text"),
    ("type", "text"),
    ("role", "text"),
    ("name", "text"),
    ("tool_call_id", "text"),
    ("content", "text"),
    ("is_error", "boolean"),
    ("payload", "jsonb"),
    ("payload_format", "text"),
    ("body_hash", "text"),
    ("metadata", "jsonb"),
    ("duration_ms", "integer"),
    ("span_id", "text"),
    ("trace_id", "text"),
)


def _json_rows(rows: Any) -> str:
    """Rows for `jsonb_to_recordset` (or values for `json_array_elements_text`) as one
    document: PostgreSQL parses it in C, where psycopg would dump arrays element by element."""
    return jsontext.document(rows, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, date):  # datetimes too
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)  # numeric columns parse it exactly
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _recordset(columns: tuple[tuple[str, str], ...]) -> str:
    """The column definition list of a `jsonb_to_recordset` over rows keyed by column name."""
    return ", ".join(f'"{name}" {kind}' for name, kind in columns)


def _bulk_insert_events(rows: list[Event]) -> list[Event]:
    """Insert events and set their primary keys.

    On PostgreSQL this is one `INSERT ... SELECT FROM jsonb_to_recordset(<the rows>)` with a
    server-side parameter: Django's client-side quoting of a 500-row batch cost more CPU than
    the insert itself (profiled in bench/ingest.py). Elsewhere, bulk_create.
    """
    if connection.vendor != "postgresql":
        return Event.objects.bulk_create(rows)
    names = ", ".join(f'"{name}"' for name, _ in _EVENT_COLUMNS)
    sql = (
        f"INSERT INTO {Event._meta.db_table} ({names}) "
        f"SELECT {names} FROM jsonb_to_recordset(%s::jsonb) AS t({_recordset(_EVENT_COLUMNS)}) "
        "RETURNING id"
    )
    records = [{name: getattr(row, name) for name, _ in _EVENT_COLUMNS} for row in rows]
    ids = [pk for (pk,) in server_bound(sql, [_json_rows(records)])]
    for row, pk in zip(rows, ids, strict=True):
        row.pk = pk
        row._state.adding = False
        row._state.db = connection.alias
    return rows


def _store(
    project: Project, session: AgentSession, fresh: list[EventInput], now: datetime
) -> list[Event]:
    runs = _runs_for(project, session, fresh)
    stored_by_id, stored_by_call = _stored_parents(session, fresh)
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
                    stored_by_id.get(data.parent_external_id) or stored_by_call.get(stored_call)
                ),
                external_id=data.external_id,
                seq=session.last_seq + offset,
                timestamp=data.timestamp or now,
                received_at=now,
                source=data.source,
                type=data.type,
                role=data.role,
                name=data.name,
                tool_call_id=data.tool_call_id,
                content=data.content,
                is_error=data.is_error,
                payload=data.payload,
                payload_format=data.payload_format,
                body_hash=data.body_hash,
                metadata=data.metadata,
                duration_ms=data.duration_ms,
                span_id=data.span_id,
                trace_id=data.trace_id,
            )
        )
    created = _bulk_insert_events(rows)

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


def _price(
    project: Project, session: AgentSession, created: list[Event], fresh: list[EventInput]
) -> list[TokenUsage]:
    if not any(d.usage or d.model for d in fresh):
        return []
    book = PriceBook(project)
    usages = [
        row
        for event, data in zip(created, fresh, strict=True)
        if (row := _usage_row(project=project, session=session, event=event, data=data, book=book))
    ]
    TokenUsage.objects.bulk_create(usages)
    daily: dict[tuple, dict[str, Any]] = defaultdict(lambda: defaultdict(int))
    for u in usages:
        acc = daily[(u.timestamp.astimezone(UTC).date(), u.model, u.cost_source)]
        acc["events"] += 1
        for name in (
            "prompt_tokens",
            "completion_tokens",
            "total_tokens",
            "cached_tokens",
            "reasoning_tokens",
            "cost_usd",
        ):
            acc[name] += getattr(u, name)
    daily_usage_apply(
        project_id=project.pk,
        rows=[
            {
                "day": day,
                "model": model,
                "cost_source": source,
                "agent_name": session.agent_name,
                "user_ref": session.user_ref,
                **sums,
            }
            for (day, model, source), sums in daily.items()
        ],
    )
    return usages


def _seconds(delta: timedelta) -> int:
    return max(int(delta.total_seconds()), 0)


def _roll_up(session: AgentSession, created: list[Event], usages: list[TokenUsage]) -> None:
    first_user = next(
        (
            e
            for e in created
            if e.source == Event.Source.USER and e.type == Event.Type.MESSAGE and e.content
        ),
        None,
    )
    latest = max(e.timestamp for e in created)
    if session.last_seq == 0:
        # A conversation starts with its first event, not with the row: imported or replayed
        # history keeps its own times instead of looking as if it happened now.
        session.created_at = min(session.created_at, min(e.timestamp for e in created))
        session.last_event_at = latest
    else:
        session.last_event_at = max(session.last_event_at, latest)
    updates: dict[str, Any] = {
        "created_at": session.created_at,
        "event_count": F("event_count") + len(created),
        "last_seq": session.last_seq + len(created),
        "prompt_tokens": F("prompt_tokens") + sum(u.prompt_tokens for u in usages),
        "completion_tokens": F("completion_tokens") + sum(u.completion_tokens for u in usages),
        "total_tokens": F("total_tokens") + sum(u.total_tokens for u in usages),
        "cost_usd": F("cost_usd") + sum((u.cost_usd for u in usages), Decimal(0)),
        "error_count": F("error_count") + sum(1 for e in created if e.is_error),
        # Known exactly: we hold the session's row lock.
        "last_event_at": session.last_event_at,
        "duration_seconds": _seconds(session.last_event_at - session.created_at),
        "updated_at": timezone.now(),
    }
    if not session.preview and first_user is not None:
        updates["preview"] = first_user.content[:PREVIEW_LENGTH]
    AgentSession.objects.filter(pk=session.pk).update(**updates)
    # We hold the session's row lock, so the row we read plus our increments is exactly what
    # is stored now: update the instance instead of reading it back (one query less per batch).
    session.event_count += len(created)
    session.last_seq += len(created)
    session.prompt_tokens += sum(u.prompt_tokens for u in usages)
    session.completion_tokens += sum(u.completion_tokens for u in usages)
    session.total_tokens += sum(u.total_tokens for u in usages)
    session.cost_usd += sum((u.cost_usd for u in usages), Decimal(0))
    session.error_count += sum(1 for e in created if e.is_error)
    session.updated_at = updates["updated_at"]
    session.duration_seconds = updates["duration_seconds"]
    session.preview = updates.get("preview", session.preview)


# --- PostgreSQL: a plain batch in one statement -------------------------------------------
#
# Most batches an agent sends are new events for an existing session, with no run and no
# parent to resolve. On PostgreSQL such a batch is stored by one statement: an UPDATE of the
# session row (which takes its row lock, allocates the seqs and adds the rollups), the event
# INSERT, and the usage rows and daily aggregate, as data-modifying CTEs. One round trip and
# one commit instead of eight queries; the statement is atomic on its own, so the batch is
# still all or nothing; a missing session is created by the same statement. Anything else (a
# stored id, runs, parents, a segmented session, a project with segmentation thresholds, a
# batch repeating an id, a concurrent writer of the same id) takes the general path above.

# The events travel as one JSON document (jsonb_to_recordset): PostgreSQL parses it in C, where
# psycopg would dump one array per column element by element in Python (and JSON payloads are
# not encoded twice). jsonb, not json: json_to_recordset parses the text of each jsonb column
# (payload, metadata) once more and cost 4x as much (6.5 against 1.5 ms for 500 events, EXPLAIN
# ANALYZE). `ord` is each event's position in the batch.
_SET_BY_STATEMENT = {"project_id", "session_id", "run_id", "parent_event_id", "seq", "received_at"}
_FAST_EVENT_COLUMNS = (
    ("ord", "integer"),
    *((name, kind) for name, kind in _EVENT_COLUMNS if name not in _SET_BY_STATEMENT),
)
_FAST_EVENT_KEYS = tuple(name for name, _ in _FAST_EVENT_COLUMNS)
_FAST_USAGE_COLUMNS = (
    ("ord", "integer"),
    ("timestamp", "timestamptz"),
    ("model", "text"),
    ("prompt_tokens", "integer"),
    ("completion_tokens", "integer"),
    ("total_tokens", "integer"),
    ("cached_tokens", "integer"),
    ("reasoning_tokens", "integer"),
    ("cost_usd", "numeric"),
    ("input_cost_per_token", "numeric"),
    ("output_cost_per_token", "numeric"),
    ("cached_cost_per_token", "numeric"),
    ("cost_source", "text"),
    ("tokens_estimated", "boolean"),
)
_DAILY_SUMS = (
    ("events", "bigint"),
    ("prompt_tokens", "bigint"),
    ("completion_tokens", "bigint"),
    ("total_tokens", "bigint"),
    ("cached_tokens", "bigint"),
    ("reasoning_tokens", "bigint"),
    ("cost_usd", "numeric"),
)
_DAILY_COLUMNS = (("day", "date"), ("model", "text"), ("cost_source", "text"), *_DAILY_SUMS)
_FAST_USAGE_KEYS = tuple(name for name, _ in _FAST_USAGE_COLUMNS)
_DAILY_KEYS = tuple(name for name, _ in _DAILY_COLUMNS)


# What the statement's later parts read of the session it grew or created.
_FAST_SESSION_COLUMNS = "id, external_id, agent_name, user_ref"


@functools.cache
def _fast_sql(with_usage: bool) -> str:
    session_table = AgentSession._meta.db_table
    event_table = Event._meta.db_table
    # Inside an UPDATE every column reads its old value, so the new first and last event
    # times are spelled out where duration needs them.
    first = "CASE WHEN last_seq = 0 THEN LEAST(created_at, %(first_at)s) ELSE created_at END"
    last = (
        "CASE WHEN last_seq = 0 THEN %(last_at)s::timestamptz "
        "ELSE GREATEST(last_event_at, %(last_at)s) END"
    )
    event_names = ", ".join(f'"{name}"' for name in _FAST_EVENT_KEYS[1:])
    event_values = ", ".join(f'b."{name}"' for name in _FAST_EVENT_KEYS[1:])
    sql = f"""
WITH batch AS MATERIALIZED (
    SELECT * FROM jsonb_to_recordset(%(events)s::jsonb) AS t({_recordset(_FAST_EVENT_COLUMNS)})
), stored AS MATERIALIZED (
    SELECT EXISTS (
        SELECT 1 FROM batch, LATERAL (
            SELECT 1 FROM {event_table}
            WHERE project_id = %(project_id)s AND external_id = batch.external_id LIMIT 1
        ) AS hit
    ) AS found
), grown AS (
    UPDATE {session_table} SET
        last_seq = last_seq + %(n)s,
        event_count = event_count + %(n)s,
        prompt_tokens = prompt_tokens + %(prompt_tokens)s,
        completion_tokens = completion_tokens + %(completion_tokens)s,
        total_tokens = total_tokens + %(total_tokens)s,
        cost_usd = cost_usd + %(cost_usd)s,
        error_count = error_count + %(errors)s,
        created_at = {first},
        last_event_at = {last},
        duration_seconds = GREATEST(0, floor(extract(epoch FROM ({last}) - ({first}))))::integer,
        preview = CASE WHEN preview = '' THEN %(preview)s ELSE preview END,
        updated_at = %(now)s
    WHERE project_id = %(project_id)s AND external_id = %(session)s
        AND continued_in_id IS NULL AND NOT (SELECT found FROM stored)
    RETURNING {_FAST_SESSION_COLUMNS}, last_seq - %(n)s AS base
), created AS (
    -- A new session's row comes whole from Python (defaults and rollups); only its id, and
    -- the path and root that name it, from the sequence. nextval runs only when inserting.
    -- The record is built in FROM: `(jsonb_populate_record(...)).*` would call the function
    -- once per column (1 ms per new session).
    INSERT INTO {session_table}
    SELECT r.* FROM (
        SELECT nextval(pg_get_serial_sequence('{session_table}', 'id')) AS id
        WHERE NOT (SELECT found FROM stored) AND NOT EXISTS (
            SELECT 1 FROM {session_table}
            WHERE project_id = %(project_id)s AND external_id = %(session)s
        )
    ) AS x, LATERAL jsonb_populate_record(NULL::{session_table},
        %(session_defaults)s::jsonb || %(new_session)s::jsonb
        || jsonb_build_object('id', x.id, 'path', '/' || x.id || '/', 'root_id', x.id)) AS r
    ON CONFLICT (project_id, external_id) DO NOTHING
    RETURNING {_FAST_SESSION_COLUMNS}, 0 AS base
), s AS (
    SELECT * FROM grown UNION ALL SELECT * FROM created
), ins AS (
    INSERT INTO {event_table} (project_id, session_id, seq, received_at, {event_names})
    SELECT %(project_id)s, s.id, s.base + b.ord, %(now)s, {event_values}
    FROM s, batch b
    RETURNING id, seq
)"""
    if with_usage:
        usage_names = ", ".join(name for name, _ in _FAST_USAGE_COLUMNS[1:])
        sums = ", ".join(name for name, _ in _DAILY_SUMS)
        increments = ", ".join(
            f"{name} = {DailyUsage._meta.db_table}.{name} + excluded.{name}"
            for name, _ in _DAILY_SUMS
        )
        sql += f""", usage AS (
    INSERT INTO {TokenUsage._meta.db_table}
        (project_id, session_id, event_id, {usage_names})
    SELECT %(project_id)s, s.id, ins.id, {", ".join(f"u.{n}" for n, _ in _FAST_USAGE_COLUMNS[1:])}
    FROM s, jsonb_to_recordset(%(usage)s::jsonb) AS u({_recordset(_FAST_USAGE_COLUMNS)})
    JOIN ins ON TRUE
    WHERE ins.seq = s.base + u.ord
), daily AS (
    INSERT INTO {DailyUsage._meta.db_table}
        (project_id, day, model, agent_name, user_ref, cost_source, {sums})
    SELECT %(project_id)s, d.day, d.model, s.agent_name, s.user_ref, d.cost_source,
        {", ".join(f"d.{name}" for name, _ in _DAILY_SUMS)}
    FROM s, jsonb_to_recordset(%(daily)s::jsonb) AS d({_recordset(_DAILY_COLUMNS)})
    ON CONFLICT (project_id, day, model, agent_name, user_ref, cost_source)
    DO UPDATE SET {increments}
)"""
    sql += f"""
SELECT s.id, s.external_id, s.base, (SELECT array_agg(id ORDER BY seq) FROM ins),
    EXISTS (SELECT 1 FROM {Budget._meta.db_table} WHERE project_id = %(project_id)s)
FROM s"""
    return sql


def _fast_eligible(project: Project, events: list[EventInput]) -> bool:
    if connection.vendor != "postgresql":
        return False
    if project.segment_token_threshold or project.segment_turn_limit:
        return False  # segmentation checks run under the session's lock, on the general path
    ids = set()
    for e in events:
        if e.run_external_id or e.parent_external_id or e.parent_tool_call_id:
            return False
        ids.add(e.external_id)
    return len(ids) == len(events)


@functools.cache
def _session_defaults() -> tuple[str, tuple[Field, ...]]:
    """The defaults the ORM would insert for a new session: the constant ones as one JSON
    document, made once (the statement merges the batch's row over it), and the fields whose
    default is computed (a fresh dict, the current time) to call per row."""
    constant: dict[str, Any] = {}
    computed = []
    for model_field in AgentSession._meta.concrete_fields:
        if model_field.primary_key or not (model_field.has_default() or model_field.null):
            continue
        if model_field.has_default() and callable(model_field.default):
            computed.append(model_field)
        else:
            constant[model_field.column] = model_field.get_default()
    return _json_rows(constant), tuple(computed)


def _new_session_row(project: Project, external_id: str, now: datetime, batch: dict) -> str:
    """The row of a session this batch creates, as JSON, but for the constant defaults (the
    statement adds `_session_defaults()`): with them, the row `session_get_or_create` plus
    `_roll_up` would have written."""
    created = min(now, batch["first_at"])
    row = {
        "project_id": project.pk,
        "external_id": external_id,
        "created_at": created.isoformat(),
        "updated_at": now.isoformat(),
        "last_event_at": batch["last_at"].isoformat(),
        "duration_seconds": _seconds(batch["last_at"] - created),
        "event_count": batch["n"],
        "last_seq": batch["n"],
        "prompt_tokens": batch["prompt_tokens"],
        "completion_tokens": batch["completion_tokens"],
        "total_tokens": batch["total_tokens"],
        "cost_usd": str(batch["cost_usd"]),
        "error_count": batch["errors"],
        "preview": batch["preview"],
    }
    for model_field in _session_defaults()[1]:
        if model_field.column not in row:
            row[model_field.column] = model_field.get_default()
    return _json_rows(row)


def _fast_params(project: Project, session_external_id: str, events: list[EventInput]) -> dict:
    now = timezone.now()
    params: dict[str, Any] = {
        "project_id": project.pk,
        "session": session_external_id,
        "n": len(events),
        "now": now,
    }
    records: list[dict[str, Any]] = []
    stamps: list[datetime] = []
    usage: list[dict[str, Any]] = []
    daily: dict[tuple, list] = {}
    totals = [0, 0, 0, Decimal(0)]  # prompt, completion and total tokens, cost
    book: PriceBook | None = None
    preview = ""
    errors = 0
    for ord_, e in enumerate(events, start=1):
        at = e.timestamp or now
        stamps.append(at)
        values = (
            ord_, e.external_id, at.isoformat(), e.source, e.type, e.role, e.name,
            e.tool_call_id, e.content, e.is_error, e.payload, e.payload_format, e.body_hash,
            e.metadata, e.duration_ms, e.span_id, e.trace_id,
        )  # fmt: skip
        records.append(dict(zip(_FAST_EVENT_KEYS, values, strict=True)))
        errors += e.is_error
        if not preview and e.content and e.source == "user" and e.type == Event.Type.MESSAGE:
            preview = e.content[:PREVIEW_LENGTH]
        if e.usage is None and not e.model:
            continue
        if book is None:
            book = PriceBook(project)
        priced = _priced(e, at, book)
        if priced is None:
            continue
        prices = priced.prices
        values = (
            ord_, at, priced.model, priced.prompt_tokens, priced.completion_tokens,
            priced.total_tokens, priced.cached_tokens, priced.reasoning_tokens, priced.cost_usd,
            prices.input if prices else None, prices.output if prices else None,
            prices.cached if prices else None, priced.cost_source, priced.tokens_estimated,
        )  # fmt: skip
        usage.append(dict(zip(_FAST_USAGE_KEYS, values, strict=True)))
        totals[0] += priced.prompt_tokens
        totals[1] += priced.completion_tokens
        totals[2] += priced.total_tokens
        totals[3] += priced.cost_usd
        sums = daily.setdefault(
            (at.astimezone(UTC).date(), priced.model, priced.cost_source), [0] * 6 + [Decimal(0)]
        )
        for i, value in enumerate(values[3:9], start=1):
            sums[i] += value
        sums[0] += 1
    params.update(
        events=_json_rows(records),
        first_at=min(stamps),
        last_at=max(stamps),
        preview=preview,
        errors=errors,
        prompt_tokens=totals[0],
        completion_tokens=totals[1],
        total_tokens=totals[2],
        cost_usd=totals[3],
    )
    params["new_session"] = _new_session_row(project, session_external_id, now, params)
    params["session_defaults"] = _session_defaults()[0]
    if usage:
        params["usage"] = _json_rows(usage)
        # Sorted by key, as daily_usage_apply does: concurrent batches lock rows in one order.
        params["daily"] = _json_rows(
            [
                dict(zip(_DAILY_KEYS, (*key, *sums), strict=True))
                for key, sums in sorted(daily.items(), key=lambda kv: str(kv[0]))
            ]
        )
    return params


def _fast_append(
    project: Project, session_external_id: str, events: list[EventInput]
) -> tuple[AgentSession, list[AppendResult]] | None:
    """Store a plain batch in one statement; None when the general path must take it."""
    if not _fast_eligible(project, events):
        return None
    params = _fast_params(project, session_external_id, events)
    sql = _fast_sql(with_usage="usage" in params)
    # In autocommit the statement is its own transaction; inside one, a savepoint keeps a
    # failure (a concurrent writer of the same id) from breaking the caller's transaction.
    savepoint = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    try:
        with savepoint:
            rows = server_bound(sql, params)
    except IntegrityError:
        return None  # another request stored one of these ids meanwhile: the general path
    if not rows:
        return None  # an id already stored, or a segmented session
    session_id, external_id, base, event_ids, has_budgets = rows[0]
    # The session as the caller needs it (its id and name); any other field loads on access,
    # as with .only(). Returning the whole row cost 0.1 ms of a single-event POST.
    session = AgentSession.from_db(
        connection.alias, ["id", "project_id", "external_id"], [session_id, project.pk, external_id]
    )
    if has_budgets:
        budgets_check_on_commit(project_id=project.pk, session_id=session.pk, known_to_exist=True)
    results = [
        AppendResult(e.external_id, base + i, "created", pk)
        for i, (e, pk) in enumerate(zip(events, event_ids, strict=True), start=1)
    ]
    return session, results


def events_append(
    *, project: Project, session_external_id: str, events: list[EventInput]
) -> tuple[AgentSession, list[AppendResult]]:
    """Append a batch to a session (created if missing), all or nothing, in arrival order.

    A stored id with the same body comes back as `duplicate` with its stored seq; with a
    different body the whole batch is refused (409). Returns one result per input event.
    """
    if not events:
        raise InvalidInput("A batch needs at least one event.", field="events")
    fast = _fast_append(project, session_external_id, events)
    if fast is not None:
        return fast
    for attempt in range(2):
        try:
            return _events_append_once(project, session_external_id, events)
        except IntegrityError:
            # Another session of the project stored one of these ids between our duplicate check
            # and our insert: the retry sees it and answers duplicate or 409.
            if attempt:
                raise
    raise AssertionError("unreachable")


@transaction.atomic
def _events_append_once(
    project: Project, session_external_id: str, events: list[EventInput]
) -> tuple[AgentSession, list[AppendResult]]:
    if not events:
        raise InvalidInput("A batch needs at least one event.", field="events")
    session = _resolve_session(project, session_external_id)
    stored, fresh = _check_duplicates(project, events)
    created: list[Event] = []
    if fresh:
        now = timezone.now()
        created = _store(project, session, fresh, now)
        usages = _price(project, session, created, fresh)
        _roll_up(session, created, usages)
    created_by_id = {e.external_id: e for e in created}
    results = []
    for e in events:
        row = created_by_id.pop(e.external_id, None)
        if row is not None:
            results.append(AppendResult(e.external_id, row.seq, "created", row.pk))
            stored[e.external_id] = row  # a repeat later in the batch is a duplicate of it
        else:
            row = stored[e.external_id]
            results.append(AppendResult(e.external_id, row.seq, "duplicate", row.pk))
    if created:
        budgets_check_on_commit(project_id=project.pk, session_id=session.pk)
        segments_after_append(project=project, session=session)
    return session, results


def session_recompute_rollups(*, session: AgentSession) -> None:
    """Recompute a session's rollups from its stored events and usage (after deletions)."""
    ev = Event.objects.filter(session=session).aggregate(
        n=Count("id"),
        last=Max("seq"),
        errors=Count("id", filter=Q(is_error=True)),
        last_at=Max("timestamp"),
    )
    us = TokenUsage.objects.filter(session=session).aggregate(
        p=Sum("prompt_tokens"),
        c=Sum("completion_tokens"),
        t=Sum("total_tokens"),
        cost=Sum("cost_usd"),
    )
    AgentSession.objects.filter(pk=session.pk).update(
        event_count=ev["n"],
        last_seq=ev["last"] or 0,
        error_count=ev["errors"],
        prompt_tokens=us["p"] or 0,
        completion_tokens=us["c"] or 0,
        total_tokens=us["t"] or 0,
        cost_usd=us["cost"] or Decimal(0),
        last_event_at=ev["last_at"] or session.created_at,
        duration_seconds=_seconds((ev["last_at"] or session.created_at) - session.created_at),
        updated_at=timezone.now(),
    )
    session.refresh_from_db()


@transaction.atomic
def event_pop_last(*, session: AgentSession) -> Event | None:
    """Remove the latest item of a session (with the events derived from it) and return it.

    An OpenAI chat message with `tool_calls` is stored as the message plus one tool_call event
    per call; popping removes all of them, as an SDK session's `pop_item` removes one item.
    """
    session = AgentSession.objects.select_for_update().get(pk=session.pk)
    # Loaded with its usage and its parent's and run's ids: the caller shows what was removed.
    events = (
        Event.objects.filter(session=session)
        .select_related("usage")
        .annotate(
            parent_external_id=F("parent_event__external_id"),
            run_external_id=F("run__external_id"),
        )
        .order_by("-seq")
    )
    last = events.filter(payload__isnull=False).first() or events.first()
    if last is None:
        return None
    delete_events_of(project_id=session.project_id, session_ids=[session.pk], from_seq=last.seq)
    session_recompute_rollups(session=session)
    return last


@transaction.atomic
def events_clear(*, session: AgentSession) -> int:
    """Remove every event of a session (its runs and the session itself stay)."""
    session = AgentSession.objects.select_for_update().get(pk=session.pk)
    deleted = delete_events_of(project_id=session.project_id, session_ids=[session.pk])
    session.summaries.all().delete()
    session_recompute_rollups(session=session)
    return deleted
