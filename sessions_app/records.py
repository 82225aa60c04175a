"""An event as one plain record, the single description every output of an event is built from.

The API's `EventOut` schema and the session exports both serialise `event_record()`; each output
only decides how a value is written (the API writes money as a decimal string, the exports as a
JSON number), so a field added here reaches every output and none can leave one out.
"""

from __future__ import annotations

from typing import Any

from .models import Event, TokenUsage


def usage_record(usage: TokenUsage) -> dict[str, Any]:
    """An event's token usage and cost, money as `Decimal`."""
    return {
        "model": usage.model,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "cached_tokens": usage.cached_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
        "cost_usd": usage.cost_usd,
        "cost_source": usage.cost_source,
        "tokens_estimated": usage.tokens_estimated,
        "input_cost_per_token": usage.input_cost_per_token,
        "output_cost_per_token": usage.output_cost_per_token,
    }


def event_record(event: Event) -> dict[str, Any]:
    """An event with its usage, in the API's `EventOut` fields; `usage` comes from
    select_related, `parent_external_id` and `run_external_id` from the reader's annotations
    (joined, so a page of events is one query)."""
    try:
        usage = event.usage
    except Event.usage.RelatedObjectDoesNotExist:
        usage = None
    return {
        "id": event.external_id,
        "seq": event.seq,
        "timestamp": event.timestamp,
        "received_at": event.received_at,
        "source": event.source,
        "type": event.type,
        "role": event.role,
        "name": event.name,
        "content": event.content,
        "tool_call_id": event.tool_call_id,
        "is_error": event.is_error,
        "parent_event_id": getattr(event, "parent_external_id", None),
        "run_id": getattr(event, "run_external_id", None),
        "metadata": event.metadata,
        "payload": event.payload,
        "payload_format": event.payload_format,
        "duration_ms": event.duration_ms,
        "span_id": event.span_id,
        "trace_id": event.trace_id,
        "token_usage": None if usage is None else usage_record(usage),
        "branch": event.branch,
        "removed_at": event.removed_at,
        "removed_by": event.removed_by,
    }
