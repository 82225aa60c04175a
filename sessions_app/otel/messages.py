"""A model call's messages, read from whichever convention its instrumentation used.

Three shapes are in use today, and every one becomes OpenAI chat messages (role, content,
tool_calls, tool_call_id), the format the JSON API already stores and shows:

- the current GenAI attributes: `gen_ai.system_instructions`, `gen_ai.input.messages`,
  `gen_ai.output.messages` (JSON with typed `parts`: text, tool_call, tool_call_response,
  reasoning);
- the earlier GenAI span events (`gen_ai.system.message`, `gen_ai.user.message`,
  `gen_ai.assistant.message`, `gen_ai.tool.message`, `gen_ai.choice`) and the flattened
  `gen_ai.prompt.N.*` / `gen_ai.completion.N.*` attributes;
- OpenInference: `llm.input_messages.N.message.*`, `llm.output_messages.N.message.*`, else
  `input.value` / `output.value`.

Unreadable parts are skipped, never fatal: `MessageError` is raised only when a span clearly
carries messages and none of them can be read (the receiver then counts it as rejected).
"""

from __future__ import annotations

import json
from typing import Any

from ..storable import SUSPECT_ESCAPE
from .decode import Span, value_problem

Message = dict[str, Any]

ROLES = {"system", "developer", "user", "assistant", "tool"}


class MessageError(Exception):
    """The span's message attributes are present but cannot be read."""


def _parsed(value: str) -> Any:
    """`value` parsed as JSON (ValueError if it is not JSON), refused (MessageError) when it
    nests too deeply to read or its escapes make text no column can store (NUL, a lone
    surrogate): the span's raw strings were checked, not what their escapes decode to."""
    try:
        data = json.loads(value)
    except RecursionError as exc:
        raise MessageError("message JSON nests too deeply") from exc
    if "\\u" in value and SUSPECT_ESCAPE.search(value):
        problem = value_problem(data)
        if problem:
            raise MessageError(f"message JSON {problem}")
    return data


