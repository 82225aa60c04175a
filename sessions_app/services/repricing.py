"""Re-pricing: rewriting stored costs after a price override when an editor asks (a task), and
the overrides themselves. What usage would cost without writing anything is a read:
`selectors/whatif.py`."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F

from ..errors import InvalidInput
from ..models import AgentSession, ModelPrice, Project, TokenUsage
from ..pricing import PriceBook, cost_of
from ..selectors.whatif import repriceable_usage
from .sessions import usage_totals_by_day_key
from .usage import daily_usage_apply

REPRICE_CHUNK = 2000


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
            repriceable_usage(project, since, model)
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


def usage_reprice_request(
    *, project: Project, since: datetime | None = None, model: str = ""
) -> dict[str, Any] | None:
    """What an editor's "re-price stored usage" does: queue `usage_reprice` for a worker once
    the request's transaction commits (through the outbox, so a broker outage loses nothing),
    and return None; without a broker, tasks run in-process anyway, so it runs here and
    returns what it did."""
    from ..tasks.pricing import usage_reprice_task
    from .outbox import task_send_on_commit

    if usage_reprice_task.app.conf.task_always_eager:
        return usage_reprice(project=project, since=since, model=model)
    task_send_on_commit(
        task=usage_reprice_task, args=[project.pk, since.isoformat() if since else None, model]
    )
    return None


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
