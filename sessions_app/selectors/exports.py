"""The exports' reads on PostgreSQL: each event's JSON (and Markdown heading) written by the
database.

Reading model rows (or even value tuples) through the ORM and formatting each in Python held
the exports to ~20,000 events/s; here PostgreSQL writes each event as the exact text of
`sessions_app.exports._event_json` (the record of `records.event_record`: same keys, same
order, moments as DjangoJSONEncoder writes them, money as the JSON number Python's `repr` of a
float gives) and the export only joins the lines. Other databases keep the Python path.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from django.db import connection

from ..models import AgentSession

CHUNK = 5000


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


def _nullable_string(column: str) -> str:
    return f"COALESCE(to_json({column})::text, 'null')"


def _external_id(table: str, column: str) -> str:
    """The external id of the row `column` points at, as JSON; looked up only when set."""
    return (
        f"CASE WHEN {column} IS NULL THEN 'null' ELSE "
        f"(SELECT to_json(x.external_id)::text FROM {table} x WHERE x.id = {column}) END"
    )


def _bool(column: str) -> str:
    return f"CASE WHEN {column} THEN 'true' ELSE 'false' END"


def _object(fields: list[tuple[str, str]]) -> str:
    """A JSON object's text from (key, SQL of the value's JSON text) pairs, in order, as
    json.dumps separates them; one concat() call, so the row is not copied once per field."""
    parts = []
    for i, (key, value) in enumerate(fields):
        parts.append(f"""'{"{" if i == 0 else ", "}"{key}": '""")
        parts.append(value)
    parts.append("'}'")
    return "concat(" + ", ".join(parts) + ")"


_USAGE = _object(
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

_EVENT = _object(
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

# The page of events is cut (by the (session, seq) index) before anything is written, and the
# usage joined to it in that order: a plan that wrote every row and then sorted the text spilled
# megabytes to disk. Both queries below read their events through it.
_CHUNK_OF_EVENTS = """
    FROM (
        SELECT * FROM sessions_app_event
        WHERE session_id = %s AND seq > %s
        ORDER BY seq
        LIMIT %s
    ) e
    LEFT JOIN sessions_app_tokenusage u ON u.event_id = e.id
    ORDER BY e.seq
"""

_QUERY = f"""
    SELECT e.seq, {_EVENT}
    {_CHUNK_OF_EVENTS}"""


def can_write_event_json() -> bool:
    """Whether the database writes the events' JSON itself (PostgreSQL)."""
    return connection.vendor == "postgresql"


def event_json_lines(session: AgentSession, *, chunk: int = CHUNK) -> Iterator[str]:
    """Every event of the session in seq order as its export JSON text (one object, no newline),
    written by PostgreSQL, read by keyset in chunks of `chunk` events."""
    after = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(_QUERY, [session.pk, after, chunk])
            rows = cursor.fetchall()
        for _, line in rows:
            yield line
        if len(rows) < chunk:
            return
        after = rows[-1][0]


# The Markdown transcript's heading and time line of an event, as `exports._markdown_event`
# writes them: "## #<seq> <role or source> · <type>[ `<name>`][ **error**]", then the moment
# as datetime.isoformat() writes it in UTC, in italics.
_MARKDOWN_HEAD = (
    "concat('## #', e.seq, ' ', CASE WHEN e.role = '' THEN e.source ELSE e.role END, ' · ', "
    "e.type, CASE WHEN e.name = '' THEN '' ELSE concat(' `', e.name, '`') END, "
    "CASE WHEN e.is_error THEN ' **error**' ELSE '' END, E'\\n\\n_', "
    "CASE WHEN date_trunc('second', e.timestamp) = e.timestamp "
    """THEN to_char(e.timestamp, 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"') """
    """ELSE to_char(e.timestamp, 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"') END, E'_\\n\\n')"""
)

_MARKDOWN_QUERY = f"""
    SELECT e.seq, {_MARKDOWN_HEAD}, u.id IS NOT NULL, u.model, u.total_tokens, u.cost_usd,
        u.cost_source, e.content
    {_CHUNK_OF_EVENTS}"""

MarkdownRow = tuple[int, str, bool, str | None, int | None, Decimal | None, str | None, str]


def event_markdown_rows(session: AgentSession, *, chunk: int = CHUNK) -> Iterator[MarkdownRow]:
    """Every event of the session in seq order for the Markdown transcript: (seq, heading and
    time written by PostgreSQL, has usage, model, total tokens, cost, cost source, content)."""
    after = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(_MARKDOWN_QUERY, [session.pk, after, chunk])
            rows = cursor.fetchall()
        yield from rows
        if len(rows) < chunk:
            return
        after = rows[-1][0]
