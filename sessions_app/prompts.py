"""Prompt strategies over a stored session (a2a-session-manager's selection, corrected).

Each strategy selects the same events as a2a-session-manager's `build_prompt_from_session`
(docs: shared/reference/a2a-semantics.md) but emits messages a current chat-completions API
accepts: an assistant turn keeps its text and carries `tool_calls` for exactly the tool messages
that follow it, and each tool message carries its `tool_call_id`. HIERARCHICAL walks every
ancestor's latest summary (oldest first). Truncation never returns a prompt over the limit,
counted with litellm for the chosen model, and reports what it dropped or clipped.

Only the events a strategy needs are loaded (first and latest user message, latest assistant
message and its tool children, the last N messages), each an indexed probe on (session, seq),
so a session of 20,000 events costs about what one of 20 does.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Max
from django.utils import timezone

from . import llm
from .errors import InvalidInput
from .models import AgentSession, Event
from .pricing import PriceBook, cost_of

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

CHILD_TYPES = (Event.Type.TOOL_CALL, Event.Type.SUMMARY)
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
class _Tool:
    """A tool the assistant asked for, with its outcome."""

    call: Event
    call_id: str
    name: str
    arguments: str
    result: str
    error: str
    sources: list[Source]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, ensure_ascii=False)


def _payload_message(event: Event) -> dict[str, Any]:
    """An a2a-native tool event's `message` dict ({tool, arguments, result, error}), if any."""
    payload = event.payload if isinstance(event.payload, dict) else {}
    inner = payload.get("message")
    if isinstance(inner, dict):
        return inner
    return payload


def _function_name(raw: str) -> str:
    return _NOT_NAME.sub("_", raw)[:64] or "tool"


def _arguments(event: Event) -> str:
    """The call's arguments as a JSON object string, as `function.arguments` must be."""
    raw = _payload_message(event).get("arguments")
    if isinstance(raw, dict):
        return json.dumps(raw, default=str, ensure_ascii=False)
    candidate = raw if isinstance(raw, str) else event.content
    try:
        parsed = json.loads(candidate) if candidate else {}
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        return json.dumps(parsed, ensure_ascii=False)
    # Not JSON (e.g. a Python repr): keep the text so nothing is lost, still valid JSON.
    return json.dumps({"input": candidate}, ensure_ascii=False)


