"""The exports' reads on PostgreSQL: each event's JSON, JSON Lines or Markdown text written by
the database, as UTF-8 bytes the export only joins.

Reading model rows (or even value tuples) through the ORM and formatting each in Python held
the exports to ~20,000 events/s; here PostgreSQL writes each event as the exact text of
`sessions_app.exports._event_json` (the record of `records.event_record`: same keys, same
order, moments as DjangoJSONEncoder writes them, money as the JSON number Python's `repr` of a
float gives) or of `exports._markdown_event`, separators included, and the export joins the
rows' bytes (psycopg hands them over undecoded) into one part per chunk. The keys and fixed
words are SQL literals; only values go through to_json. Other databases keep the Python path.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import connection
from psycopg.adapt import Loader

from ..models import AgentSession

# Seqs per query: each chunk is one range scan of the (session, seq) index.
CHUNK = 2000


def _moment(column: str) -> str:
    """A timestamptz as DjangoJSONEncoder writes it, quoted: milliseconds only when the moment
    has a fraction of a second, "Z" for UTC. (Django's connections to PostgreSQL use the UTC
    zone, so to_char writes UTC; one to_char call a moment, as each call costs a microsecond.)"""
    return (
        f"CASE WHEN date_trunc('second', {column}) = {column} "
        f"""THEN to_char({column}, '\\"YYYY-MM-DD"T"HH24:MI:SS"Z\\"') """
        f"""ELSE to_char({column}, '\\"YYYY-MM-DD"T"HH24:MI:SS.MS"Z\\"') END"""
    )


def _money(column: str) -> str:
    """A decimal as `repr(float(value))` writes it: the shortest text that reads back as the
    same double (PostgreSQL's float8 output since 12), "2.0" rather than "2" for whole numbers
    (costs stay far below 1e16, where repr would switch to an exponent)."""
    return (
        f"CASE WHEN {column} IS NULL THEN 'null' "
        f"WHEN {column} = trunc({column}) THEN concat(trunc({column}), '.0') "
        f"ELSE {column}::float8::text END"
    )


def _string(column: str) -> str:
    # to_json escapes exactly what json.dumps(..., ensure_ascii=False) escapes.
    return f"to_json({column})::text"


def _external_id(table: str, column: str) -> str:
    """The external id of the row `column` points at, as JSON; looked up only when set."""
    return (
        f"CASE WHEN {column} IS NULL THEN 'null' ELSE "
        f"(SELECT to_json(x.external_id)::text FROM {table} x WHERE x.id = {column}) END"
    )


def _bool(column: str) -> str:
    return f"CASE WHEN {column} THEN 'true' ELSE 'false' END"


def _object(fields: list[tuple[str, str]]) -> list[str]:
    """The parts of a JSON object's text from (key, SQL of the value's JSON text) pairs, in
    order, as json.dumps separates them: literals for the keys, the SQL for the values."""
    parts = []
    for i, (key, value) in enumerate(fields):
        parts.append(f"""'{"{" if i == 0 else ", "}"{key}": '""")
        parts.append(value)
    parts.append("'}'")
    return parts


def _concat(parts: list[str]) -> str:
    # One concat() call, so the row is not copied once per field.
    return "concat(" + ", ".join(parts) + ")"


_USAGE = _concat(
    _object(
        [
            ("model", _string("u.model")),
            ("prompt_tokens", "u.prompt_tokens"),
            ("completion_tokens", "u.completion_tokens"),
            ("total_tokens", "u.total_tokens"),
            ("cached_tokens", "u.cached_tokens"),
            ("reasoning_tokens", "u.reasoning_tokens"),
            ("cost_usd", _money("u.cost_usd")),
            ("cost_source", _string("u.cost_source")),
            ("tokens_estimated", _bool("u.tokens_estimated")),
            ("input_cost_per_token", _money("u.input_cost_per_token")),
            ("output_cost_per_token", _money("u.output_cost_per_token")),
        ]
    )
)

_EVENT_FIELDS = _object(
    [
        ("id", _string("e.external_id")),
        ("seq", "e.seq"),
        ("timestamp", _moment("e.timestamp")),
        ("received_at", _moment("e.received_at")),
        ("source", _string("e.source")),
        ("type", _string("e.type")),
        ("role", _string("e.role")),
        ("name", _string("e.name")),
        ("content", _string("e.content")),
        ("tool_call_id", _string("e.tool_call_id")),
        ("is_error", _bool("e.is_error")),
        ("parent_event_id", _external_id("sessions_app_event", "e.parent_event_id")),
        ("run_id", _external_id("sessions_app_run", "e.run_id")),
        ("metadata", "COALESCE(e.metadata::text, '{}')"),
        ("payload", "COALESCE(e.payload::text, 'null')"),
        ("payload_format", _string("e.payload_format")),
        ("duration_ms", "COALESCE(e.duration_ms::text, 'null')"),
        ("span_id", _string("e.span_id")),
        ("trace_id", _string("e.trace_id")),
        ("token_usage", f"CASE WHEN u.id IS NULL THEN 'null' ELSE {_USAGE} END"),
        ("branch", _string("e.branch")),
        (
            "removed_at",
            f"CASE WHEN e.removed_at IS NULL THEN 'null' ELSE {_moment('e.removed_at')} END",
        ),
        ("removed_by", _string("e.removed_by")),
    ]
)

# The JSON export's events: ",\n" before each but the first, which has "\n" alone (the
# first seq is the query's %(first)s).
_JSON_EVENT = _concat(["CASE WHEN e.seq = %(first)s THEN E'\\n' ELSE E',\\n' END", *_EVENT_FIELDS])
# The JSON Lines export's events: the record's kind first, a newline after each.
_JSONL_EVENT = _concat(["""'{"record": "event", "id": '""", *_EVENT_FIELDS[1:], "E'\\n'"])


def _money_display(column: str, source: str) -> str:
    """`money.money_display(cost, unpriced=source == "unknown")`: $12.40, $0.0312, $0.000041,
    $0, "price unknown". PostgreSQL's round() takes halves away from zero, as money_display
    does (ROUND_HALF_UP)."""
    return (
        f"CASE WHEN {source} = 'unknown' THEN 'price unknown' "
        f"WHEN {column} = 0 THEN '$0' "
        f"WHEN abs({column}) >= 1 THEN concat('$', "
        f"to_char(round({column}, 2), 'FM999,999,999,999,999,990.00')) "
        f"WHEN abs({column}) >= 0.01 THEN concat('$', round({column}, 4)) "
        f"ELSE concat('$', round({column}, 6)) END"
    )


def _fence(column: str) -> str:
    """`exports._fence`: a code fence longer than any run of backticks in the text."""
    return (
        f"CASE WHEN strpos({column}, '`') = 0 THEN '```' ELSE repeat('`', greatest(3, 1 + "
        f"(SELECT max(length(m[1])) FROM regexp_matches({column}, '`+', 'g') m))) END"
    )


# The Markdown transcript's section of an event, as `exports._markdown_event` writes it:
# "## #<seq> <role or source> · <type>[ `<name>`][ **error**]", the moment as
# datetime.isoformat() writes it in UTC in italics, the usage, the content in a fence.
_MARKDOWN_EVENT = (
    "concat('## #', e.seq, ' ', CASE WHEN e.role = '' THEN e.source ELSE e.role END, ' · ', "
    "e.type, CASE WHEN e.name = '' THEN '' ELSE concat(' `', e.name, '`') END, "
    "CASE WHEN e.is_error THEN ' **error**' ELSE '' END, E'\\n\\n_', "
    "CASE WHEN date_trunc('second', e.timestamp) = e.timestamp "
    """THEN to_char(e.timestamp, 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"') """
    """ELSE to_char(e.timestamp, 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"') END, E'_\\n\\n', """
    "CASE WHEN u.id IS NULL THEN '' ELSE concat('_', u.model, ': ', u.total_tokens, "
    f"' tokens, ', {_money_display('u.cost_usd', 'u.cost_source')}, E'_\\n\\n') END, "
    "CASE WHEN e.content = '' THEN '' ELSE (SELECT concat(f, E'text\\n', e.content, E'\\n', "
    f"f, E'\\n\\n') FROM (SELECT {_fence('e.content')} AS f) fence) END)"
)


