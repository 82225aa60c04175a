"""Our own / a2a `SessionEvent` dicts (`native`): the fields we store, an a2a tool object
`{tool, arguments, result, error}` read as a foreign tool call or result is."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from ..inputs import EventInput
from .base import _SOURCE_ROLE, F, S, T, _json_text, _to_text

# What makes a tool event's message an a2a tool object rather than any other JSON value.
TOOL_MESSAGE_KEYS = ("arguments", "result", "error")
# The longest latency an event holds (Event.duration_ms, as the JSON API bounds it).
MAX_DURATION_MS = 2**31 - 1


def _value_text(value: Any) -> str:
    """A tool's arguments, result or error as text: a string as it is, nothing for null."""
    return "" if value is None else _json_text(value)


def _tool_text(message: Mapping[str, Any], kind: str) -> str | None:
    """What an a2a tool event's `{tool, arguments, result, error}` shows, as a foreign tool
    call or result does: the arguments of a call, the result (then the error) of a result; a
    call that also holds its outcome (a2a logs the call and its result as one event) shows the
    arguments, a blank line, then the outcome. None when the object holds none of these."""
    if not any(key in message for key in TOOL_MESSAGE_KEYS):
        return None
    arguments = _value_text(message.get("arguments"))
    error = message.get("error")
    outcome = "\n".join(
        text for text in (_value_text(message.get("result")), _value_text(error or None)) if text
    )
    if kind == T.TOOL_RESULT:
        return outcome or arguments
    return "\n\n".join(text for text in (arguments, outcome) if text)


def _logged_outcome(kind: str, message: Any) -> bool:
    """Whether a `tool_call` holds a tool's outcome and no arguments: how a2a's tool processor
    logs each tool it ran (its ToolResult, `{id, tool, result, error, start_time, end_time,
    ...}`), a2a's event types having no tool result. Such an event is stored as the result it
    is; its payload keeps a2a's type."""
    return (
        kind == T.TOOL_CALL
        and isinstance(message, Mapping)
        and ("result" in message or bool(message.get("error")))
        and not _value_text(message.get("arguments"))
    )


def _moment(value: Any) -> datetime | None:
    """A time as a2a's JSON writes it (ISO 8601; without an offset: UTC), or None."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _duration_ms(message: Mapping[str, Any]) -> int | None:
    """A tool's latency from the `start_time` and `end_time` an a2a ToolResult carries: whole
    milliseconds, 0 when the end comes first; None when either is missing or not a time, or
    the span is longer than the column holds."""
    start, end = _moment(message.get("start_time")), _moment(message.get("end_time"))
    if start is None or end is None:
        return None
    elapsed = (end - start) // timedelta(milliseconds=1)
    return max(elapsed, 0) if elapsed <= MAX_DURATION_MS else None


def _message_text(message: Any, kind: str = T.MESSAGE) -> str:
    if isinstance(message, Mapping):
        # `note`: a2a's summary events carry their text as `{"note": ...}`.
        for key in ("content", "text", "note"):
            if isinstance(message.get(key), str):
                return message[key]
        if kind in (T.TOOL_CALL, T.TOOL_RESULT):
            text = _tool_text(message, kind)
            if text is not None:
                return text
    return _to_text(message)


def from_native(
    event: Mapping[str, Any], *, event_id: str, raw: Mapping[str, Any] | None = None
) -> list[EventInput]:
    """Our own / an a2a `SessionEvent` dict (source, type, message, task_id, metadata with
    parent_event_id, token_usage). An a2a tool event's message is `{tool, arguments, result,
    error}`: the tool's name, an error when `error` is set, and as the content its arguments
    or its result (`_tool_text`), as a foreign tool call or result has, not the whole object
    (which stays in the payload). A `tool_call` holding only an outcome is a `tool_result`
    (`_logged_outcome`); `start_time`/`end_time` in the message give the latency."""
    source = event.get("source") or S.SYSTEM
    kind = event.get("type") or T.MESSAGE
    message = event.get("message")
    metadata = event.get("metadata") or {}
    logged = _logged_outcome(kind, message)
    if logged:
        kind = T.TOOL_RESULT
    result = EventInput(
        external_id=event_id,
        source=source,
        type=kind,
        role=event.get("role") or str(_SOURCE_ROLE.get(source, "")),
        name=event.get("name") or "",
        content=_message_text(message, kind),
        tool_call_id=event.get("tool_call_id") or "",
        is_error=bool(event.get("is_error")) or kind == T.ERROR,
        payload=dict(raw if raw is not None else event),
        payload_format=F.NATIVE,
        metadata=dict(metadata),
        model=event.get("model") or "",
    )
    if isinstance(message, Mapping):
        result.duration_ms = _duration_ms(message)
    if isinstance(message, Mapping) and kind in (T.TOOL_CALL, T.TOOL_RESULT):
        tool = message.get("tool") or message.get("tool_name") or message.get("name")
        if isinstance(tool, str) and not result.name:
            result.name = tool[:255]
        if message.get("error"):
            result.is_error = True
        call_id = message.get("tool_call_id") or message.get("call_id")
        if not logged:  # a ToolResult's own `id` names the result, not a call
            call_id = call_id or message.get("id")
        if isinstance(call_id, str) and not result.tool_call_id:
            result.tool_call_id = call_id[:255]
        if kind == T.TOOL_RESULT and result.tool_call_id:
            result.parent_tool_call_id = result.tool_call_id
    parent = event.get("parent_event_id") or metadata.get("parent_event_id")
    if isinstance(parent, str) and parent:
        result.parent_external_id = parent
    return [result]