class SessionLoader:
    """Loads, once each, the few events the strategies need from one session."""

    def __init__(self, session: AgentSession):
        self.session = session
        self._cache: dict[Any, Any] = {}

    def _events(self):
        return Event.objects.filter(session_id=self.session.pk).only(*COLUMNS)

    def _memo(self, key: Any, compute: Any) -> Any:
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def has_events(self) -> bool:
        """Whether the session has any event (an empty session gives an empty prompt)."""
        return self._memo("any", lambda: self.session.last_seq > 0 or self._events().exists())

    def first_user(self) -> Event | None:
        """The first user message."""
        return self._memo(
            "first_user",
            lambda: (
                self._events()
                .filter(type=Event.Type.MESSAGE, source=Event.Source.USER)
                .order_by("seq")
                .first()
            ),
        )

    def latest_user(self) -> Event | None:
        """The latest user message."""
        return self._memo(
            "latest_user",
            lambda: (
                self._events()
                .filter(type=Event.Type.MESSAGE, source=Event.Source.USER)
                .order_by("-seq")
                .first()
            ),
        )

    def latest_assistant(self) -> Event | None:
        """The latest message from any source but the user (a2a counts system as assistant)."""
        return self._memo(
            "latest_assistant",
            lambda: (
                self._events()
                .filter(type=Event.Type.MESSAGE)
                .exclude(source=Event.Source.USER)
                .order_by("-seq")
                .first()
            ),
        )

    def recent_messages(self, n: int) -> list[Event]:
        """The last `n` message events, in seq order."""
        return self._memo(
            ("recent", n),
            lambda: list(self._events().filter(type=Event.Type.MESSAGE).order_by("-seq")[:n])[::-1],
        )

    def _children(self, event: Event) -> list[Event]:
        return self._memo(
            ("children", event.pk),
            lambda: list(
                self._events()
                .filter(parent_event_id=event.pk, type__in=CHILD_TYPES)
                .order_by("seq")
            ),
        )

    def summary_children(self, event: Event) -> list[Event]:
        """Summary events whose parent is `event`, in seq order."""
        return [e for e in self._children(event) if e.type == Event.Type.SUMMARY]

    def tools(self, event: Event) -> list[_Tool]:
        """The tool calls `event` asked for, each with its result and error, in seq order."""
        return self._memo(("tools", event.pk), lambda: self._load_tools(event))

    def _load_tools(self, event: Event) -> list[_Tool]:
        calls = [e for e in self._children(event) if e.type == Event.Type.TOOL_CALL]
        if not calls:
            return []
        call_ids = [c.tool_call_id for c in calls if c.tool_call_id]
        results: dict[int, Event] = {}
        by_call_id: dict[str, Event] = {}
        for r in (
            self._events()
            .filter(type=Event.Type.TOOL_RESULT, parent_event_id__in=[c.pk for c in calls])
            .order_by("seq")
        ):
            results.setdefault(r.parent_event_id, r)
        missing = [cid for c in calls if c.pk not in results and (cid := c.tool_call_id)]
        if missing and call_ids:
            for r in (
                self._events()
                .filter(type=Event.Type.TOOL_RESULT, tool_call_id__in=missing)
                .order_by("seq")
            ):
                by_call_id.setdefault(r.tool_call_id, r)
        tools = []
        for call in calls:
            inner = _payload_message(call)
            result_event = results.get(call.pk) or by_call_id.get(call.tool_call_id)
            sources = [Source(call.session_id, call.seq)]
            if result_event is not None:
                result = result_event.content
                is_error = result_event.is_error or call.is_error
                error = _text(inner.get("error")) or (result if is_error else "")
                sources.append(Source(result_event.session_id, result_event.seq))
            else:
                result = _text(inner.get("result")) if "result" in inner else ""
                error = _text(inner.get("error")) or ("tool call failed" if call.is_error else "")
            tools.append(
                _Tool(
                    call=call,
                    call_id=call.tool_call_id or f"call_{call.session_id}_{call.seq}",
                    name=_function_name(
                        call.name or _text(inner.get("tool") or inner.get("tool_name"))
                    ),
                    arguments=_arguments(call),
                    result=result or NO_RESULT,
                    error=error,
                    sources=sources,
                )
            )
        return tools

    def ancestor_summaries(self) -> list[Event]:
        """The latest summary event of every ancestor, root first (two queries)."""

        def load() -> list[Event]:
            ids = [int(p) for p in self.session.path.strip("/").split("/")[:-1] if p]
            if not ids:
                return []
            latest = dict(
                Event.objects.filter(session_id__in=ids, type=Event.Type.SUMMARY)
                .values("session_id")
                .annotate(seq=Max("seq"))
                .values_list("session_id", "seq")
            )
            if not latest:
                return []
            rows = Event.objects.filter(session_id__in=list(latest), type=Event.Type.SUMMARY).only(
                *COLUMNS
            )
            by_session = {e.session_id: e for e in rows if latest.get(e.session_id) == e.seq}
            return [by_session[i] for i in ids if i in by_session]

        return self._memo("ancestor_summaries", load)


def _role_of(event: Event) -> str:
    if event.source == Event.Source.USER:
        return "user"
    if event.role in (Event.Role.SYSTEM, Event.Role.DEVELOPER) or (
        not event.role and event.source == Event.Source.SYSTEM
    ):
        return "system"
    return "assistant"


def _plain(event: Event) -> Built:
    return Built({"role": _role_of(event), "content": event.content}, [_src(event)])


def _src(event: Event) -> Source:
    return Source(event.session_id, event.seq)


def _assistant_with_tools(event: Event, tools: list[_Tool], *, failed_detail: bool) -> list[Built]:
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
    built = [Built(message, [_src(event)])]
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
            built.append(Built({"role": "system", "content": latest.content}, [_src(latest)]))
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


