"""Exports of one session as JSON, JSON Lines or Markdown, streamed in chunks of events.

Each export reads the events by ranges of seqs, up to the last seq there was when it began (a
stable snapshot: events appended meanwhile are left out whole), so a session of 100,000 events
is never held in memory; the generators yield UTF-8 bytes, one part per chunk, that a
StreamingHttpResponse sends as it goes. On PostgreSQL the database writes each event's text
itself, separators included (`selectors/exports.py`); elsewhere `_event_json` and
`_markdown_event` write the same text from plain rows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import F, TextField
from django.db.models.functions import Cast

from .models import AgentSession, Event, Run
from .money import money_display, money_number
from .records import event_record
from .selectors.exports import CHUNK, can_write_event_json, event_texts, seq_span
from .selectors.sessions import unpriced_expression

FORMATS = {
    "json": ("application/json", "json"),
    "jsonl": ("application/x-ndjson", "jsonl"),
    "md": ("text/markdown; charset=utf-8", "md"),
}


class _ExportEncoder(DjangoJSONEncoder):
    """Dates as DjangoJSONEncoder writes them; money (the only Decimals in a record) as JSON
    numbers, which spreadsheets and notebooks read as numbers, not text."""

    def default(self, o: Any) -> Any:
        if isinstance(o, Decimal):
            return money_number(o)
        return super().default(o)


def _dumps(value: Any) -> str:
    return json.dumps(value, cls=_ExportEncoder, ensure_ascii=False)


def session_as_dict(session: AgentSession) -> dict[str, Any]:
    """The session's own fields and rollups, as exported."""
    return {
        "id": session.external_id,
        "parent_id": session.parent.external_id if session.parent else None,
        "kind": session.kind,
        "title": session.title,
        "agent_name": session.agent_name,
        "user_ref": session.user_ref,
        "status": session.status,
        "metadata": session.metadata,
        "state": session.state,
        "created_at": session.created_at,
        "last_event_at": session.last_event_at,
        "event_count": session.event_count,
        "prompt_tokens": session.prompt_tokens,
        "completion_tokens": session.completion_tokens,
        "total_tokens": session.total_tokens,
        "cost_usd": session.cost_usd,
        "error_count": session.error_count,
        "review_status": session.review_status,
        "review_note": session.review_note,
    }


def run_as_dict(run: Run) -> dict[str, Any]:
    """One run, as exported."""
    return {
        "id": run.external_id,
        "status": run.status,
        "agent_name": run.agent_name,
        "started_at": run.started_at,
        "ended_at": run.ended_at,
        "reason": run.reason,
        "metadata": run.metadata,
    }


def event_as_dict(event: Event) -> dict[str, Any]:
    """One event as the API shows it (`EventOut`): its usage and the item exactly as sent."""
    return event_record(event)


def iter_events(session: AgentSession, *, chunk: int = CHUNK) -> Iterator[Event]:
    """Every event of the session in seq order, read by keyset in chunks (as model rows, for
    callers that want them; the exports read plain rows, see `iter_event_rows`)."""
    after = 0
    while True:
        rows = list(
            Event.objects.filter(session=session, seq__gt=after)
            .select_related("usage")
            # The names event_record reads, as the API's reader annotates them.
            .annotate(
                parent_external_id=F("parent_event__external_id"),
                run_external_id=F("run__external_id"),
            )
            .order_by("seq")[:chunk]
        )
        yield from rows
        if len(rows) < chunk:
            return
        after = rows[-1].seq


# The columns an export reads, as plain tuples: building a model instance per event (and parsing
# its JSON only to write it again) held the exports to ~3,500 events/s. Payload and metadata come
# as the database's JSON text and are written out as they are.
_ROW = (
    "seq",
    "external_id",
    "timestamp_text",
    "received_at_text",
    "source",
    "type",
    "role",
    "name",
    "content",
    "tool_call_id",
    "is_error",
    "parent_event__external_id",
    "run__external_id",
    "metadata_text",
    "payload_text",
    "payload_format",
    "usage__id",
    "usage__model",
    "usage__prompt_tokens",
    "usage__completion_tokens",
    "usage__total_tokens",
    "usage__cached_tokens",
    "usage__reasoning_tokens",
    "usage__cost_usd",
    "usage__cost_source",
    "usage__tokens_estimated",
    "usage__input_cost_per_token",
    "usage__output_cost_per_token",
    "duration_ms",
    "span_id",
    "trace_id",
    "branch",
    "removed_at_text",
    "removed_by",
)
EventRow = tuple[Any, ...]


