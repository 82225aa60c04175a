"""From validated request schemas to service inputs, and from rows to response dicts."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings

from .. import normalize
from ..errors import InvalidInput, PayloadTooLarge
from ..inputs import EventInput, UsageInput
from ..jsontext import body_hash
from ..models import AgentSession, Event, Run
from ..records import event_record
from .schemas import EventIn, id_problem


def check_path_id(value: str, *, field: str = "external_id", allow_empty: bool = False) -> str:
    """An id from the URL: 1 to 255 characters, what a body's id may hold (schemas.py
    id_problem: no NUL, other control characters or bytes that are not UTF-8)."""
    if (not value and not allow_empty) or len(value) > 255:
        raise InvalidInput(f"{field} must be 1 to 255 characters.", field=field)
    problem = id_problem(value)
    if problem:
        raise InvalidInput(f"{field} {problem}.", code="invalid_text", field=field)
    return value


def check_query_text(value: str, *, field: str) -> str:
    """Text from the query string compared with stored text (a metadata value): at most 255
    characters, no NUL (PostgreSQL cannot compare it); other control characters may be stored."""
    if len(value) > 255:
        raise InvalidInput(f"{field} must be at most 255 characters.", field=field)
    if "\x00" in value:
        raise InvalidInput(
            f"{field} must not contain a NUL character.", code="invalid_text", field=field
        )
    return value


def check_batch_size(count: int, field: str = "events") -> None:
    """Refuse a batch over the configured number of events (413, as an oversized body)."""
    limit = settings.INGEST_MAX_EVENTS
    if count > limit:
        raise PayloadTooLarge(f"A batch holds at most {limit} events; got {count}.", field=field)


# The fields of a native event the normalizer reads (cheaper than model_dump per event).
_NATIVE_FIELDS = (
    "source",
    "type",
    "role",
    "name",
    "message",
    "model",
    "tool_call_id",
    "is_error",
    "metadata",
    "parent_event_id",
)


def _usage(event: EventIn, model: str) -> UsageInput | None:
    usage = event.token_usage
    if usage is None:
        return None
    return UsageInput(
        model=usage.model or model,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens,
        cached_tokens=usage.cached_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        cost_usd=usage.cost_usd,
    )


def event_inputs(
    events: list[EventIn], raw_events: list[dict[str, Any]]
) -> tuple[list[EventInput], list[int]]:
    """The events to store for a batch as sent (`raw_events`: the same events as the client
    sent them), and for each event sent the index of the input that answers for it (a chat
    message with tool calls stands for several inputs)."""
    inputs: list[EventInput] = []
    primary: list[int] = []
    for index, (event, raw) in enumerate(zip(events, raw_events, strict=True)):
        model = event.model or (event.token_usage.model if event.token_usage else "") or ""
        if event.item is not None:
            event_id = event.id or normalize.item_id(event.item) or str(uuid.uuid4())
            try:
                produced = normalize.normalize_item(
                    event.item, fmt=event.format, event_id=event_id, model=model
                )
            except InvalidInput as exc:  # the normalizer names the item's field ("item.role")
                field = f"events.{index}.{exc.field or 'item'}"
                raise InvalidInput(exc.detail, code=exc.code, field=field) from exc
        else:
            event_id = event.id or str(uuid.uuid4())
            native = {k: v for k in _NATIVE_FIELDS if (v := getattr(event, k)) is not None}
            produced = normalize.from_native(native, event_id=event_id, raw=raw)
        first = produced[0]
        first.body_hash = body_hash(raw)
        first.model = model
        usage = _usage(event, model)
        if usage is not None:
            first.usage = usage
        if event.metadata:
            first.metadata = {**first.metadata, **event.metadata}
        if event.parent_event_id:
            first.parent_external_id = event.parent_event_id
        timestamp = event.timestamp
        run_id = event.run_id or event.task_id
        for produced_event in produced:
            produced_event.timestamp = timestamp
            produced_event.run_external_id = run_id
            if event.branch:
                produced_event.branch = event.branch
        # The latency belongs to the call the client sent, not to the events derived from it;
        # sent, it wins over one the normalizer read (an a2a ToolResult's start and end).
        if event.duration_ms is not None:
            first.duration_ms = event.duration_ms
        primary.append(len(inputs))
        inputs.extend(produced)
    return inputs, primary


def session_dict(session: AgentSession) -> dict[str, Any]:
    """A session as the API shows it (`parent_external_id`/`continued_in_external_id` are
    annotated by the selector, so no extra query is made per session)."""
    return {
        "id": session.external_id,
        "parent_id": getattr(session, "parent_external_id", None),
        "continued_in": getattr(session, "continued_in_external_id", None),
        "kind": session.kind,
        "depth": session.depth,
        "title": session.title,
        "preview": session.preview,
        "agent_name": session.agent_name,
        "user_ref": session.user_ref,
        "status": session.status,
        "metadata": session.metadata,
        "state": session.state,
        "service_session_id": session.service_session_id,
        "created_at": session.created_at,
        "updated_at": session.updated_at,
        "last_event_at": session.last_event_at,
        "event_count": session.event_count,
        "last_seq": session.last_seq,
        "prompt_tokens": session.prompt_tokens,
        "completion_tokens": session.completion_tokens,
        "total_tokens": session.total_tokens,
        "cost_usd": session.cost_usd,
        "error_count": session.error_count,
        "children_count": session.children_count,
    }


def event_dict(event: Event) -> dict[str, Any]:
    """An event as the API shows it (the record the exports write too)."""
    return event_record(event)


def run_dict(run: Run, session_external_id: str) -> dict[str, Any]:
    """A run as the API shows it."""
    return {
        "id": run.external_id,
        "session_id": session_external_id,
        "status": run.status,
        "agent_name": run.agent_name,
        "started_at": run.started_at,
        "ended_at": run.ended_at,
        "reason": run.reason,
        "metadata": run.metadata,
        "created_at": run.created_at,
        "updated_at": run.updated_at,
    }
