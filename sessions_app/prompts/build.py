"""A strategy's prompt for one model, counted, priced and truncated; several at once for the
compare page; the context an agent gets for the next call in a segmented conversation."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from ..errors import InvalidInput
from ..models import AgentSession
from ..pricing import PriceBook, cost_of
from ..selectors.prompt_events import SessionLoader
from .base import (
    CONTEXT_PREFIX,
    DEFAULT_HISTORY,
    DEFAULT_MODEL,
    MAX_HISTORY,
    STRATEGIES,
    Built,
    Prompt,
    resolve_strategy,
)
from .strategies import conversation_messages, select, source_of
from .truncation import count, truncate


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
        items.append(Built({"role": "system", "content": text}, [source_of(s) for s in summaries]))
    if loader.has_events():
        items += conversation_messages(loader, recent)
    dropped: list[dict[str, Any]] = []
    if max_tokens is not None:
        items, dropped = truncate(items, model=model, max_tokens=max_tokens)
    return _priced(session, "context", model, items, dropped, max_tokens)