def iter_event_rows(
    session: AgentSession, span: tuple[int, int] | None, *, chunk: int = CHUNK
) -> Iterator[list[EventRow]]:
    """The session's events in seq order as tuples of `_ROW`, a list per range of `chunk` seqs
    of `span` (the first and last seq, from `seq_span` when the export began)."""
    if span is None:
        return
    first, last = span
    for low in range(first, last + 1, chunk):
        rows = list(
            Event.objects.filter(session=session, seq__gte=low, seq__lt=min(low + chunk, last + 1))
            .annotate(
                # Moments as the database writes them (UTC): parsing 40,000 datetimes only to
                # write them again was a third of an export's time.
                timestamp_text=Cast("timestamp", TextField()),
                received_at_text=Cast("received_at", TextField()),
                metadata_text=Cast("metadata", TextField()),
                payload_text=Cast("payload", TextField()),
                removed_at_text=Cast("removed_at", TextField()),
            )
            .order_by("seq")
            .values_list(*_ROW)
        )
        if rows:
            yield rows


# The C function json.dumps(str, ensure_ascii=False) ends in, without the encoder around it.
_string: Any = json.encoder.encode_basestring


def _split_moment(raw: str) -> tuple[str, str]:
    """A UTC moment as the database writes it as text ("2026-03-01 12:00:00.1234+00" on
    PostgreSQL, "2026-03-01 12:00:00.123400" on SQLite) as its date-time part and its six
    digits of microseconds ("" when there are none)."""
    head = raw[:10] + "T" + raw[11:19]
    rest = raw[19:]
    if not rest.startswith("."):
        return head, ""
    digits = rest[1:].split("+", 1)[0].split("-", 1)[0]
    micro = (digits + "000000")[:6]
    return head, "" if micro == "000000" else micro


def _moment(raw: str) -> str:
    """A moment as DjangoJSONEncoder writes it (milliseconds, "Z"), quoted."""
    head, micro = _split_moment(raw)
    return f'"{head}.{micro[:3]}Z"' if micro else f'"{head}Z"'


def _iso(raw: str) -> str:
    """A moment as datetime.isoformat() writes it in UTC."""
    head, micro = _split_moment(raw)
    return f"{head}.{micro}+00:00" if micro else f"{head}+00:00"


def _money(value: Decimal | None) -> str:
    return "null" if value is None else repr(money_number(value))


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _event_json(r: EventRow) -> str:
    """One event as the JSON of `event_record` (same keys, same order, money as numbers),
    written field by field from a row."""
    if r[16] is None:
        usage = "null"
    else:
        usage = (
            f'{{"model": {_string(r[17])}, "prompt_tokens": {r[18]}, '
            f'"completion_tokens": {r[19]}, "total_tokens": {r[20]}, '
            f'"cached_tokens": {r[21]}, "reasoning_tokens": {r[22]}, '
            f'"cost_usd": {_money(r[23])}, "cost_source": {_string(r[24])}, '
            f'"tokens_estimated": {_bool(r[25])}, '
            f'"input_cost_per_token": {_money(r[26])}, '
            f'"output_cost_per_token": {_money(r[27])}}}'
        )
    parent = "null" if r[11] is None else _string(r[11])
    run = "null" if r[12] is None else _string(r[12])
    duration = "null" if r[28] is None else r[28]
    removed_at = "null" if r[32] is None else _moment(r[32])
    return (
        f'{{"id": {_string(r[1])}, "seq": {r[0]}, "timestamp": {_moment(r[2])}, '
        f'"received_at": {_moment(r[3])}, "source": {_string(r[4])}, '
        f'"type": {_string(r[5])}, "role": {_string(r[6])}, "name": {_string(r[7])}, '
        f'"content": {_string(r[8])}, "tool_call_id": {_string(r[9])}, '
        f'"is_error": {_bool(r[10])}, "parent_event_id": {parent}, "run_id": {run}, '
        f'"metadata": {r[13] or "{}"}, "payload": {r[14] or "null"}, '
        f'"payload_format": {_string(r[15])}, "duration_ms": {duration}, '
        f'"span_id": {_string(r[29])}, "trace_id": {_string(r[30])}, "token_usage": {usage}, '
        f'"branch": {_string(r[31])}, "removed_at": {removed_at}, '
        f'"removed_by": {_string(r[33])}}}'
    )


