"""What the normalizers share: the event vocabulary, roles, and how a foreign value reads as
text or as an id derived from an item's."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..inputs import bounded_id
from ..models import Event

S = Event.Source
T = Event.Type
R = Event.Role
F = Event.Format

CHAT_ROLES = {"system", "developer", "user", "assistant", "tool", "function"}
_ROLE_SOURCE = {
    "user": S.USER,
    "assistant": S.LLM,
    "system": S.SYSTEM,
    "developer": S.SYSTEM,
    "tool": S.TOOL,
    "function": S.TOOL,
}
_SOURCE_ROLE = {S.USER: R.USER, S.LLM: R.ASSISTANT, S.SYSTEM: R.SYSTEM, S.TOOL: R.TOOL}


def _s(value: Any) -> str:
    """A string field of a foreign item, or "" when it holds anything else."""
    return value if isinstance(value, str) else ""


def _m(value: Any) -> Mapping[str, Any]:
    """An object field of a foreign item, or {} when it holds anything else."""
    return value if isinstance(value, Mapping) else {}


def derived_id(parent_id: str, kind: str, key: str | int) -> str:
    """A deterministic id for an event derived from an item (hashed when it would be too long)."""
    return bounded_id(f"{parent_id}#{kind}:{key}", keep=parent_id[:180])


def _to_text(value: Any) -> str:
    """Displayable text of a content value: a string, a list of parts, or any JSON value."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        texts = []
        for part in value:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, Mapping):
                text = part.get("text")
                if text is None:
                    text = part.get("refusal")
                if isinstance(text, str):
                    texts.append(text)
                elif part.get("type"):
                    texts.append(f"[{part['type']}]")
        return "\n".join(texts)
    if isinstance(value, Mapping) and isinstance(value.get("text"), str):
        return value["text"]
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _json_text(value: Any) -> str:
    return (
        value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    )