def _loads(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return _parsed(value)
        except ValueError as exc:
            raise MessageError(f"message JSON does not parse: {exc}") from exc
    return value


def _function(call: dict) -> dict:
    """An OpenAI tool call's `function` object ({} when it is missing or not an object)."""
    function = call.get("function")
    return function if isinstance(function, dict) else {}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # content blocks: [{"type": "text", "text": ...}, ...]
        texts = [
            b.get("text") or b.get("content") or "" if isinstance(b, dict) else str(b)
            for b in value
        ]
        return "\n".join(t for t in texts if isinstance(t, str) and t)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _arguments(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _message(role: str, text: str = "", calls: list | None = None) -> Message:
    role = role if role in ROLES else ("assistant" if role in ("model", "ai") else "user")
    message: Message = {"role": role, "content": text}
    if calls and role == "assistant":
        message["tool_calls"] = calls
    return message


def _call(call_id: Any, name: Any, arguments: Any) -> dict[str, Any]:
    return {
        "id": str(call_id or ""),
        "type": "function",
        "function": {"name": str(name or ""), "arguments": _arguments(arguments or "")},
    }


# --- current GenAI attributes (typed parts) ----------------------------------------------------


def _from_parts(role: str, parts: list) -> list[Message]:
    """One chat message from typed parts; each tool_call_response part is its own tool message."""
    texts: list[str] = []
    calls: list[dict] = []
    results: list[Message] = []
    for part in parts:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind == "text":
            texts.append(_text(part.get("content")))
        elif kind == "tool_call":
            calls.append(_call(part.get("id"), part.get("name"), part.get("arguments")))
        elif kind == "tool_call_response":
            result = part.get("response", part.get("result"))
            results.append(
                {
                    "role": "tool",
                    "tool_call_id": str(part.get("id") or ""),
                    "content": _text(result),
                }
            )
    if results:
        return results
    if role == "tool":
        return [{"role": "tool", "tool_call_id": "", "content": "\n".join(texts)}]
    return [_message(role, "\n".join(t for t in texts if t), calls)]


def _genai_list(value: Any) -> list[Message]:
    items = _loads(value)
    if not isinstance(items, list):
        raise MessageError("gen_ai messages must be a JSON list")
    out: list[Message] = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("parts"), list):
            messages = _from_parts(str(item.get("role", "")), item["parts"])
            _openai_fields(item, messages)
            out.extend(messages)
    return out


def _openai_fields(item: dict, messages: list[Message]) -> None:
    """litellm writes OpenAI's `tool_calls` / `tool_call_id` beside the parts: keep them."""
    calls = item.get("tool_calls")
    if isinstance(calls, list) and messages[0]["role"] == "assistant":
        extra = [
            _call(c.get("id"), _function(c).get("name"), _function(c).get("arguments"))
            for c in calls
            if isinstance(c, dict)
        ]
        messages[0]["tool_calls"] = [*messages[0].get("tool_calls", []), *extra]
    if item.get("tool_call_id") and messages[0]["role"] == "tool":
        messages[0]["tool_call_id"] = str(item["tool_call_id"])


def _system_instructions(value: Any) -> list[Message]:
    parts = _loads(value)
    if isinstance(parts, str):
        return [_message("system", parts)]
    if not isinstance(parts, list):
        raise MessageError("gen_ai.system_instructions must be a JSON list of parts")
    text = "\n".join(_text(p.get("content")) for p in parts if isinstance(p, dict))
    return [_message("system", text)] if text else []


# --- flattened indexed attributes (gen_ai.prompt.N.*, llm.input_messages.N.message.*) ---------


def _index_and_rest(tail: str) -> tuple[int, str] | None:
    """(N, rest) of what follows a prefix and its dot in a `prefix.N.rest` key, else None.

    N is decimal digits (as `int` reads them) and rest any non-empty text without a newline:
    what the regex `prefix\\.(\\d+)\\.(.+)` used here before accepted. Plain string operations,
    because this runs for every message attribute of every span."""
    index, dot, rest = tail.partition(".")
    if dot and rest and index.isdecimal() and "\n" not in rest:
        return int(index), rest
    return None


def _indexed(attributes: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    """`prefix.N.rest` attributes grouped by N, in N order, as {rest: value}."""
    start = f"{prefix}."
    groups: dict[int, dict[str, Any]] = {}
    for key, value in attributes.items():
        if key.startswith(start) and (parsed := _index_and_rest(key[len(start) :])):
            groups.setdefault(parsed[0], {})[parsed[1]] = value
    return [groups[i] for i in sorted(groups)]


# The flattened message conventions. Each prefix is two dot-separated words, so `_flattened`
# finds a key's prefix by splitting the key.
_FLATTENED_PREFIXES = (
    "gen_ai.prompt",
    "gen_ai.completion",
    "llm.input_messages",
    "llm.output_messages",
)
_FLATTENED_STARTS = tuple(f"{prefix}." for prefix in _FLATTENED_PREFIXES)


def _flattened(attributes: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """`_indexed` for every flattened convention in one pass over a span's attributes:
    {prefix: its groups}.

    A prefix is in the answer when some key starts with `prefix.`, even if no such key is a
    valid `prefix.N.rest` (its list is then empty): that tells a span using a convention from
    one that does not."""
    found: dict[str, dict[int, dict[str, Any]]] = {}
    for key, value in attributes.items():
        if key.startswith(_FLATTENED_STARTS):
            first, second, tail = key.split(".", 2)
            groups = found.setdefault(f"{first}.{second}", {})
            if parsed := _index_and_rest(tail):
                groups.setdefault(parsed[0], {})[parsed[1]] = value
    return {prefix: [groups[i] for i in sorted(groups)] for prefix, groups in found.items()}


def _flat_message(fields: dict[str, Any], pre: str = "") -> Message:
    """One message from flattened fields (`role`, `content`, `tool_calls.M.*`, ...)."""
    role = str(fields.get(f"{pre}role", "") or "")
    content = fields.get(f"{pre}content")
    if content is None:  # OpenInference's multi-part contents
        parts = _indexed(fields, f"{pre}contents")
        content = "\n".join(str(p.get("message_content.text", "")) for p in parts)
    calls = [
        _call(
            c.get("tool_call.id", c.get("id")),
            c.get("tool_call.function.name", c.get("name", c.get("function.name"))),
            c.get("tool_call.function.arguments", c.get("arguments", c.get("function.arguments"))),
        )
        for c in _indexed(fields, f"{pre}tool_calls")
    ]
    call_id = fields.get(f"{pre}tool_call_id")
    if role == "tool" or call_id:
        return {"role": "tool", "tool_call_id": str(call_id or ""), "content": _text(content)}
    return _message(role, _text(content), calls)


# --- earlier GenAI span events ----------------------------------------------------------------

_EVENT_ROLES = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}


def _event_message(role: str, attributes: dict[str, Any]) -> Message:
    body = attributes.get("gen_ai.event.content") or attributes.get("message")
    if body is not None:
        body = _loads(body)
        if isinstance(body, dict):
            attributes = {**attributes, **body}
    calls = _loads(attributes.get("tool_calls"))
    chat_calls = [
        _call(c.get("id"), _function(c).get("name"), _function(c).get("arguments"))
        for c in (calls if isinstance(calls, list) else [])
        if isinstance(c, dict)
    ]
    role = str(attributes.get("role") or role)
    if role == "tool":
        return {
            "role": "tool",
            "tool_call_id": str(attributes.get("id") or attributes.get("tool_call_id") or ""),
            "content": _text(attributes.get("content")),
        }
    return _message(role, _text(attributes.get("content")), chat_calls)


# --- a span's input and output ----------------------------------------------------------------


def _value_messages(value: Any) -> list[Message]:
    """OpenInference `input.value`/`output.value`: plain text, or JSON holding messages."""
    if not isinstance(value, str) or not value:
        return []
    try:
        data = _parsed(value)
    except ValueError:
        return [_message("user", value)]
    if isinstance(data, dict):
        data = data.get("messages") or data.get("input") or data.get("output") or data
    if isinstance(data, list):
        return [_message(str(m.get("role", "")), _text(m.get("content"))) for m in data
                if isinstance(m, dict) and m.get("role")]  # fmt: skip
    return [_message("user", _text(data))]


def call_messages(span: Span) -> tuple[list[Message], list[Message]]:
    """The input and output messages of a model call span, as OpenAI chat messages."""
    a = span.attributes
    inputs: list[Message] = []
    outputs: list[Message] = []
    if "gen_ai.input.messages" in a or "gen_ai.output.messages" in a:
        if "gen_ai.system_instructions" in a:
            inputs.extend(_system_instructions(a["gen_ai.system_instructions"]))
        if "gen_ai.input.messages" in a:
            inputs.extend(_genai_list(a["gen_ai.input.messages"]))
        if "gen_ai.output.messages" in a:
            outputs.extend(_genai_list(a["gen_ai.output.messages"]))
        return inputs, outputs
    flat = _flattened(a)
    if "gen_ai.prompt" in flat or "gen_ai.completion" in flat:
        inputs = [_flat_message(m) for m in flat.get("gen_ai.prompt", [])]
        outputs = [_flat_message(m) for m in flat.get("gen_ai.completion", [])]
        return inputs, outputs
    if "llm.input_messages" in flat or "llm.output_messages" in flat:
        inputs = [_flat_message(m, "message.") for m in flat.get("llm.input_messages", [])]
        outputs = [_flat_message(m, "message.") for m in flat.get("llm.output_messages", [])]
        return inputs, outputs
    for event in span.events:
        if event.name in _EVENT_ROLES:
            inputs.append(_event_message(_EVENT_ROLES[event.name], event.attributes))
        elif event.name == "gen_ai.choice":
            outputs.append(_event_message("assistant", event.attributes))
    if inputs or outputs:
        return inputs, outputs
    return _value_messages(a.get("input.value")), [
        {**m, "role": "assistant"} for m in _value_messages(a.get("output.value"))
    ]