def _event_parts(
    session: AgentSession,
    fmt: str,
    write: Callable[[EventRow], str],
    span: tuple[int, int] | None,
    *,
    chunk: int,
) -> Iterator[bytes]:
    """The events of the `fmt` export, one UTF-8 part per chunk: written by PostgreSQL, or
    here by `write` from plain rows."""
    if can_write_event_json():
        return event_texts(session, fmt, span, chunk=chunk)
    return (
        "".join(map(write, rows)).encode() for rows in iter_event_rows(session, span, chunk=chunk)
    )


def export_json(session: AgentSession, *, chunk: int = CHUNK) -> Iterator[bytes]:
    """{"session": ..., "runs": [...], "events": [...]} as one JSON document, streamed."""
    span = seq_span(session)
    head = _dumps(session_as_dict(session))
    runs = _dumps([run_as_dict(r) for r in session.runs.order_by("created_at", "pk")])
    yield f'{{"session": {head}, "runs": {runs}, "events": ['.encode()
    first = True

    def write(row: EventRow) -> str:
        nonlocal first
        separator, first = ("\n" if first else ",\n"), False
        return separator + _event_json(row)

    yield from _event_parts(session, "json", write, span, chunk=chunk)
    yield b"\n]}\n"


def export_jsonl(session: AgentSession, *, chunk: int = CHUNK) -> Iterator[bytes]:
    """One JSON object a line: the session, then each run, then each event."""
    span = seq_span(session)
    lines = [_dumps({"record": "session", **session_as_dict(session)})]
    for run in session.runs.order_by("created_at", "pk"):
        lines.append(_dumps({"record": "run", **run_as_dict(run)}))
    yield ("\n".join(lines) + "\n").encode()
    yield from _event_parts(
        session,
        "jsonl",
        lambda row: '{"record": "event", ' + _event_json(row)[1:] + "\n",
        span,
        chunk=chunk,
    )


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks in the text, so content cannot close it."""
    if "`" not in text:
        return "```"
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    return "`" * max(3, longest + 1)


_BACKTICKS = re.compile(r"`+")


def _unpriced(session: AgentSession) -> str:
    """How much of the session's usage has no known price ("all", "some" or ""), as the pages
    show it next to the cost."""
    row = (
        AgentSession.objects.filter(pk=session.pk)
        .annotate(unpriced=unpriced_expression())
        .values_list("unpriced", flat=True)
        .first()
    )
    return row or ""


def export_markdown(session: AgentSession, *, chunk: int = CHUNK) -> Iterator[bytes]:
    """A readable transcript: a header with the rollups, then each event as a section whose
    content sits in a code fence (agent text is never interpreted as Markdown)."""
    span = seq_span(session)
    title = session.title or session.preview or session.external_id
    head = [f"# {' '.join(title.split())}\n\n"]
    for label, value in (
        ("Session", session.external_id),
        ("Agent", session.agent_name),
        ("User", session.user_ref),
        ("Status", session.status),
        ("Started", session.created_at.isoformat()),
        ("Last activity", session.last_event_at.isoformat()),
        ("Events", session.event_count),
        ("Tokens", session.total_tokens),
        ("Cost", money_display(session.cost_usd, unpriced=_unpriced(session))),
    ):
        head.append(f"- **{label}:** `{value}`\n")
    yield ("".join(head) + "\n").encode()
    yield from _event_parts(session, "md", _markdown_event, span, chunk=chunk)


def _markdown_event(r: EventRow) -> str:
    """One event of the Markdown transcript: a heading, its time, its usage, its text fenced."""
    seq, role, source, kind, name, content = r[0], r[6], r[4], r[5], r[7], r[8]
    label = kind + (f" `{name}`" if name else "")
    error = " **error**" if r[10] else ""
    parts = [f"## #{seq} {role or source} · {label}{error}\n\n_{_iso(r[2])}_\n\n"]
    if r[16] is not None:
        cost = money_display(r[23], unpriced=r[24] == "unknown")
        parts.append(f"_{r[17]}: {r[20]} tokens, {cost}_\n\n")
    if content:
        fence = _fence(content)
        parts.append(f"{fence}text\n{content}\n{fence}\n\n")
    return "".join(parts)
