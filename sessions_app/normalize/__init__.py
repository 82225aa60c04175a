"""Foreign message formats → our events, keeping the original item as the payload.

Each normalizer takes one item exactly as an SDK wrote it and returns the events it stands for:
the first carries the item as its payload (so reading back with `format=` returns exactly what
was written); events derived from it (one `tool_call` per entry of a chat message's
`tool_calls`, or per `function_call` content of an Agent Framework message) have no payload and
ids derived deterministically from the item's id, so a retried item maps to the same events.

Formats: OpenAI chat messages (`openai_chat`), OpenAI Responses input items (`responses`),
Agent Framework `Message` dicts (`agent_framework`), here; our own/a2a `SessionEvent` dicts
(`native`) in `native`. `base` holds what they share (roles, text of a foreign value).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import InvalidInput
from ..inputs import MAX_ID, EventInput, UsageInput
from ..jsontext import body_hash
from .base import (
    _ROLE_SOURCE,
    CHAT_ROLES,
    F,
    R,
    S,
    T,
    _json_text,
    _m,
    _s,
    _to_text,
    derived_id,
)
from .native import TOOL_MESSAGE_KEYS, from_native

__all__ = [
    "CHAT_ROLES",
    "PLACEHOLDER_IDS",
    "TOOL_MESSAGE_KEYS",
    "derived_id",
    "detect_format",
    "from_agent_framework",
    "from_native",
    "from_openai_chat",
    "from_responses",
    "item_id",
    "normalize_item",
]

# --- OpenAI chat --------------------------------------------------------------------------------


def from_openai_chat(item: Mapping[str, Any], *, event_id: str) -> list[EventInput]:
    """An OpenAI chat message (ChatCompletionMessageParam): assistant `tool_calls` become one
    `tool_call` event each, linked to the message; a `tool` message is a `tool_result` linked
    to its call by `tool_call_id`."""
    role = _s(item.get("role"))
    if role not in CHAT_ROLES:
        raise InvalidInput(
            f"An OpenAI chat message needs role, one of {', '.join(sorted(CHAT_ROLES))}.",
            field="item.role",
        )
    content = _to_text(item.get("content"))
    if not content and role == "assistant" and isinstance(item.get("refusal"), str):
        content = item["refusal"]
    main = EventInput(
        external_id=event_id,
        source=_ROLE_SOURCE[role],
        role=R.TOOL if role == "function" else role,
        name=_s(item.get("name")),
        content=content,
        payload=dict(item),
        payload_format=F.OPENAI_CHAT,
    )
    events = [main]
    if role in ("tool", "function"):
        main.type = T.TOOL_RESULT
        call_id = item.get("tool_call_id")
        if isinstance(call_id, str):
            main.tool_call_id = call_id
            main.parent_tool_call_id = call_id
        return events
    calls = item.get("tool_calls") if role == "assistant" else None
    if isinstance(calls, list):
        for index, call in enumerate(calls):
            if not isinstance(call, Mapping):
                raise InvalidInput(
                    "Each tool call must be an object.", field=f"item.tool_calls.{index}"
                )
            fn, custom = _m(call.get("function")), _m(call.get("custom"))
            name = _s(fn.get("name")) or _s(custom.get("name")) or _s(call.get("type"))
            call_id = _s(call.get("id")) or str(index)
            arguments = fn.get("arguments", custom.get("input", ""))
            events.append(
                EventInput(
                    external_id=derived_id(event_id, "tool_call", call_id),
                    source=S.LLM,
                    type=T.TOOL_CALL,
                    role=R.ASSISTANT,
                    name=name,
                    tool_call_id=call_id,
                    content=_json_text(arguments),
                    payload=None,
                    payload_format=F.OPENAI_CHAT,
                    body_hash=body_hash(call),
                    parent_external_id=event_id,
                )
            )
    legacy = item.get("function_call") if role == "assistant" else None
    if isinstance(legacy, Mapping):
        events.append(
            EventInput(
                external_id=derived_id(event_id, "function_call", 0),
                source=S.LLM,
                type=T.TOOL_CALL,
                role=R.ASSISTANT,
                name=_s(legacy.get("name")),
                content=_json_text(legacy.get("arguments", "")),
                payload_format=F.OPENAI_CHAT,
                body_hash=body_hash(legacy),
                parent_external_id=event_id,
            )
        )
    return events


# --- OpenAI Responses ---------------------------------------------------------------------------


def from_responses(item: Mapping[str, Any], *, event_id: str) -> list[EventInput]:
    """An OpenAI Responses input item: `message` (or an easy input message without `type`),
    `function_call`, `function_call_output`, `reasoning`; other types are kept as they are,
    mapped by their name (`*_call` → tool_call, `*_call_output` → tool_result)."""
    kind = item.get("type")
    if kind is None and "role" in item:
        kind = "message"
    if kind is None and "__enc__" in item:
        # The Agents SDK's EncryptedSession stores `{"__enc__": 1, "v", "kid", "payload"}`
        # envelopes through the session it wraps: kept exactly, shown as an encrypted item.
        return [
            EventInput(
                external_id=event_id,
                source=S.SYSTEM,
                type=T.REFERENCE,
                content="(encrypted item)",
                payload=dict(item),
                payload_format=F.RESPONSES,
                metadata={"item_type": "encrypted"},
            )
        ]
    if not isinstance(kind, str) or not kind:
        raise InvalidInput(
            "A Responses item needs type (or role for a message).", field="item.type"
        )
    event = EventInput(
        external_id=event_id,
        source=S.SYSTEM,
        payload=dict(item),
        payload_format=F.RESPONSES,
        metadata={"item_type": kind},
    )
    call_id = _s(item.get("call_id"))
    if kind == "message":
        role = _s(item.get("role"))
        if role not in ("user", "assistant", "system", "developer"):
            raise InvalidInput(
                "A Responses message needs role user, assistant, system or developer.",
                field="item.role",
            )
        event.source, event.role = _ROLE_SOURCE[role], role
        event.content = _to_text(item.get("content"))
    elif kind == "function_call":
        event.source, event.type, event.role = S.LLM, T.TOOL_CALL, R.ASSISTANT
        event.name = _s(item.get("name"))
        event.tool_call_id = call_id
        event.content = _json_text(item.get("arguments", ""))
    elif kind == "function_call_output":
        event.source, event.type, event.role = S.TOOL, T.TOOL_RESULT, R.TOOL
        event.tool_call_id = event.parent_tool_call_id = call_id
        event.content = _to_text(item.get("output"))
    elif kind == "reasoning":
        event.source, event.role = S.LLM, R.ASSISTANT
        event.content = _to_text(item.get("summary")) or _to_text(item.get("content"))
    elif kind == "item_reference":
        event.type = T.REFERENCE
        event.content = _s(item.get("id"))
    elif kind.endswith("_call_output"):
        event.source, event.type, event.role = S.TOOL, T.TOOL_RESULT, R.TOOL
        event.tool_call_id = event.parent_tool_call_id = call_id
        event.content = _to_text(item.get("output"))
    elif kind.endswith("_call"):
        event.source, event.type, event.role = S.LLM, T.TOOL_CALL, R.ASSISTANT
        event.name = _s(item.get("name")) or kind
        event.tool_call_id = call_id or _s(item.get("id"))
        event.content = _json_text(item.get("arguments", item.get("action", item.get("input", ""))))
    else:
        event.content = _json_text(item)
    if item.get("status") == "incomplete" or kind == "error":
        event.is_error = kind == "error"
    return [event]


# --- Agent Framework ----------------------------------------------------------------------------


def _af_role(item: Mapping[str, Any]) -> str:
    role = item.get("role")
    if isinstance(role, Mapping):  # older releases serialise Role as {"value": "user"}
        role = role.get("value")
    role = _s(role)
    if role not in ("user", "assistant", "system", "tool"):
        raise InvalidInput(
            "An Agent Framework message needs role user, assistant, system or tool.",
            field="item.role",
        )
    return role


MAX_TOKENS = 2**31 - 1


def _token_count(details: Mapping[str, Any], key: str) -> int | None:
    value = details.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TOKENS:
        raise InvalidInput(
            f"{key} must be a whole number from 0 to {MAX_TOKENS}.", field=f"item.contents.{key}"
        )
    return value


def _af_usage(contents: Iterable[Any], model: str) -> UsageInput | None:
    for part in contents:
        if isinstance(part, Mapping) and part.get("type") == "usage":
            details = part.get("usage_details") or part.get("details") or {}
            if not isinstance(details, Mapping):
                raise InvalidInput("usage_details must be an object.", field="item.contents")
            return UsageInput(
                model=model,
                prompt_tokens=_token_count(details, "input_token_count"),
                completion_tokens=_token_count(details, "output_token_count"),
                total_tokens=_token_count(details, "total_token_count"),
            )
    return None


def from_agent_framework(
    item: Mapping[str, Any], *, event_id: str, model: str = ""
) -> list[EventInput]:
    """An Agent Framework `Message` dict (`Message.to_dict()`): text contents become the
    content; `function_call` contents become tool_call events and `function_result` contents
    tool_result events; `error` contents mark the event as an error."""
    role = _af_role(item)
    contents = item.get("contents")
    if not isinstance(contents, list):
        raise InvalidInput(
            "An Agent Framework message needs contents (a list).", field="item.contents"
        )
    texts, calls, results, errors = [], [], [], []
    for index, part in enumerate(contents):
        if not isinstance(part, Mapping):
            raise InvalidInput("Each content must be an object.", field=f"item.contents.{index}")
        kind = part.get("type")
        if kind in ("text", "text_reasoning") and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "function_call":
            calls.append(part)
        elif kind == "function_result":
            results.append(part)
        elif kind == "error":
            errors.append(str(part.get("message") or part.get("error_code") or "error"))
    author = item.get("author_name")
    main = EventInput(
        external_id=event_id,
        source=_ROLE_SOURCE[role],
        role=role,
        name=author if isinstance(author, str) else "",
        content="\n".join(texts + errors),
        is_error=bool(errors),
        payload=dict(item),
        payload_format=F.AGENT_FRAMEWORK,
        usage=_af_usage(contents, model),
    )
    events = [main]
    if role == "tool" and results:
        first, *rest = results
        main.type = T.TOOL_RESULT
        main.tool_call_id = main.parent_tool_call_id = _s(first.get("call_id"))
        main.content = main.content or _json_text(first.get("result", ""))
        main.is_error = main.is_error or bool(first.get("exception"))
        results = rest
    for part in calls:
        call_id = _s(part.get("call_id"))
        events.append(
            EventInput(
                external_id=derived_id(event_id, "tool_call", call_id or len(events)),
                source=S.LLM,
                type=T.TOOL_CALL,
                role=R.ASSISTANT,
                name=_s(part.get("name")),
                tool_call_id=call_id,
                content=_json_text(part.get("arguments", "")),
                payload_format=F.AGENT_FRAMEWORK,
                body_hash=body_hash(part),
                parent_external_id=event_id,
            )
        )
    for part in results:
        call_id = _s(part.get("call_id"))
        events.append(
            EventInput(
                external_id=derived_id(event_id, "tool_result", call_id or len(events)),
                source=S.TOOL,
                type=T.TOOL_RESULT,
                role=R.TOOL,
                tool_call_id=call_id,
                parent_tool_call_id=call_id,
                content=_json_text(part.get("result", "")),
                is_error=bool(part.get("exception")),
                payload_format=F.AGENT_FRAMEWORK,
                body_hash=body_hash(part),
            )
        )
    return events


def detect_format(item: Mapping[str, Any]) -> str:
    """The format of an item sent without `format`: Agent Framework messages have `contents`,
    Responses items have `type`; anything else is taken as an OpenAI chat message."""
    if "contents" in item:
        return F.AGENT_FRAMEWORK
    if "type" in item:
        return F.RESPONSES
    return F.OPENAI_CHAT


def _fit(events: list[EventInput]) -> list[EventInput]:
    """Clip names and call ids taken from foreign items to their columns (255 characters)."""
    for event in events:
        event.name = event.name[:MAX_ID]
        event.tool_call_id = event.tool_call_id[:MAX_ID]
        if event.parent_tool_call_id:
            event.parent_tool_call_id = event.parent_tool_call_id[:MAX_ID]
    return events


def normalize_item(
    item: Mapping[str, Any], *, fmt: str | None, event_id: str, model: str = ""
) -> list[EventInput]:
    """The events one foreign item stands for, the first carrying the item as its payload."""
    fmt = fmt or detect_format(item)
    if fmt == F.OPENAI_CHAT:
        return _fit(from_openai_chat(item, event_id=event_id))
    if fmt == F.RESPONSES:
        return _fit(from_responses(item, event_id=event_id))
    if fmt == F.AGENT_FRAMEWORK:
        return _fit(from_agent_framework(item, event_id=event_id, model=model))
    raise InvalidInput(f"Unknown item format {fmt!r}.", field="format")


# The Agents SDK gives every Chat Completions output item this id: a placeholder, not an
# identity, so it never serves as an idempotency key (replies 2 and 3 would be "duplicates").
PLACEHOLDER_IDS = frozenset({"__fake_id__"})


def item_id(item: Mapping[str, Any]) -> str | None:
    """The id an item carries itself (Responses items, Agent Framework `message_id`)."""
    for key in ("id", "message_id"):
        value = item.get(key)
        if isinstance(value, str) and 0 < len(value) <= MAX_ID and value not in PLACEHOLDER_IDS:
            return value
    return None
