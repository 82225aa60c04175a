"""The strategies' vocabulary: names, the message and prompt records, and how an event's stored
fields read as a chat message's parts (text, tool name, tool arguments)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..errors import InvalidInput
from ..models import Event
from ..normalize import TOOL_MESSAGE_KEYS

MINIMAL = "minimal"
TASK_FOCUSED = "task_focused"
TOOL_FOCUSED = "tool_focused"
CONVERSATION = "conversation"
HIERARCHICAL = "hierarchical"
STRATEGIES = (MINIMAL, TASK_FOCUSED, TOOL_FOCUSED, CONVERSATION, HIERARCHICAL)
STRATEGY_LABELS = {
    MINIMAL: "Minimal",
    TASK_FOCUSED: "Task focused",
    TOOL_FOCUSED: "Tool focused",
    CONVERSATION: "Conversation",
    HIERARCHICAL: "Hierarchical",
}
# a2a's enum values for the two focused strategies.
ALIASES = {"task": TASK_FOCUSED, "tool": TOOL_FOCUSED}
DEFAULT_HISTORY = 5
MAX_HISTORY = 200
DEFAULT_MODEL = "gpt-4o"
NO_RESULT = "(no result recorded)"
CONTEXT_PREFIX = "Context from previous conversation: "
# Chat APIs accept function names of 1-64 characters from this set only.
_NOT_NAME = re.compile(r"[^a-zA-Z0-9_-]")

# Events a message's children can be: the tool calls it asked for (and the results a2a logged
# as its calls, `logged_as_call`), summaries that replaced it.
CHILD_TYPES = (Event.Type.TOOL_CALL, Event.Type.TOOL_RESULT, Event.Type.SUMMARY)
# Columns a prompt needs; the JSON payload is loaded too because a2a-native tool events keep
# their arguments and result there, but only for the handful of events selected.
COLUMNS = (
    "id",
    "session_id",
    "seq",
    "source",
    "type",
    "role",
    "name",
    "tool_call_id",
    "content",
    "is_error",
    "payload",
    "payload_format",
    "parent_event_id",
)


def resolve_strategy(name: str | None, *, strict: bool = False) -> str:
    """The canonical strategy name; unknown names fall back to MINIMAL (as a2a does) unless
    `strict`, where they are refused."""
    key = (name or MINIMAL).strip().lower()
    key = ALIASES.get(key, key)
    if key in STRATEGIES:
        return key
    if strict:
        raise InvalidInput(
            f"Unknown strategy {name!r}: use one of {', '.join(STRATEGIES)} (or task, tool).",
            field="strategy",
        )
    return MINIMAL


@dataclass(frozen=True)
class Source:
    """An event a message was built from (for links back into the transcript)."""

    session_id: int
    seq: int


@dataclass
class Built:
    """One chat message and the events it came from."""

    message: dict[str, Any]
    sources: list[Source]


@dataclass
class Prompt:
    """A strategy's prompt for one model: messages, tokens, estimated input cost, what was cut."""

    strategy: str
    model: str
    messages: list[dict[str, Any]]
    sources: list[list[Source]]
    token_count: int
    cost_usd: Decimal | None
    dropped: list[dict[str, Any]] = field(default_factory=list)
    max_tokens: int | None = None


@dataclass
class Tool:
    """A tool the assistant asked for, with its outcome."""

    call: Event
    call_id: str
    name: str
    arguments: str
    result: str
    error: str
    sources: list[Source]


def text_of(value: Any) -> str:
    """A stored value as message text (JSON for structured values)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, ensure_ascii=False)


def payload_message(event: Event) -> dict[str, Any]:
    """An a2a-native tool event's `message` dict ({tool, arguments, result, error}), if any."""
    payload = event.payload if isinstance(event.payload, dict) else {}
    inner = payload.get("message")
    if isinstance(inner, dict):
        return inner
    return payload


def logged_as_call(event: Event) -> bool:
    """A tool result a2a sent as a `tool_call` (its tool processor logs each tool's outcome so,
    under the assistant message): a prompt sends it as a2a's builder does, as a call of that
    message with its outcome (normalize.native stores it as the result it is)."""
    payload = event.payload if isinstance(event.payload, dict) else {}
    return (
        event.type == Event.Type.TOOL_RESULT
        and event.payload_format == Event.Format.NATIVE
        and payload.get("type") == Event.Type.TOOL_CALL
    )


def function_name(raw: str) -> str:
    """A tool name as chat APIs accept it."""
    return _NOT_NAME.sub("_", raw)[:64] or "tool"


def arguments_of(event: Event) -> str:
    """The call's arguments as a JSON object string, as `function.arguments` must be."""
    inner = payload_message(event)
    raw = inner.get("arguments")
    if isinstance(raw, dict):
        return json.dumps(raw, default=str, ensure_ascii=False)
    if isinstance(raw, str):
        candidate = raw
    elif event.payload_format == Event.Format.NATIVE and any(
        key in inner for key in TOOL_MESSAGE_KEYS
    ):
        # An a2a tool object: its content is the outcome when it names no arguments (a2a logs
        # a tool's result as the call), which is not what the call was asked.
        candidate = ""
    else:
        candidate = event.content
    try:
        parsed = json.loads(candidate) if candidate else {}
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        return json.dumps(parsed, ensure_ascii=False)
    # Not JSON (e.g. a Python repr): keep the text so nothing is lost, still valid JSON.
    return json.dumps({"input": candidate}, ensure_ascii=False)
