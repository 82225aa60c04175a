"""The daily usage aggregate, kept current in the same transaction as the usage rows."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import connection

from ..models import DailyUsage
from ..usage_fields import SUM_FIELDS

_KEY = ("day", "model", "agent_name", "user_ref", "cost_source")
# The sums of a row, `events` first: services/events/rows.py types them for PostgreSQL's one
# statement and reads the others after it.
SUMS = ("events", *(name for name in SUM_FIELDS if name != "events"))


def daily_usage_apply(*, project_id: int, rows: Iterable[dict[str, Any]], sign: int = 1) -> None:
    """Add (sign=1) or subtract (sign=-1) usage sums into DailyUsage with one upsert.

    Each row holds the key fields and the sums. `INSERT ... ON CONFLICT DO UPDATE` with
    increments is atomic on PostgreSQL and SQLite alike, so concurrent ingests never lose an
    update; rows are sorted by key so two batches lock them in the same order (no deadlock).
    """
    merged: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        key = tuple(row[k] or "" if k != "day" else row[k] for k in _KEY)
        acc = merged.setdefault(key, dict.fromkeys(SUMS, 0))
        for name in SUMS:
            acc[name] += row[name] or 0
    if not merged:
        return
    table = DailyUsage._meta.db_table
    columns = ["project_id", *_KEY, *SUMS]
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    params: list[Any] = []
    for key in sorted(merged, key=lambda k: tuple(str(part) for part in k)):
        sums = merged[key]
        params.extend([project_id, *key])
        params.extend(
            sign * (Decimal(sums[name]) if name == "cost_usd" else int(sums[name])) for name in SUMS
        )
    updates = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in SUMS)
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        + ", ".join([placeholders] * len(merged))
        + f" ON CONFLICT (project_id, {', '.join(_KEY)}) DO UPDATE SET {updates}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
