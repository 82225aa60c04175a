"""Raw SQL on Django's connection for the few hot paths the ORM makes too slow.

The ORM compiles every query in Python and quotes parameters client-side; on the ingest path
that cost more CPU than PostgreSQL spent executing the statements (profiled in bench/ingest.py).
These helpers run a fixed statement with server-side parameters instead, prepared once per
connection, so PostgreSQL also skips parsing and planning it (planning the ingest statement cost
more than executing it). Behind a connection pooler in transaction mode, the pooler must support
prepared statements (PgBouncer >= 1.21 with max_prepared_statements set).

Statements are written with psycopg's placeholders (`%s`, `%(name)s`) and run on a raw cursor
with PostgreSQL's own (`$1`): psycopg parses a statement longer than 4 kB again on every call
(its cache skips long ones), which cost a sixth of a single-event POST. Rows of a batch travel
as one JSON document, not as arrays: psycopg dumps a list element by element in Python.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Sequence
from typing import Any, TypeVar

import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper

M = TypeVar("M", bound=models.Model)

_PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?(.)")


@functools.lru_cache(maxsize=256)
def numbered(sql: str) -> tuple[str, tuple[str | int, ...]]:
    """`sql` with `$n` placeholders, and the parameter (name or position) each `$n` takes.

    Accepts psycopg's `%s` and `%(name)s` (a name used twice is one parameter) and `%%`.
    """
    order: list[str | int] = []
    positional = 0

    def number(match: re.Match) -> str:
        nonlocal positional
        name, kind = match.groups()
        if kind == "%" and name is None:
            return "%"
        if kind != "s":
            raise ValueError(f"Unsupported placeholder {match.group(0)!r}: use %s or %(name)s.")
        if name is None:
            key: str | int = positional
            positional += 1
        else:
            key = name
            if key in order:
                return f"${order.index(key) + 1}"
        order.append(key)
        return f"${len(order)}"

    converted = _PLACEHOLDER.sub(number, sql)
    if positional and len(order) != positional:
        raise ValueError("Mixing %s and %(name)s placeholders in one statement.")
    return converted, tuple(order)


def _cursor(db: BaseDatabaseWrapper) -> psycopg.RawCursor:
    """The raw cursor of the connection's current session, made once and reused: a new cursor
    per statement cost a fifth of a single-event append's time in the driver. It keeps the last
    statement's rows (a batch's ids at most) until the next one; Django's connection is
    per-thread, so the cursor is too."""
    raw = db.connection
    cursor = getattr(db, "_server_bound_cursor", None)
    if cursor is None or cursor.connection is not raw or cursor.closed:
        cursor = psycopg.RawCursor(raw)
        db._server_bound_cursor = cursor  # type: ignore[attr-defined]
    return cursor


def server_bound(sql: str, params: Sequence[Any] | dict[str, Any]) -> list[tuple]:
    """Run one statement on Django's PostgreSQL connection with server-side parameters.

    Errors are Django's (IntegrityError, ...), and the statement is logged like Django's own,
    so query counts in tests and the debug toolbar stay honest.
    """
    query, order = numbered(sql)
    values = [params[key] for key in order]  # type: ignore[index]
    # The connection itself, not the thread-local proxy `connection` (a lookup per attribute).
    db = connections[DEFAULT_DB_ALIAS]
    db.ensure_connection()
    started = time.monotonic()
    with db.wrap_database_errors:
        cursor = _cursor(db)
        cursor.execute(query, values, prepare=True)
        # Every statement here returns rows; asking for `description` would build column
        # objects that cost more than the rows.
        rows = cursor.fetchall()
    if db.queries_logged:
        db.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})
    return rows


def columns_of(model: type[models.Model], alias: str = "") -> str:
    """The model's concrete columns, in field order, for a SELECT or RETURNING list."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(f'{prefix}"{f.column}"' for f in model._meta.concrete_fields)


def instance_from_row(model: type[M], values: Sequence[Any]) -> M:
    """A model instance from `columns_of(model)` values, converted as the ORM converts them
    (JSON columns arrive as text from Django's connection)."""
    fields = model._meta.concrete_fields
    converted = [
        field.from_db_value(value, None, connection)
        if value is not None and hasattr(field, "from_db_value")
        else value
        for field, value in zip(fields, values, strict=True)
    ]
    return model.from_db(connection.alias, [f.attname for f in fields], converted)
