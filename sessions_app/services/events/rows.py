"""The rows an append writes, described once: both write paths are built from these lists.

An append writes an event row per new event, a usage row per event that used a model, adds the
batch's totals to the session's rollups and to the daily usage aggregate. The general path
(`append.py`, through the ORM) and PostgreSQL's one statement (`statement.py`) both take their
column lists, their values and their SQL identifiers from here, so they cannot drift apart:

- a column `from_input` takes the attribute of the same name of the input (an `EventInput` for
  an event, a `PricedUsage` for usage); in the statement it travels in the batch's JSON
  document, typed by `pg_type`;
- any other column is supplied by the writer (ids, `seq`, `received_at`): the ORM path sets it
  from what it resolved, the statement from the session row it grew.

Adding a stored field of an event is one line in `EVENT_COLUMNS` (with the model field and the
`EventInput` field of the same name).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any

from ... import jsontext
from ...models import Event
from .. import usage


@dataclass(frozen=True)
class Column:
    """One stored column: its name, its PostgreSQL type, and where its value comes from."""

    name: str
    pg_type: str
    # True: the input's attribute of the same name; False: the writer supplies it.
    from_input: bool = True
    # An input's missing value (None) is the batch's arrival time (an event without timestamp).
    or_now: bool = False


def _given(name: str, pg_type: str) -> Column:
    return Column(name, pg_type, from_input=False)


EVENT_COLUMNS: tuple[Column, ...] = (
    _given("project_id", "bigint"),
    _given("session_id", "bigint"),
    _given("run_id", "bigint"),
    _given("parent_event_id", "bigint"),
    Column("external_id", "text"),
    _given("seq", "integer"),
    Column("timestamp", "timestamptz", or_now=True),
    _given("received_at", "timestamptz"),
    Column("source", "text"),
    Column("type", "text"),
    Column("role", "text"),
    Column("name", "text"),
    Column("tool_call_id", "text"),
    Column("content", "text"),
    Column("is_error", "boolean"),
    Column("payload", "jsonb"),
    Column("payload_format", "text"),
    Column("body_hash", "text"),
    Column("metadata", "jsonb"),
    Column("duration_ms", "integer"),
    Column("span_id", "text"),
    Column("trace_id", "text"),
    Column("branch", "text"),
)

# PostgreSQL only, and not a model field (migration 0016): an event's search words, which the
# writers give where Python can tell them exactly (search_words.py); left NULL, the insert
# trigger parses the text.
SEARCH_VECTOR = _given("search_vector", "tsvector")
PG_EVENT_COLUMNS: tuple[Column, ...] = (*EVENT_COLUMNS, SEARCH_VECTOR)

# Every input column is an attribute of `PricedUsage` (pricing.py) of the same name.
USAGE_COLUMNS: tuple[Column, ...] = (
    _given("project_id", "bigint"),
    _given("session_id", "bigint"),
    _given("run_id", "bigint"),
    _given("event_id", "bigint"),
    Column("timestamp", "timestamptz"),
    Column("model", "text"),
    Column("prompt_tokens", "integer"),
    Column("completion_tokens", "integer"),
    Column("total_tokens", "integer"),
    Column("cached_tokens", "integer"),
    Column("reasoning_tokens", "integer"),
    Column("cost_usd", "numeric"),
    Column("input_cost_per_token", "numeric"),
    Column("output_cost_per_token", "numeric"),
    Column("cached_cost_per_token", "numeric"),
    Column("cost_source", "text"),
    Column("tokens_estimated", "boolean"),
)

# The session's rollups a batch adds to: (session column, the `BatchTotals` field added). The
# rules that are not sums (first and last event time, duration, preview) are in rollups.py.
ROLLUP_SUMS: tuple[tuple[str, str], ...] = (
    ("event_count", "events"),
    ("last_seq", "events"),
    ("prompt_tokens", "prompt_tokens"),
    ("completion_tokens", "completion_tokens"),
    ("total_tokens", "total_tokens"),
    ("cost_usd", "cost_usd"),
    ("error_count", "errors"),
)

# The daily aggregate's key within one session's batch (the session adds agent and user) and
# its sums, each a `PricedUsage` attribute but `events` (one per usage row).
DAILY_KEY: tuple[Column, ...] = (
    Column("day", "date"),
    Column("model", "text"),
    Column("cost_source", "text"),
)
DAILY_SUMS: tuple[Column, ...] = tuple(
    Column(name, "numeric" if name == "cost_usd" else "bigint") for name in usage.SUMS
)


class InputValues:
    """The values of a row's input columns, read from an input in one call (`attrgetter`)."""

    def __init__(self, columns: Sequence[Column]) -> None:
        self.columns = tuple(c for c in columns if c.from_input)
        self.names = tuple(c.name for c in self.columns)
        self._get = attrgetter(*self.names)
        self._or_now = tuple(i for i, c in enumerate(self.columns) if c.or_now)

    def __call__(self, item: Any, now: datetime) -> tuple[Any, ...]:
        """The input columns' values of `item`, in column order."""
        values = self._get(item)
        if len(self.names) == 1:
            values = (values,)
        if self._or_now:
            filled = list(values)
            for i in self._or_now:
                if filled[i] is None:
                    filled[i] = now
            values = tuple(filled)
        return values


