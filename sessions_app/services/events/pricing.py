"""Pricing one event's usage: what its TokenUsage row stores, on either write path."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ... import llm
from ...inputs import EventInput, UsageInput
from ...models import Event, TokenUsage
from ...pricing import PriceBook, cost_of

TOOL_TYPES = frozenset({Event.Type.TOOL_CALL, Event.Type.TOOL_RESULT})


@dataclass(frozen=True)
class PricedUsage:
    """One event's usage with its cost: the values of `rows.USAGE_COLUMNS` it supplies."""

    timestamp: datetime
    model: str
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cached_tokens: int
    reasoning_tokens: int
    cost_usd: Decimal
    cost_source: str
    prices: llm.UnitPrices | None
    tokens_estimated: bool

    @property
    def input_cost_per_token(self) -> Decimal | None:
        """The input unit price used (None without a price)."""
        return self.prices.input if self.prices else None

    @property
    def output_cost_per_token(self) -> Decimal | None:
        """The output unit price used (None without a price)."""
        return self.prices.output if self.prices else None

    @property
    def cached_cost_per_token(self) -> Decimal | None:
        """The cached-input unit price used (None where there is none)."""
        return self.prices.cached if self.prices else None


def has_usage(data: EventInput) -> bool:
    """Whether the event may have usage to price (reported, or to be counted for its model)."""
    return data.usage is not None or bool(data.model)


def usage_priced(data: EventInput, at: datetime, book: PriceBook) -> PricedUsage | None:
    """Price one event's usage. Reported cost wins; tool executions cost nothing; an unknown
    model is marked unknown rather than given a guessed price."""
    usage = data.usage
    estimated = False
    if usage is None:
        if not (data.model and data.source == Event.Source.LLM and data.type == Event.Type.MESSAGE):
            return None
        usage = UsageInput(
            model=data.model,
            prompt_tokens=0,
            completion_tokens=llm.count_tokens(data.model, text=data.content),
        )
        estimated = True
    prompt = usage.prompt_tokens or 0
    completion = usage.completion_tokens
    if completion is None:
        completion = max((usage.total_tokens or 0) - prompt, 0)
    total = usage.total_tokens if usage.total_tokens is not None else prompt + completion
    price = book.price(usage.model, at)
    if usage.cost_usd is not None:
        cost, source = usage.cost_usd, TokenUsage.CostSource.REPORTED
    elif data.type in TOOL_TYPES or data.source == Event.Source.TOOL:
        cost, source = Decimal(0), TokenUsage.CostSource.COMPUTED
    elif price.prices is None:
        cost, source = Decimal(0), TokenUsage.CostSource.UNKNOWN
    else:
        cost = cost_of(
            price.prices,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cached_tokens=usage.cached_tokens,
        )
        source = TokenUsage.CostSource.COMPUTED
    return PricedUsage(
        timestamp=at,
        model=usage.model,
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=total,
        cached_tokens=usage.cached_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        cost_usd=cost,
        cost_source=source,
        prices=price.prices,
        tokens_estimated=estimated,
    )
