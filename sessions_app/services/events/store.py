"""Inserting the rows of an append: events, and their priced usage with the daily aggregate.

Shared by the one-session path (`append.py`) and the many-session path (`many.py`): the rows
of events of several sessions go in with the same statements as those of one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from django.db import connection

from ...db import server_bound
from ...inputs import EventInput
from ...models import AgentSession, Event, Project, TokenUsage
from ...pricing import PriceBook
from ...search_words import search_vector
from ..usage import daily_usage_apply
from .pricing import PricedUsage, has_usage, usage_priced
from .rows import (
    DAILY_KEY,
    DAILY_SUMS,
    EVENT_COLUMNS,
    PG_EVENT_COLUMNS,
    SEARCH_VECTOR,
    USAGE_COLUMNS,
    USAGE_VALUES,
    Column,
    daily_sums,
    json_rows,
    names,
    recordset,
)


def insert_records(model: Any, columns: tuple[Column, ...], records: list[dict]) -> list[int]:
    """Insert rows given as {column: value} and return their primary keys, in order.

    On PostgreSQL this is one `INSERT ... SELECT FROM jsonb_to_recordset(<the rows>)` with a
    server-side parameter: Django's client-side quoting of a 500-row batch cost more CPU than
    the insert itself (profiled in bench/ingest.py), and no model instance is built. Elsewhere,
    bulk_create.
    """
    if not records:
        return []
    if connection.vendor != "postgresql":
        return [row.pk for row in model.objects.bulk_create([model(**r) for r in records])]
    sql = (
        f"INSERT INTO {model._meta.db_table} ({names(columns)}) "
        f"SELECT {names(columns)} FROM jsonb_to_recordset(%s::jsonb) "
        f"AS t({recordset(columns)}) RETURNING id"
    )
    return [pk for (pk,) in server_bound(sql, [json_rows(records)])]


def insert_event_records(records: list[dict]) -> list[int]:
    """Insert event rows given as {column: value} (`EVENT_COLUMNS`) and return their primary
    keys, in order. On PostgreSQL each row brings its search words where Python can tell them
    (search_words.py), so the insert trigger parses only the other texts."""
    if connection.vendor != "postgresql":
        return insert_records(Event, EVENT_COLUMNS, records)
    for record in records:
        record[SEARCH_VECTOR.name] = search_vector(record["content"])
    return insert_records(Event, PG_EVENT_COLUMNS, records)


def insert_events(rows: list[Event]) -> list[Event]:
    """Insert event instances and set their primary keys."""
    records = [{c.name: getattr(row, c.name) for c in EVENT_COLUMNS} for row in rows]
    for row, pk in zip(rows, insert_event_records(records), strict=True):
        row.pk = pk
        row._state.adding = False
        row._state.db = connection.alias
    return rows


class Inserted(Protocol):
    """What pricing reads of a stored event: an `Event`, or a many-session append's row."""

    @property
    def pk(self) -> Any: ...
    @property
    def session_id(self) -> Any: ...
    @property
    def run_id(self) -> Any: ...
    @property
    def timestamp(self) -> Any: ...


def usage_store_many(
    project: Project,
    sessions: Mapping[int, AgentSession],
    created: Sequence[Inserted],
    fresh: list[EventInput],
) -> dict[int, list[PricedUsage]]:
    """Price the new events' usage (one price book), store its rows (one insert) and add it to
    the daily aggregate (one upsert), for events of any of `sessions` (by primary key).
    Returns each session's priced usage."""
    priced: dict[int, list[PricedUsage]] = {}
    if not any(has_usage(d) for d in fresh):
        return priced
    book = PriceBook(project)
    records: list[dict[str, Any]] = []
    for event, data in zip(created, fresh, strict=True):
        usage = usage_priced(data, event.timestamp, book)
        if usage is None:
            continue
        priced.setdefault(event.session_id, []).append(usage)
        record = dict(zip(USAGE_VALUES.names, USAGE_VALUES(usage, event.timestamp), strict=True))
        record.update(
            project_id=project.pk,
            session_id=event.session_id,
            run_id=event.run_id,
            event_id=event.pk,
        )
        records.append(record)
    insert_records(TokenUsage, USAGE_COLUMNS, records)
    key_names = [c.name for c in DAILY_KEY]
    sum_names = [c.name for c in DAILY_SUMS]
    daily: list[dict[str, Any]] = [
        {
            **dict(zip(key_names, key, strict=True)),
            **dict(zip(sum_names, sums, strict=True)),
            "agent_name": sessions[session_id].agent_name,
            "user_ref": sessions[session_id].user_ref,
        }
        for session_id, usages in priced.items()
        for key, sums in daily_sums(usages)
    ]
    # One upsert: it merges equal keys and writes them in one order (no deadlock).
    daily_usage_apply(project_id=project.pk, rows=daily)
    return priced


def usage_store(
    project: Project, session: AgentSession, created: list[Event], fresh: list[EventInput]
) -> list[PricedUsage]:
    """Price the new events' usage, store its rows and add it to the daily aggregate (also for
    events stored earlier whose usage arrives later: the OTLP receiver's late spans)."""
    return usage_store_many(project, {session.pk: session}, created, fresh).get(session.pk, [])
