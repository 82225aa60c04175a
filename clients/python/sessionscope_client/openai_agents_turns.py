"""How `AdvancedSQLiteSession` reads a branch's items into turns, tools and previews, applied to
the items a Sessionscope branch holds (the advanced session's analytics are computed from one
read of the branch; nothing here talks to the server or imports the SDK).

A branch's user turn N is its N-th user message (the SDK's `branch_turn_number`); items before
the first user message are turn 0.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

# The SDK's `get_tool_usage` counts items of these types.
TOOL_TYPES = frozenset(
    {
        "tool_call",
        "function_call",
        "computer_call",
        "file_search_call",
        "web_search_call",
        "code_interpreter_call",
        "tool_search_call",
        "custom_tool_call",
        "mcp_call",
        "mcp_approval_request",
        "shell_call",
        "apply_patch_call",
    }
)
# Tool items without a `name`: the tool is the type (the tool search's two halves are one tool).
UNNAMED_TOOLS = frozenset(
    {
        "computer_call",
        "file_search_call",
        "web_search_call",
        "code_interpreter_call",
        "shell_call",
        "apply_patch_call",
        "tool_search_call",
        "tool_search_output",
    }
)


def message_type(item: Any) -> str:
    """`user`, `assistant`, the item's `type`, or `other` (the SDK's classification)."""
    if isinstance(item, dict):
        if item.get("role") == "user":
            return "user"
        if item.get("role") == "assistant":
            return "assistant"
        if item.get("type"):
            return str(item.get("type"))
    return "other"


def tool_name(item: Any) -> str | None:
    """The tool an item calls or answers, named as the SDK names it (`server.tool` for MCP,
    `namespace.name` for a namespaced function), or None."""
    if not isinstance(item, dict):
        return None
    kind = item.get("type")
    if kind in {"mcp_call", "mcp_approval_request"} and "server_label" in item:
        label, name = item.get("server_label"), item.get("name")
        if name and label:
            return f"{label}.{name}"
        return str(label) if label else (str(name) if name else None)
    if kind in UNNAMED_TOOLS:
        return "tool_search" if kind in {"tool_search_call", "tool_search_output"} else str(kind)
    if "name" in item:
        name, namespace = item.get("name"), item.get("namespace")
        if name is None:
            return None
        name, namespace = str(name), None if namespace is None else str(namespace)
        # A namespace equal to the name is the SDK's synthetic top-level shape: the bare name.
        if name and namespace and namespace != name:
            return f"{namespace}.{name}"
        return name
    return None


def is_user(item: Any) -> bool:
    """Whether an item opens a user turn."""
    return isinstance(item, dict) and item.get("role") == "user"


def preview(content: Any, max_length: int | None = None) -> str:
    """A user message's content as text (a list of parts as JSON), cut to `max_length`."""
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    if max_length is not None and len(text) > max_length:
        return text[:max_length] + "..."
    return text


def sqlite_time(value: str | None) -> str | None:
    """An ISO timestamp as SQLite's `CURRENT_TIMESTAMP` writes it (UTC, to the second), the
    form the SDK's turn and branch listings carry."""
    if not value:
        return value
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc)  # noqa: UP017 (Python 3.10)
    return parsed.strftime("%Y-%m-%d %H:%M:%S")


def numbered(items: Iterable[Any]) -> list[tuple[int, Any]]:
    """Each item with its user turn."""
    turn = 0
    out = []
    for item in items:
        if is_user(item):
            turn += 1
        out.append((turn, item))
    return out


def user_turns(
    events: Iterable[tuple[Any, str | None]], max_length: int | None
) -> list[dict[str, Any]]:
    """The SDK's `get_conversation_turns` rows from (item, timestamp) pairs of a branch."""
    turns = []
    number = 0
    for item, stamp in events:
        if not is_user(item):
            continue
        number += 1
        content = item.get("content", "")
        turns.append(
            {
                "turn": number,
                "content": preview(content, max_length),
                "full_content": content,
                "timestamp": sqlite_time(stamp),
                "can_branch": True,
            }
        )
    return turns


def matches(content: Any, term: str) -> bool:
    """Whether a user message's text holds `term` (ASCII case-insensitive, as SQLite's LIKE
    and the SDK's check after it)."""
    pattern = re.compile(re.escape(term), re.IGNORECASE | re.ASCII)
    if isinstance(content, str):
        texts = [content]
    elif isinstance(content, list):
        texts = [part.get("text", "") for part in content if isinstance(part, dict)]
    else:
        return False
    return any(pattern.search(text or "") for text in texts)


def by_turns(items: Iterable[Any]) -> dict[int, list[dict[str, str | None]]]:
    """The SDK's `get_conversation_by_turns`: each turn's items as `{type, tool_name}`."""
    turns: dict[int, list[dict[str, str | None]]] = {}
    for turn, item in numbered(items):
        turns.setdefault(turn, []).append(
            {"type": message_type(item), "tool_name": tool_name(item)}
        )
    return turns


def tool_usage(items: Iterable[Any]) -> list[tuple[str | None, int, int]]:
    """The SDK's `get_tool_usage`: (tool, calls, turn) per tool and turn, by turn; a tool
    search's output counts only when its turn has no call of that search."""
    counts: dict[tuple[str | None, int], int] = {}
    outputs: list[tuple[str | None, int]] = []
    searched: set[tuple[str | None, int]] = set()
    for turn, item in numbered(items):
        kind = message_type(item)
        name = tool_name(item)
        if kind in TOOL_TYPES:
            if name is None and kind in {"shell_call", "apply_patch_call"}:
                name = kind
            counts[(name, turn)] = counts.get((name, turn), 0) + 1
            if kind == "tool_search_call":
                searched.add((name, turn))
        elif kind == "tool_search_output":
            outputs.append((name, turn))
    for key in outputs:
        if key not in searched:
            counts[key] = counts.get(key, 0) + 1
    rows = sorted(counts.items(), key=lambda kv: (kv[0][1], kv[0][0] or ""))
    return [(name, count, turn) for (name, turn), count in rows]
