"""Which messages each strategy builds from the loaded events (a2a's selection), as messages a
current chat API accepts: tool calls on the assistant turn, a tool message per call."""

from __future__ import annotations

import json
from typing import Any

from ..models import Event
from ..selectors.prompt_events import SessionLoader
from .base import (
    CONTEXT_PREFIX,
    CONVERSATION,
    DEFAULT_HISTORY,
    HIERARCHICAL,
    TASK_FOCUSED,
    TOOL_FOCUSED,
    Built,
    Source,
    Tool,
    resolve_strategy,
)


def _role_of(event: Event) -> str:
    if event.source == Event.Source.USER:
        return "user"
    if event.role in (Event.Role.SYSTEM, Event.Role.DEVELOPER) or (
        not event.role and event.source == Event.Source.SYSTEM
    ):
        return "system"
    return "assistant"


def _plain(event: Event) -> Built:
    return Built({"role": _role_of(event), "content": event.content}, [source_of(event)])


def source_of(event: Event) -> Source:
    return Source(event.session_id, event.seq)


def _assistant_with_tools(event: Event, tools: list[Tool], *, failed_detail: bool) -> list[Built]:
    """The assistant turn with `tool_calls` for exactly `tools`, then one tool message each."""
    if not tools:
        return [_plain(event)]
    message: dict[str, Any] = {
        "role": "assistant",
        "content": event.content or None,
        "tool_calls": [
            {
                "id": t.call_id,
                "type": "function",
                "function": {"name": t.name, "arguments": t.arguments},
            }
            for t in tools
        ],
    }
    built = [Built(message, [source_of(event)])]
    for t in tools:
        content = t.result
        if failed_detail and t.error:
            content = json.dumps({"error": t.error, "details": t.result}, ensure_ascii=False)
        built.append(
            Built({"role": "tool", "tool_call_id": t.call_id, "content": content}, t.sources)
        )
    return built


def _minimal(loader: SessionLoader) -> list[Built]:
    first_user = loader.first_user()
    assistant = loader.latest_assistant()
    if assistant is None:
        return [_plain(first_user)] if first_user else []
    built = [_plain(first_user)] if first_user else []
    tools = loader.tools(assistant)
    built += _assistant_with_tools(assistant, tools, failed_detail=False)
    if not tools:
        summaries = loader.summary_children(assistant)
        if summaries:
            latest = summaries[-1]
            built.append(Built({"role": "system", "content": latest.content}, [source_of(latest)]))
    return built


def _task_focused(loader: SessionLoader) -> list[Built]:
    first_user = loader.first_user()
    if first_user is None:
        return []
    built = [_plain(first_user)]
    latest_user = loader.latest_user()
    if latest_user is not None and latest_user.pk != first_user.pk:
        built.append(_plain(latest_user))
    assistant = loader.latest_assistant()
    if assistant is not None:
        ok = [t for t in loader.tools(assistant) if not t.error]
        built += _assistant_with_tools(assistant, ok, failed_detail=False)
    return built


def _tool_focused(loader: SessionLoader) -> list[Built]:
    latest_user = loader.latest_user()
    if latest_user is None:
        return []
    built = [_plain(latest_user)]
    assistant = loader.latest_assistant()
    if assistant is not None:
        built += _assistant_with_tools(assistant, loader.tools(assistant), failed_detail=True)
    return built


def conversation_messages(loader: SessionLoader, history: int) -> list[Built]:
    recent = loader.recent_messages(history)
    built: list[Built] = []
    for i, event in enumerate(recent):
        last = i == len(recent) - 1
        if last and event.source != Event.Source.USER:
            built += _assistant_with_tools(event, loader.tools(event), failed_detail=False)
        else:
            built.append(_plain(event))
    return built


def _hierarchical(loader: SessionLoader, include_parent_context: bool) -> list[Built]:
    built = _minimal(loader)
    if include_parent_context:
        summaries = [s for s in loader.ancestor_summaries() if s.content]
        if summaries:
            text = CONTEXT_PREFIX + "\n\n".join(s.content for s in summaries)
            context = Built({"role": "system", "content": text}, [source_of(s) for s in summaries])
            built.insert(0, context)
    return built


def select(
    loader: SessionLoader,
    strategy: str,
    *,
    history: int = DEFAULT_HISTORY,
    include_parent_context: bool = True,
) -> list[Built]:
    """The messages a strategy builds, untruncated, each with the events it came from."""
    if not loader.has_events():
        return []
    strategy = resolve_strategy(strategy)
    if strategy == TASK_FOCUSED:
        return _task_focused(loader)
    if strategy == TOOL_FOCUSED:
        return _tool_focused(loader)
    if strategy == CONVERSATION:
        return conversation_messages(loader, history)
    if strategy == HIERARCHICAL:
        return _hierarchical(loader, include_parent_context)
    return _minimal(loader)
