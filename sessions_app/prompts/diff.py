"""A line diff between two strategies' prompts, as a reviewer reads it: each message as a few
lines of text (its role, its content, its tool calls), compared with difflib."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

from .base import Prompt

# A prompt of many long messages makes difflib's work grow fast; what a person can read of a
# diff fits well within this.
MAX_LINES = 4000


@dataclass(frozen=True)
class DiffLine:
    """One line of the diff: `op` is " " (in both), "-" (only the first) or "+" (only the
    second); numbers are the line's place in each prompt's text (None where it is absent)."""

    op: str
    text: str
    left: int | None
    right: int | None


@dataclass(frozen=True)
class PromptDiff:
    """Two prompts' texts compared: the lines, and how many were removed and added."""

    left: str
    right: str
    lines: list[DiffLine]
    removed: int
    added: int
    truncated: bool


def prompt_text(messages: list[dict[str, Any]]) -> list[str]:
    """A prompt as lines: a `[role]` header per message, then its text, its tool calls and the
    call it answers."""
    lines: list[str] = []
    for message in messages:
        lines.append(f"[{message.get('role', '')}]")
        content = message.get("content")
        if isinstance(content, str):
            lines.extend(content.splitlines() or [""])
        elif content:
            lines.extend(json.dumps(content, ensure_ascii=False, indent=1).splitlines())
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            lines.append(f"→ {function.get('name', '')}({function.get('arguments', '')})")
        if message.get("tool_call_id"):
            lines.append(f"(answers {message['tool_call_id']})")
    return lines


def prompt_diff(left: Prompt, right: Prompt, *, context: int = 3) -> PromptDiff:
    """The unified diff of two prompts' texts, with `context` lines around each change."""
    a, b = prompt_text(left.messages), prompt_text(right.messages)
    truncated = len(a) > MAX_LINES or len(b) > MAX_LINES
    a, b = a[:MAX_LINES], b[:MAX_LINES]
    lines: list[DiffLine] = []
    removed = added = 0
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        if lines:
            lines.append(DiffLine("…", "", None, None))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines += [DiffLine(" ", a[i], i + 1, j1 + i - i1 + 1) for i in range(i1, i2)]
                continue
            if tag in ("replace", "delete"):
                lines += [DiffLine("-", a[i], i + 1, None) for i in range(i1, i2)]
                removed += i2 - i1
            if tag in ("replace", "insert"):
                lines += [DiffLine("+", b[j], None, j + 1) for j in range(j1, j2)]
                added += j2 - j1
    return PromptDiff(
        left=left.strategy,
        right=right.strategy,
        lines=lines,
        removed=removed,
        added=added,
        truncated=truncated,
    )
