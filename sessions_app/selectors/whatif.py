"""What-if re-pricing: what stored usage would cost at today's prices or on another model.
Nothing is written.

What-if figures group the usage by model first (one query), so a tree or a month of usage is
priced in a handful of lines. On another model whose tokenizer differs, token counts are
scaled by how that model's tokenizer counts the same stored text as the original's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Min, Q, QuerySet

from .. import llm
from ..errors import InvalidInput
from ..models import AgentSession, Event, Project, TokenUsage
from ..pricing import PriceBook, cost_of
from ..usage_fields import usage_sums
from .costs import UsageFilter, usage_rollup

# Text sampled per model to compare tokenizers: enough to be stable, cheap to count.
SAMPLE_EVENTS = 40
SAMPLE_CHARS = 2000


@dataclass
class RepriceLine:
    """One source model's usage, priced as stored and as it would be."""

    model: str
    target_model: str
    events: int
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    stored_cost_usd: Decimal
    token_ratio: Decimal = Decimal(1)
    unpriced_events: int = 0  # stored without a known price (their stored cost is 0)
    target_prompt_tokens: int = 0
    target_completion_tokens: int = 0
    cost_usd: Decimal | None = None  # None: the target model has no known price

    @property
    def delta_usd(self) -> Decimal | None:
        return None if self.cost_usd is None else self.cost_usd - self.stored_cost_usd


@dataclass
class RepriceResult:
    """A what-if over a set of usage rows: per model lines and totals."""

    target_model: str
    at: datetime
    lines: list[RepriceLine] = field(default_factory=list)

    @property
    def stored_cost_usd(self) -> Decimal:
        return sum((line.stored_cost_usd for line in self.lines), Decimal(0))

    @property
    def cost_usd(self) -> Decimal:
        """The what-if total over the lines with a known price."""
        return sum((line.cost_usd or Decimal(0) for line in self.lines), Decimal(0))

    @property
    def stored_unpriced_events(self) -> int:
        return sum(line.unpriced_events for line in self.lines)

    @property
    def unpriced(self) -> list[str]:
        return [line.target_model for line in self.lines if line.cost_usd is None]


def _sample_text(usage: QuerySet[TokenUsage], model: str) -> str:
    # The latest usage rows of the model, by the (project, model, timestamp) index.
    event_ids = list(
        usage.filter(model=model)
        .order_by("-timestamp")
        .values_list("event_id", flat=True)[:SAMPLE_EVENTS]
    )
    contents = (
        Event.objects.filter(pk__in=event_ids).exclude(content="").values_list("content", flat=True)
    )
    return "\n".join(c[:SAMPLE_CHARS] for c in contents)


def token_ratio(source_model: str, target_model: str, text: str) -> Decimal:
    """How many tokens `target_model`'s tokenizer counts for each of `source_model`'s on the
    same text (1 when the models are the same or there is no text)."""
    if source_model == target_model or not text:
        return Decimal(1)
    source = llm.count_tokens(source_model, text=text)
    if not source:
        return Decimal(1)
    return (Decimal(llm.count_tokens(target_model, text=text)) / Decimal(source)).quantize(
        Decimal("1e-4")
    )


def _what_if(
    *,
    project: Project,
    groups: list[dict[str, Any]],
    sample: Any,
    target_model: str,
    at: datetime | None,
) -> RepriceResult:
    """Price per-model sums (model, events, prompt_tokens, completion_tokens, cached_tokens,
    cost_usd) on `target_model` (or their own model) at `at`; `sample(model)` gives stored
    text of that model's events for comparing tokenizers."""
    at = at or datetime.now(UTC)
    target_model = (target_model or "").strip()
    if len(target_model) > 255:
        raise InvalidInput("model is at most 255 characters.", field="model")
    book = PriceBook(project)
    result = RepriceResult(target_model=target_model, at=at)
    for g in groups:
        target = target_model or g["model"]
        ratio = (
            token_ratio(g["model"], target, sample(g["model"]))
            if target != g["model"]
            else Decimal(1)
        )
        line = RepriceLine(
            model=g["model"],
            target_model=target,
            events=g["events"] or 0,
            prompt_tokens=g["prompt_tokens"] or 0,
            completion_tokens=g["completion_tokens"] or 0,
            cached_tokens=g["cached_tokens"] or 0,
            stored_cost_usd=Decimal(g["cost_usd"] or 0),
            token_ratio=ratio,
            unpriced_events=g.get("unpriced_events") or 0,
        )
        line.target_prompt_tokens = int((line.prompt_tokens * ratio).to_integral_value())
        line.target_completion_tokens = int((line.completion_tokens * ratio).to_integral_value())
        price = book.price(target, at)
        if price.prices is not None:
            line.cost_usd = cost_of(
                price.prices,
                prompt_tokens=line.target_prompt_tokens,
                completion_tokens=line.target_completion_tokens,
                # Cached tokens only carry over where the tokenizer is the same.
                cached_tokens=line.cached_tokens if ratio == 1 else 0,
            )
        result.lines.append(line)
    return result


