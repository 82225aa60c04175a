"""A session's rollups: what a batch adds to them, and recomputing them after deletions.

The sums a batch adds are listed once in `rows.ROLLUP_SUMS`. The other rules are written
here twice, side by side, because the two paths apply them differently: the general path holds
the session's row lock and knows the old values (Python), the one statement reads them inside its
UPDATE (SQL, where every column still reads its old value):

- a session that had no events starts with its batch's earliest event (not with the row), so
  imported or replayed history keeps its own times; later batches do not move the start;
- `last_event_at` is the latest event time seen; `duration_seconds` is last minus start;
- `preview` is the first user message's text, kept once set;
- `updated_at` is the batch's arrival time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Max, Q, Sum
from django.utils import timezone

from ...models import AgentSession, Event, TokenUsage
from .rows import ROLLUP_SUMS, BatchTotals


def seconds(delta: timedelta) -> int:
    """Whole seconds of a duration, never negative."""
    return max(int(delta.total_seconds()), 0)


def rollup_times(
    *,
    created_at: datetime,
    last_event_at: datetime | None,
    last_seq: int,
    preview: str,
    first_at: datetime,
    last_at: datetime,
    totals: BatchTotals,
    now: datetime,
) -> dict[str, Any]:
    """The session's new start, last event time, duration, preview and update time."""
    if last_seq == 0 or last_event_at is None:
        created_at = min(created_at, first_at)
        last_event_at = last_at
    else:
        last_event_at = max(last_event_at, last_at)
    return {
        "created_at": created_at,
        "last_event_at": last_event_at,
        "duration_seconds": seconds(last_event_at - created_at),
        "preview": preview or totals.preview,
        "updated_at": now,
    }


# The same rules in the statement's UPDATE (statement.py): the batch's values are parameters.
_FIRST_SQL = "CASE WHEN last_seq = 0 THEN LEAST(created_at, %(first_at)s) ELSE created_at END"
_LAST_SQL = (
    "CASE WHEN last_seq = 0 THEN %(last_at)s::timestamptz "
    "ELSE GREATEST(last_event_at, %(last_at)s) END"
)
ROLLUP_TIMES_SQL: tuple[tuple[str, str], ...] = (
    ("created_at", _FIRST_SQL),
    ("last_event_at", _LAST_SQL),
    (
        "duration_seconds",
        f"GREATEST(0, floor(extract(epoch FROM ({_LAST_SQL}) - ({_FIRST_SQL}))))::bigint",
    ),
    ("preview", "CASE WHEN preview = '' THEN %(preview)s ELSE preview END"),
    ("updated_at", "%(now)s"),
)


def rollups_add(
    session: AgentSession, *, totals: BatchTotals, first_at: datetime, last_at: datetime
) -> None:
    """Add a batch to the session's rollups (the caller holds its row lock) and to the
    instance, which then equals the stored row without reading it back."""
    times = rollup_times(
        created_at=session.created_at,
        last_event_at=session.last_event_at,
        last_seq=session.last_seq,
        preview=session.preview,
        first_at=first_at,
        last_at=last_at,
        totals=totals,
        now=timezone.now(),
    )
    sums = {column: getattr(totals, key) for column, key in ROLLUP_SUMS}
    AgentSession.objects.filter(pk=session.pk).update(
        **{column: F(column) + value for column, value in sums.items()}, **times
    )
    for column, value in sums.items():
        setattr(session, column, getattr(session, column) + value)
    for column, value in times.items():
        setattr(session, column, value)


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
        duration_seconds=seconds((ev["last_at"] or session.created_at) - session.created_at),
        updated_at=timezone.now(),
    )
    session.refresh_from_db()