def _chunk_query(text: str) -> str:
    """The text of each event of a range of seqs, in seq order. The range is a scan of the
    (session, seq) index and each event's usage one probe of its unique index (LATERAL ...
    LIMIT 1, so the plan stays a nested loop in that order even without statistics: a plan
    that wrote every row and then sorted the text spilled megabytes to disk)."""
    return f"""
        SELECT {text}
        FROM sessions_app_event e
        LEFT JOIN LATERAL (
            SELECT * FROM sessions_app_tokenusage t WHERE t.event_id = e.id LIMIT 1
        ) u ON true
        WHERE e.session_id = %(session)s AND e.seq >= %(low)s AND e.seq < %(high)s
        ORDER BY e.seq
    """


_QUERIES = {
    "json": _chunk_query(_JSON_EVENT),
    "jsonl": _chunk_query(_JSONL_EVENT),
    "md": _chunk_query(_MARKDOWN_EVENT),
}


def can_write_event_json() -> bool:
    """Whether the database writes the events' text itself (PostgreSQL)."""
    return connection.vendor == "postgresql"


def seq_span(session: AgentSession) -> tuple[int, int] | None:
    """The session's first and last seq now (None without events): an export reads up to the
    last, so events appended while it streams are not half in it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT min(seq), max(seq) FROM sessions_app_event WHERE session_id = %s",
            [session.pk],
        )
        first, last = cursor.fetchone()
    return None if first is None else (first, last)


class _Utf8(Loader):
    """Text as the database sent it (UTF-8, the connection's encoding), not decoded."""

    def load(self, data: Any) -> bytes:
        return bytes(data)


def event_texts(
    session: AgentSession, fmt: str, span: tuple[int, int] | None, *, chunk: int = CHUNK
) -> Iterator[bytes]:
    """The events of the session in seq order as the `fmt` export ("json", "jsonl" or "md")
    writes them, separators included, as UTF-8: one part per `chunk` seqs of `span` (the
    first and last seq, from `seq_span` when the export began)."""
    if span is None:
        return
    first, last = span
    for low in range(first, last + 1, chunk):
        with connection.cursor() as cursor:
            # On this cursor only: the one text column comes as the bytes the server sent.
            cursor.cursor.adapters.register_loader("text", _Utf8)
            params = {"session": session.pk, "first": first, "low": low}
            params["high"] = min(low + chunk, last + 1)
            cursor.execute(_QUERIES[fmt], params)
            rows = cursor.fetchall()
        if rows:
            yield b"".join([row[0] for row in rows])
