"""Prompt strategies over a stored session (a2a-session-manager's selection, corrected).

Each strategy selects the same events as a2a-session-manager's `build_prompt_from_session`
(docs: shared/reference/a2a-semantics.md) but emits messages a current chat-completions API
accepts: an assistant turn keeps its text and carries `tool_calls` for exactly the tool messages
that follow it, and each tool message carries its `tool_call_id`. HIERARCHICAL walks every
ancestor's latest summary (oldest first). Truncation never returns a prompt over the limit,
counted with litellm for the chosen model, and reports what it dropped or clipped.

Modules: `base` (names, records, an event's text), `strategies` (a2a's selection), `truncation`
(fitting a token limit), `build` (counting, pricing, several strategies at once, segment
context). The reads, only the events a strategy needs, are `selectors.prompt_events`.
"""

from ..selectors.prompt_events import SessionLoader
from .base import (
    ALIASES,
    CONTEXT_PREFIX,
    CONVERSATION,
    DEFAULT_HISTORY,
    DEFAULT_MODEL,
    HIERARCHICAL,
    MAX_HISTORY,
    MINIMAL,
    NO_RESULT,
    STRATEGIES,
    STRATEGY_LABELS,
    TASK_FOCUSED,
    TOOL_FOCUSED,
    Built,
    Prompt,
    Source,
    function_name,
    resolve_strategy,
)
from .build import build_all, build_context, build_prompt
from .strategies import select
from .truncation import count, truncate

__all__ = [
    "ALIASES",
    "CONTEXT_PREFIX",
    "CONVERSATION",
    "DEFAULT_HISTORY",
    "DEFAULT_MODEL",
    "HIERARCHICAL",
    "MAX_HISTORY",
    "MINIMAL",
    "NO_RESULT",
    "STRATEGIES",
    "STRATEGY_LABELS",
    "TASK_FOCUSED",
    "TOOL_FOCUSED",
    "Built",
    "Prompt",
    "SessionLoader",
    "Source",
    "build_all",
    "build_context",
    "build_prompt",
    "count",
    "function_name",
    "resolve_strategy",
    "select",
    "truncate",
]
