"""Re-pricing: what stored usage would cost at today's prices or on another model (no writes),
and rewriting stored costs after a price override when an editor asks (a task).

What-if figures group the usage by model first (one query), so a tree or a month of usage is
priced in a handful of lines. On another model whose tokenizer differs, token counts are
scaled by how that model's tokenizer counts the same stored text as the original's.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, F, Min, Q, QuerySet, Sum

from .. import analytics, llm
from ..errors import InvalidInput
from ..models import AgentSession, Event, ModelPrice, Project, TokenUsage
from ..pricing import PriceBook, cost_of
from .events import TOOL_TYPES
from .sessions import usage_totals_by_day_key
from .usage import daily_usage_apply

# Text sampled per model to compare tokenizers: enough to be stable, cheap to count.
SAMPLE_EVENTS = 40
SAMPLE_CHARS = 2000
REPRICE_CHUNK = 2000


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
            events=Count("id"),
            prompt_tokens=Sum("prompt_tokens"),
            completion_tokens=Sum("completion_tokens"),
            cached_tokens=Sum("cached_tokens"),
            cost_usd=Sum("cost_usd"),
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
    f: analytics.UsageFilter, *, target_model: str = "", at: datetime | None = None
) -> RepriceResult:
    """The same what-if for a filtered set (range, model, agent, user), from the daily
    aggregate's per-model sums, so it is as fast as the costs page."""
    usage = TokenUsage.objects.filter(
        project=f.project, timestamp__gte=f.start_at, timestamp__lt=f.end_before
    )
    groups = analytics.usage_rollup(f, group_by=("model",))
    unpriced = {
        r["model"]: r["events"]
        for r in analytics.usage_rollup(f, group_by=("model", "source"))
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


def _repriceable(project: Project, since: datetime | None, model: str) -> QuerySet[TokenUsage]:
    # Reported costs are what the provider billed: they stay. Tool executions cost nothing.
    qs = (
        TokenUsage.objects.filter(
            project=project,
            cost_source__in=[TokenUsage.CostSource.COMPUTED, TokenUsage.CostSource.UNKNOWN],
        )
        .exclude(event__type__in=TOOL_TYPES)
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
    found = _repriceable(project, since, model).aggregate(
        rows=Count("id"),
        unpriced=Count("id", filter=unknown),
        unpriced_since=Min("timestamp", filter=unknown),
    )
    return found


def _reprice_chunk(project: Project, book: PriceBook, ids: list[int]) -> tuple[int, Decimal]:
    rows = list(TokenUsage.objects.filter(pk__in=ids).select_for_update())
    changed: list[TokenUsage] = []
    session_delta: dict[int, Decimal] = defaultdict(Decimal)
    for u in rows:
        price = book.price(u.model, u.timestamp)
        if price.prices is None:
            cost, source = Decimal(0), TokenUsage.CostSource.UNKNOWN
            unit: tuple[Any, Any, Any] = (None, None, None)
        else:
            cost = cost_of(
                price.prices,
                prompt_tokens=u.prompt_tokens,
                completion_tokens=u.completion_tokens,
                cached_tokens=u.cached_tokens,
            )
            source = TokenUsage.CostSource.COMPUTED
            unit = (price.prices.input, price.prices.output, price.prices.cached)
        if cost == u.cost_usd and source == u.cost_source:
            continue
        session_delta[u.session_id] += cost - u.cost_usd
        u.cost_usd, u.cost_source = cost, source
        u.input_cost_per_token, u.output_cost_per_token, u.cached_cost_per_token = unit
        changed.append(u)
    if not changed:
        return 0, Decimal(0)
    changed_ids = [u.pk for u in changed]
    daily_usage_apply(
        project_id=project.pk,
        rows=usage_totals_by_day_key(TokenUsage.objects.filter(pk__in=changed_ids)),
        sign=-1,
    )
    TokenUsage.objects.bulk_update(
        changed,
        [
            "cost_usd",
            "cost_source",
            "input_cost_per_token",
            "output_cost_per_token",
            "cached_cost_per_token",
        ],
    )
    daily_usage_apply(
        project_id=project.pk,
        rows=usage_totals_by_day_key(TokenUsage.objects.filter(pk__in=changed_ids)),
    )
    # Sessions locked in id order, like ingest locks one session, so the two never deadlock.
    for session_id in sorted(session_delta):
        AgentSession.objects.filter(pk=session_id).update(
            cost_usd=F("cost_usd") + session_delta[session_id]
        )
    return len(changed), sum(session_delta.values(), Decimal(0))


def usage_reprice(
    *, project: Project, since: datetime | None = None, model: str = ""
) -> dict[str, Any]:
    """Rewrite the computed costs of stored usage with the prices now on record (overrides by
    their effective dates, then litellm's table), keeping sessions' cost rollups and the daily
    aggregate equal to the rows. Reported costs are kept. Idempotent: a re-run changes nothing.
    """
    book = PriceBook(project)
    rows = changed = 0
    delta, last_id = Decimal(0), 0
    while True:
        # Keyset chunks, one transaction each: a huge re-price never holds locks for long, and
        # every committed chunk leaves rows, rollups and the aggregate consistent.
        ids = list(
            _repriceable(project, since, model)
            .filter(pk__gt=last_id)
            .order_by("pk")
            .values_list("pk", flat=True)[:REPRICE_CHUNK]
        )
        if not ids:
            break
        with transaction.atomic():
            n, d = _reprice_chunk(project, book, ids)
        rows, changed, delta, last_id = rows + len(ids), changed + n, delta + d, ids[-1]
    return {"rows": rows, "changed": changed, "delta_usd": delta}


def model_price_create(
    *,
    project: Project,
    pattern: str,
    input_cost_per_token: Decimal,
    output_cost_per_token: Decimal,
    cached_cost_per_token: Decimal | None = None,
    effective_from: datetime | None = None,
    note: str = "",
    created_by: Any = None,
) -> ModelPrice:
    """Add a price override for a model name or glob, in force from `effective_from` on.

    Stored usage keeps its prices until an editor re-prices it (usage_reprice_task).
    """
    pattern = (pattern or "").strip()
    if not pattern or len(pattern) > 255:
        raise InvalidInput("pattern must be 1 to 255 characters.", field="pattern")
    for name, value in (
        ("input_cost_per_token", input_cost_per_token),
        ("output_cost_per_token", output_cost_per_token),
        ("cached_cost_per_token", cached_cost_per_token),
    ):
        if value is not None and (not value.is_finite() or value < 0 or value >= 1000):
            raise InvalidInput(f"{name} must be a price between 0 and 1000 USD.", field=name)
    return ModelPrice.objects.create(
        project=project,
        pattern=pattern,
        input_cost_per_token=input_cost_per_token.quantize(Decimal("1e-14")),
        output_cost_per_token=output_cost_per_token.quantize(Decimal("1e-14")),
        cached_cost_per_token=(
            cached_cost_per_token.quantize(Decimal("1e-14"))
            if cached_cost_per_token is not None
            else None
        ),
        effective_from=effective_from or datetime.now(UTC),
        note=(note or "")[:500],
        created_by=created_by,
    )


def model_price_delete(*, price: ModelPrice) -> None:
    """Remove a mistaken override; stored usage keeps the prices it was given until re-priced."""
    price.delete()