def usage_reprice_what_if(
    *,
    project: Project,
    usage: QuerySet[TokenUsage],
    target_model: str = "",
    at: datetime | None = None,
) -> RepriceResult:
    """What `usage` (a session's, a tree's) would cost at the prices in force at `at` (default
    now), on its own models or all on `target_model`; stored history is not touched."""
    groups = list(
        usage.values("model")
        .annotate(
            **usage_sums(of_rows=True),
            unpriced_events=Count("id", filter=Q(cost_source=TokenUsage.CostSource.UNKNOWN)),
        )
        .order_by("-cost_usd", "model")
    )
    return _what_if(
        project=project,
        groups=groups,
        sample=lambda model: _sample_text(usage, model),
        target_model=target_model,
        at=at,
    )


def usage_reprice_what_if_filtered(
    f: UsageFilter, *, target_model: str = "", at: datetime | None = None
) -> RepriceResult:
    """The same what-if for a filtered set (range, model, agent, user), from the daily
    aggregate's per-model sums, so it is as fast as the costs page."""
    usage = TokenUsage.objects.filter(
        project=f.project, timestamp__gte=f.start_at, timestamp__lt=f.end_before
    )
    groups = usage_rollup(f, group_by=("model",))
    unpriced = {
        r["model"]: r["events"]
        for r in usage_rollup(f, group_by=("model", "source"))
        if r["source"] == TokenUsage.CostSource.UNKNOWN
    }
    for g in groups:
        g["unpriced_events"] = unpriced.get(g["model"], 0)
    return _what_if(
        project=f.project,
        groups=groups,
        sample=lambda model: _sample_text(usage, model),
        target_model=target_model,
        at=at,
    )


def session_usage(session: AgentSession, *, tree: bool = False) -> QuerySet[TokenUsage]:
    """The usage rows of a session, or of its whole tree (root and descendants)."""
    if tree:
        return TokenUsage.objects.filter(
            project_id=session.project_id, session__root_id=session.root_id
        )
    return TokenUsage.objects.filter(session=session)


def repriceable_usage(project: Project, since: datetime | None, model: str) -> QuerySet[TokenUsage]:
    """The usage rows a re-price rewrites (optionally from `since`, of one `model`)."""
    # Reported costs are what the provider billed: they stay. Tool executions cost nothing.
    qs = (
        TokenUsage.objects.filter(
            project=project,
            cost_source__in=[TokenUsage.CostSource.COMPUTED, TokenUsage.CostSource.UNKNOWN],
        )
        .exclude(event__type__in=(Event.Type.TOOL_CALL, Event.Type.TOOL_RESULT))
        .exclude(event__source=Event.Source.TOOL)
    )
    if since is not None:
        qs = qs.filter(timestamp__gte=since)
    if model:
        qs = qs.filter(model=model)
    return qs


def usage_reprice_scope(
    *, project: Project, since: datetime | None = None, model: str = ""
) -> dict[str, Any]:
    """What a re-price of stored usage would cover: its rows, how many have no price now, and
    when the first of those was used (the date an override must start from to price them)."""
    unknown = Q(cost_source=TokenUsage.CostSource.UNKNOWN)
    return repriceable_usage(project, since, model).aggregate(
        rows=Count("id"),
        unpriced=Count("id", filter=unknown),
        unpriced_since=Min("timestamp", filter=unknown),
    )
