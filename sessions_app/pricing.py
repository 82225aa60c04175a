"""Unit prices for a model: the project's ModelPrice overrides first, then litellm's table."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from . import llm
from .models import ModelPrice, Project
from .money import cost_rounded
from .selectors.prices import price_overrides


@dataclass(frozen=True)
class Price:
    """The prices applied to one usage row and where they came from."""

    prices: llm.UnitPrices | None
    origin: str  # "override", "litellm" or "unknown"


class PriceBook:
    """Prices in force for one project, loaded once per batch (overrides are a small table)."""

    def __init__(self, project: Project, overrides: list[ModelPrice] | None = None):
        self.project = project
        if overrides is None:
            overrides = price_overrides(project)
        self.overrides = overrides
        # litellm's price of each model met in the batch, looked up once (not per event: the
        # lookup and its Decimal conversions cost more than pricing the event).
        self._table: dict[str, llm.UnitPrices | None] = {}

    def price(self, model: str, at: datetime) -> Price:
        """The price for `model` at time `at`: newest effective exact override, then glob, then
        litellm's table."""
        in_force = [o for o in self.overrides if o.effective_from <= at]
        for candidates in (
            [o for o in in_force if o.pattern == model],
            [o for o in in_force if o.pattern != model and fnmatch.fnmatchcase(model, o.pattern)],
        ):
            if candidates:
                o = candidates[0]
                return Price(
                    llm.UnitPrices(
                        o.input_cost_per_token, o.output_cost_per_token, o.cached_cost_per_token
                    ),
                    "override",
                )
        if model not in self._table:
            self._table[model] = llm.table_prices(model)
        table = self._table[model]
        return Price(table, "litellm" if table else "unknown")


def cost_of(
    prices: llm.UnitPrices, *, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0
) -> Decimal:
    """Cost in USD. Cached prompt tokens are billed at the cached rate where the model has one."""
    cached = min(cached_tokens, prompt_tokens) if prices.cached is not None else 0
    cost = (
        Decimal(prompt_tokens - cached) * prices.input
        + Decimal(cached) * (prices.cached or Decimal(0))
        + Decimal(completion_tokens) * prices.output
    )
    return cost_rounded(cost)