def _conversation(loader: SessionLoader, history: int) -> list[Built]:
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
            context = Built({"role": "system", "content": text}, [_src(s) for s in summaries])
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
        return _conversation(loader, history)
    if strategy == HIERARCHICAL:
        return _hierarchical(loader, include_parent_context)
    return _minimal(loader)


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


def build_prompt(
    session: AgentSession,
    strategy: str,
    *,
    model: str = DEFAULT_MODEL,
    max_tokens: int | None = None,
    include_parent_context: bool = True,
    history: int = DEFAULT_HISTORY,
    loader: SessionLoader | None = None,
    price_book: PriceBook | None = None,
) -> Prompt:
    """Build one strategy's prompt for `model`, truncated to `max_tokens` when given, with its
    token count and the estimated input cost (None for a model without a known price)."""
    if max_tokens is not None and max_tokens < 1:
        raise InvalidInput("max_tokens must be a positive integer.", field="max_tokens")
    if not 1 <= history <= MAX_HISTORY:
        raise InvalidInput(f"history must be between 1 and {MAX_HISTORY}.", field="history")
    strategy = resolve_strategy(strategy)
    model = model or DEFAULT_MODEL
    loader = loader or SessionLoader(session)
    items = select(loader, strategy, history=history, include_parent_context=include_parent_context)
    dropped: list[dict[str, Any]] = []
    if max_tokens is not None:
        items, dropped = truncate(items, model=model, max_tokens=max_tokens)
    return _priced(session, strategy, model, items, dropped, max_tokens, price_book)


def _priced(
    session: AgentSession,
    strategy: str,
    model: str,
    items: list[Built],
    dropped: list[dict[str, Any]],
    max_tokens: int | None,
    price_book: PriceBook | None = None,
) -> Prompt:
    """Count the final prompt's tokens and estimate its input cost (None: unknown price)."""
    messages = [i.message for i in items]
    tokens = count(model, messages)
    book = price_book or PriceBook(session.project)
    price = book.price(model, timezone.now())
    cost = (
        cost_of(price.prices, prompt_tokens=tokens, completion_tokens=0)
        if price.prices is not None
        else None
    )
    return Prompt(
        strategy=strategy,
        model=model,
        messages=messages,
        sources=[i.sources for i in items],
        token_count=tokens,
        cost_usd=cost,
        dropped=dropped,
        max_tokens=max_tokens,
    )


def build_all(
    session: AgentSession,
    strategies: tuple[str, ...] | list[str] = STRATEGIES,
    **kwargs: Any,
) -> list[Prompt]:
    """Several strategies over one session, sharing the loaded events and the price book."""
    loader = SessionLoader(session)
    book = PriceBook(session.project)
    return [build_prompt(session, s, loader=loader, price_book=book, **kwargs) for s in strategies]


def build_context(
    session: AgentSession,
    *,
    model: str = DEFAULT_MODEL,
    recent: int = 10,
    max_tokens: int | None = None,
) -> Prompt:
    """Context for an agent's next call in a segmented conversation: one system message
    joining the latest summary of every earlier segment and ancestor (oldest first), then the
    last `recent` messages of this session."""
    if not 1 <= recent <= MAX_HISTORY:
        raise InvalidInput(f"recent must be between 1 and {MAX_HISTORY}.", field="recent")
    loader = SessionLoader(session)
    items: list[Built] = []
    summaries = [s for s in loader.ancestor_summaries() if s.content]
    if summaries:
        text = CONTEXT_PREFIX + "\n\n".join(s.content for s in summaries)
        items.append(Built({"role": "system", "content": text}, [_src(s) for s in summaries]))
    if loader.has_events():
        items += _conversation(loader, recent)
    dropped: list[dict[str, Any]] = []
    if max_tokens is not None:
        items, dropped = truncate(items, model=model, max_tokens=max_tokens)
    return _priced(session, "context", model, items, dropped, max_tokens)
