"""Exports of one session as JSON, JSON Lines or Markdown, streamed in chunks of events.

Each export reads the events by keyset in chunks, so a session of 100,000 events is never held
in memory; the generators yield text that a StreamingHttpResponse sends as it goes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import F

from .models import AgentSession, Event, Run
from .money import money_display, money_number
from .records import event_record
from .selectors.sessions import unpriced_expression

CHUNK = 1000
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
    """Every event of the session in seq order, read by keyset in chunks."""
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


def export_json(session: AgentSession) -> Iterator[str]:
    """{"session": ..., "runs": [...], "events": [...]} as one JSON document, streamed."""
    head = _dumps(session_as_dict(session))
    runs = _dumps([run_as_dict(r) for r in session.runs.order_by("created_at", "pk")])
    yield f'{{"session": {head}, "runs": {runs}, "events": ['
    for i, event in enumerate(iter_events(session)):
        yield ("," if i else "") + "\n" + _dumps(event_as_dict(event))
    yield "\n]}\n"


def export_jsonl(session: AgentSession) -> Iterator[str]:
    """One JSON object a line: the session, then each run, then each event."""
    yield _dumps({"record": "session", **session_as_dict(session)}) + "\n"
    for run in session.runs.order_by("created_at", "pk"):
        yield _dumps({"record": "run", **run_as_dict(run)}) + "\n"
    for event in iter_events(session):
        yield _dumps({"record": "event", **event_as_dict(event)}) + "\n"


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks in the text, so content cannot close it."""
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    return "`" * max(3, longest + 1)


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


def export_markdown(session: AgentSession) -> Iterator[str]:
    """A readable transcript: a header with the rollups, then each event as a section whose
    content sits in a code fence (agent text is never interpreted as Markdown)."""
    title = session.title or session.preview or session.external_id
    yield f"# {' '.join(title.split())}\n\n"
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
        yield f"- **{label}:** `{value}`\n"
    yield "\n"
    for event in iter_events(session):
        who = event.role or event.source
        kind = event.type + (f" `{event.name}`" if event.name else "")
        error = " **error**" if event.is_error else ""
        yield f"## #{event.seq} {who} · {kind}{error}\n\n_{event.timestamp.isoformat()}_\n\n"
        usage = getattr(event, "usage", None)
        if usage is not None:
            cost = money_display(usage.cost_usd, unpriced=usage.cost_source == "unknown")
            yield f"_{usage.model}: {usage.total_tokens} tokens, {cost}_\n\n"
        if event.content:
            fence = _fence(event.content)
            yield f"{fence}text\n{event.content}\n{fence}\n\n"
