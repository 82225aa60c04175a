"""A strict validator of the OpenAI chat-completions message format, and session builders
shared by the prompt, summary and segment tests."""

from __future__ import annotations

import json
import re
from typing import Any

from sessions_app.inputs import EventInput
from sessions_app.services.events import events_append

FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
KEYS = {
    "system": {"role", "content", "name"},
    "developer": {"role", "content", "name"},
    "user": {"role", "content", "name"},
    "assistant": {"role", "content", "tool_calls", "name"},
    "tool": {"role", "content", "tool_call_id"},
}


def validate_chat(messages: Any) -> None:
    """Raise AssertionError unless `messages` is a prompt a chat-completions API accepts: known
    roles and keys only, string contents, assistant tool calls well formed with JSON-object
    arguments, and every tool call answered by exactly one tool message right after it."""
    assert isinstance(messages, list), "a prompt is a list"
    pending: set[str] = set()
    in_tool_block = False
    for i, m in enumerate(messages):
        assert isinstance(m, dict), f"message {i} is not an object"
        role = m.get("role")
        assert role in KEYS, f"message {i}: unknown role {role!r}"
        extra = set(m) - KEYS[role]
        assert not extra, f"message {i} ({role}): unexpected keys {sorted(extra)}"
        if role == "tool":
            assert in_tool_block, f"message {i}: a tool message must follow an assistant tool call"
            call_id = m.get("tool_call_id")
            assert isinstance(call_id, str) and call_id, f"message {i}: tool_call_id missing"
            assert call_id in pending, f"message {i}: {call_id!r} answers no open tool call"
            pending.discard(call_id)
            assert isinstance(m.get("content"), str), f"message {i}: tool content must be text"
            continue
        assert not pending, f"message {i}: tool calls {sorted(pending)} were never answered"
        in_tool_block = False
        content = m.get("content")
        if role == "assistant":
            calls = m.get("tool_calls")
            if calls is not None:
                assert isinstance(calls, list) and calls, f"message {i}: empty tool_calls"
                ids = [c.get("id") for c in calls]
                assert len(set(ids)) == len(ids), f"message {i}: duplicate tool call ids"
                for c in calls:
                    assert set(c) == {"id", "type", "function"}, f"message {i}: tool call keys"
                    assert isinstance(c["id"], str) and c["id"]
                    assert c["type"] == "function"
                    fn = c["function"]
                    assert set(fn) == {"name", "arguments"}, f"message {i}: function keys"
                    assert FUNCTION_NAME.match(fn["name"]), f"bad function name {fn['name']!r}"
                    assert isinstance(fn["arguments"], str)
                    assert isinstance(json.loads(fn["arguments"]), dict), "arguments: JSON object"
                pending = set(ids)
                in_tool_block = True
                assert content is None or isinstance(content, str)
            else:
                assert isinstance(content, str), f"message {i}: assistant without text or calls"
        else:
            assert isinstance(content, str), f"message {i} ({role}): content must be text"
    assert not pending, f"tool calls {sorted(pending)} were never answered"


# -- session builders ------------------------------------------------------------------------


def user(eid: str, text: str) -> EventInput:
    return EventInput(external_id=eid, source="user", role="user", content=text)


def assistant(eid: str, text: str, *, source: str = "llm", role: str = "assistant") -> EventInput:
    return EventInput(external_id=eid, source=source, role=role, content=text)


def call(eid: str, parent: str, call_id: str, name: str, args: dict | None = None) -> EventInput:
    return EventInput(
        external_id=eid,
        source="llm",
        type="tool_call",
        name=name,
        tool_call_id=call_id,
        content=json.dumps(args or {}),
        parent_external_id=parent,
        payload={"tool": name, "arguments": args or {}},
    )


def result(eid: str, call_id: str, text: str, *, error: bool = False, name: str = "") -> EventInput:
    return EventInput(
        external_id=eid,
        source="tool",
        type="tool_result",
        role="tool",
        name=name,
        tool_call_id=call_id,
        content=text,
        is_error=error,
        parent_tool_call_id=call_id,
    )


def summary(eid: str, text: str, parent: str | None = None) -> EventInput:
    return EventInput(
        external_id=eid,
        source="system",
        type="summary",
        role="system",
        content=text,
        parent_external_id=parent,
    )


def append(project, sid: str, *events: EventInput):
    """Append events to a session (created as a root if new) and return the session."""
    session, _ = events_append(project=project, session_external_id=sid, events=list(events))
    return session
