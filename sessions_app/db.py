"""Raw SQL on Django's connection for the few hot paths the ORM makes too slow.

The ORM compiles every query in Python and quotes parameters client-side; on the ingest path
that cost more CPU than PostgreSQL spent executing the statements (profiled in bench/ingest.py).
These helpers run a fixed statement with server-side parameters instead, prepared once per
connection, so PostgreSQL also skips parsing and planning it (planning the ingest statement cost
more than executing it). Behind a connection pooler in transaction mode, the pooler must support
prepared statements (PgBouncer >= 1.21 with max_prepared_statements set).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, TypeVar

import psycopg
from django.db import connection, models

M = TypeVar("M", bound=models.Model)


def server_bound(sql: str, params: Sequence[Any] | dict[str, Any]) -> list[tuple]:
    """Run one statement on Django's PostgreSQL connection with server-side parameters.

    Errors are Django's (IntegrityError, ...), and the statement is logged like Django's own,
    so query counts in tests and the debug toolbar stay honest.
    """
    connection.ensure_connection()
    started = time.monotonic()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        # Every statement here returns rows; asking for `description` would build column
        # objects that cost more than the rows.
        rows = cursor.fetchall()
    if connection.queries_logged:
        connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})
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
