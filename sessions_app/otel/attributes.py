"""Reading a model call's usage and model from its span attributes (GenAI or OpenInference)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from ..money import MAX_COST, cost_rounded

# What the usage columns hold (the JSON API's own bounds): a value beyond is not reported.
MAX_COUNT = 2**31 - 1


def _int(value: Any) -> int | None:
    try:
        count = max(int(value), 0) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(inf)
        return None
    return count if count is None or count <= MAX_COUNT else None


def _cost(value: Any) -> Decimal | None:
    """A reported cost in USD, or None: not a number, NaN, infinite, negative or too large."""
    if value is None or isinstance(value, bool):
        return None
    try:
        cost = Decimal(str(value))
    except InvalidOperation:
        return None
    if not (cost.is_finite() and 0 <= cost < MAX_COST):
        return None
    cost = cost_rounded(cost)  # 9999999999.99999999999 rounds up to the bound
    return cost if cost < MAX_COST else None


def call_usage(a: dict[str, Any]) -> dict[str, Any] | None:
    """Token counts (and a reported cost) of a model call, in GenAI or OpenInference terms."""
    prompt = _int(a.get("gen_ai.usage.input_tokens", a.get("gen_ai.usage.prompt_tokens")))
    prompt = prompt if prompt is not None else _int(a.get("llm.token_count.prompt"))
    completion = _int(a.get("gen_ai.usage.output_tokens", a.get("gen_ai.usage.completion_tokens")))
    completion = completion if completion is not None else _int(a.get("llm.token_count.completion"))
    if prompt is None and completion is None:
        return None
    cost = _cost(a.get("gen_ai.usage.cost", a.get("llm.cost.total")))
    return {
        "prompt_tokens": prompt or 0,
        "completion_tokens": completion or 0,
        "total_tokens": _int(a.get("llm.token_count.total")),
        "cached_tokens": _int(
            a.get("gen_ai.usage.cache_read.input_tokens")
            or a.get("gen_ai.usage.cache_read_input_tokens")
            or a.get("llm.token_count.prompt_details.cache_read")
        )
        or 0,
        "reasoning_tokens": _int(
            a.get("gen_ai.usage.reasoning.output_tokens")
            or a.get("gen_ai.usage.reasoning_tokens")
            or a.get("llm.token_count.completion_details.reasoning")
        )
        or 0,
        "cost_usd": cost,
    }


def call_model(a: dict[str, Any]) -> str:
    """The model that answered (else the one asked for)."""
    return str(
        a.get("gen_ai.response.model") or a.get("gen_ai.request.model") or a.get("llm.model_name")
        or ""
    )[:255]  # fmt: skip