EVENT_VALUES = InputValues(EVENT_COLUMNS)
USAGE_VALUES = InputValues(USAGE_COLUMNS)
if DAILY_SUMS[0].name != "events":
    raise LookupError("daily_sums counts events in the first sum.")
_DAILY_SUM_VALUES = attrgetter(*(c.name for c in DAILY_SUMS[1:]))


@dataclass
class BatchTotals:
    """What a batch of new events adds to its session."""

    events: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost_usd: Decimal = Decimal(0)
    # The first user message's text, shortened (a session's preview, when it has none).
    preview: str = ""


PREVIEW_LENGTH = 300


def preview_of(event: Any) -> str:
    """An event's text as a session's preview: a user message with text, else ""."""
    if event.content and event.source == Event.Source.USER and event.type == Event.Type.MESSAGE:
        return event.content[:PREVIEW_LENGTH]
    return ""


def batch_totals(events: Iterable[Any], usages: Iterable[Any]) -> BatchTotals:
    """The totals of new events (inputs or rows) and their priced usage."""
    totals = BatchTotals()
    for e in events:
        totals.events += 1
        totals.errors += e.is_error
        if not totals.preview:
            totals.preview = preview_of(e)
    for u in usages:
        totals.prompt_tokens += u.prompt_tokens
        totals.completion_tokens += u.completion_tokens
        totals.total_tokens += u.total_tokens
        totals.cost_usd += u.cost_usd
    return totals


def daily_sums(usages: Iterable[Any]) -> list[tuple[tuple[date, str, str], list[Any]]]:
    """Usage summed per `DAILY_KEY` (day in UTC), in the order every writer locks the rows in."""
    daily: dict[tuple[date, str, str], list[Any]] = {}
    for u in usages:
        key = (u.timestamp.astimezone(UTC).date(), u.model, u.cost_source)
        sums = daily.get(key)
        if sums is None:
            sums = daily[key] = [Decimal(0) if c.pg_type == "numeric" else 0 for c in DAILY_SUMS]
        sums[0] += 1  # events: one per usage row
        for i, value in enumerate(_DAILY_SUM_VALUES(u), start=1):
            sums[i] += value
    return sorted(daily.items(), key=lambda item: daily_order(item[0]))


def daily_order(key: Sequence[Any]) -> tuple[str, ...]:
    """The order daily aggregate rows are written in, so concurrent batches lock them alike."""
    return tuple(str(part) for part in key)


def json_rows(rows: Any) -> str:
    """Rows for `jsonb_to_recordset` (or values for `json_array_elements_text`) as one
    document: PostgreSQL parses it in C, where psycopg would dump arrays element by element."""
    return jsontext.document(rows, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, date):  # datetimes too
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)  # numeric columns parse it exactly
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def recordset(columns: Iterable[Column]) -> str:
    """The column definition list of a `jsonb_to_recordset` over rows keyed by column name."""
    return ", ".join(f'"{c.name}" {c.pg_type}' for c in columns)


def names(columns: Iterable[Column], prefix: str = "") -> str:
    """Quoted column names for an INSERT or SELECT list, each after `prefix` (an alias)."""
    return ", ".join(f'{prefix}"{c.name}"' for c in columns)
