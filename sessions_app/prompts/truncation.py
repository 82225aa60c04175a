"""Fitting a prompt into a token limit: a2a's cut first, then tool results, system context and
the oldest messages, and finally clipping; never a prompt over the limit."""

from __future__ import annotations

from typing import Any

from .. import llm
from .base import Built


def count(model: str, messages: list[dict[str, Any]]) -> int:
    """Prompt tokens of `messages` for `model` (an empty prompt is 0, not the reply priming)."""
    if not messages:
        return 0
    return llm.count_tokens(model, messages=messages)


def _drop_record(item: Built, reason: str, action: str = "dropped") -> dict[str, Any]:
    return {
        "action": action,
        "role": item.message["role"],
        "seqs": [s.seq for s in item.sources],
        "session_ids": sorted({s.session_id for s in item.sources}),
        "reason": reason,
    }


def _without_tool(items: list[Built], index: int) -> list[Built]:
    """Remove the tool message at `index` and its entry in the assistant's `tool_calls`."""
    call_id = items[index].message["tool_call_id"]
    out: list[Built] = []
    for i, item in enumerate(items):
        if i == index:
            continue
        calls = item.message.get("tool_calls")
        if calls and any(c["id"] == call_id for c in calls):
            message = dict(item.message)
            remaining = [c for c in calls if c["id"] != call_id]
            if remaining:
                message["tool_calls"] = remaining
            else:
                message.pop("tool_calls")
                message["content"] = message.get("content") or ""
            item = Built(message, item.sources)
        out.append(item)
    return out


def _clip(item: Built, model: str, others: list[Built], position: int, limit: int) -> Built | None:
    """The message with its content cut (binary search on characters) so the prompt fits, or
    None when even an empty content does not fit."""
    content = item.message.get("content") or ""

    def fits(n: int) -> bool:
        message = dict(item.message, content=content[:n] + ("…" if n < len(content) else ""))
        trial = [o.message for o in others[:position]] + [message]
        trial += [o.message for o in others[position:]]
        return count(model, trial) <= limit

    if not fits(0):
        return None
    lo, hi = 0, len(content)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    clipped = content[:lo] + ("…" if lo < len(content) else "")
    return Built(dict(item.message, content=clipped), item.sources)


def truncate(
    items: list[Built], *, model: str, max_tokens: int
) -> tuple[list[Built], list[dict[str, Any]]]:
    """Fit a prompt into `max_tokens` for `model`; never returns one over the limit.

    Order of cuts: a2a's (keep the first user message and everything from the last assistant
    message on), then tool results from the last, then system context, then other messages
    from the oldest; finally the longest remaining content is clipped. Returns the kept
    messages and a record of every message dropped or clipped.
    """
    dropped: list[dict[str, Any]] = []

    def over(current: list[Built]) -> bool:
        return count(model, [i.message for i in current]) > max_tokens

    if not over(items):
        return items, dropped
    # a2a's first cut.
    first_user = next((i for i, b in enumerate(items) if b.message["role"] == "user"), None)
    last_assistant = next(
        (i for i in range(len(items) - 1, -1, -1) if items[i].message["role"] == "assistant"), None
    )
    if last_assistant is not None:
        keep = set(range(last_assistant, len(items)))
        if first_user is not None:
            keep.add(first_user)
        for i, b in enumerate(items):
            if i not in keep:
                dropped.append(_drop_record(b, "over_token_limit"))
        items = [b for i, b in enumerate(items) if i in keep]
    # Tool results, newest first (their tool_calls entries go with them).
    while over(items):
        tool_index = next(
            (i for i in range(len(items) - 1, -1, -1) if items[i].message["role"] == "tool"), None
        )
        if tool_index is None:
            break
        dropped.append(_drop_record(items[tool_index], "over_token_limit"))
        items = _without_tool(items, tool_index)
    # System context, then the oldest messages, always keeping the last one for clipping.
    for role in ("system", None):
        while over(items) and len(items) > 1:
            index = next(
                (i for i, b in enumerate(items[:-1]) if role is None or b.message["role"] == role),
                None,
            )
            if index is None:
                break
            dropped.append(_drop_record(items[index], "over_token_limit"))
            items = items[:index] + items[index + 1 :]
    if over(items):
        # One message left: clip its text, or drop it when even its envelope does not fit.
        item = items[0]
        clipped = _clip(item, model, [], 0, max_tokens)
        if clipped is None:
            dropped.append(_drop_record(item, "over_token_limit"))
            items = []
        else:
            dropped.append(_drop_record(item, "over_token_limit", action="clipped"))
            items = [clipped]
    return items, dropped
