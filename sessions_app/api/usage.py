"""`GET /api/v1/usage` (token and cost rollups) and `GET /api/v1/alerts` (budget alerts)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import ConfigDict, Field, PlainSerializer

from .. import analytics
from ..errors import InvalidInput
from ..models import BudgetAlert
from ..services.budgets import alert_payload

router = Router(tags=["usage"])

# A year of days is what the dashboard offers; longer ranges are still one aggregate query.
MAX_RANGE_DAYS = 3660


def _money_text(value: Decimal) -> str:
    # Plain notation without trailing zeros, as the sessions API writes money: "0.00125".
    return format(value.normalize(), "f") if value else "0"


Money = Annotated[Decimal, PlainSerializer(_money_text, return_type=str)]


class ErrorOut(Schema):
    detail: Any
    code: str
    field: str | None = None


class UsageQuery(Schema):
    model_config = ConfigDict(extra="forbid")

    group_by: Literal["model", "agent", "user", "day", "source"] = Field(
        "day", description="`source` splits reported, computed and unknown-price usage."
    )
    from_: date | None = Field(
        None, alias="from", description="First UTC day, inclusive (default: 29 days before `to`)."
    )
    to: date | None = Field(None, description="Last UTC day, inclusive (default: today).")
    model: str = Field("", max_length=255, description="Only usage of this model.")
    agent: str = Field("", max_length=200, description="Only sessions of this agent_name.")
    user: str = Field("", max_length=255, description="Only sessions of this user_ref.")


class UsageItemOut(Schema):
    model: str | None = None
    agent: str | None = None
    user: str | None = None
    day: date | None = None
    source: str | None = None
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cached_tokens: int
    reasoning_tokens: int
    cost_usd: Money
    events: int


class UsageOut(Schema):
    group_by: str
    from_: date = Field(serialization_alias="from")
    to: date
    items: list[UsageItemOut]
    total: UsageItemOut


class BudgetOut(Schema):
    id: int
    scope: str
    target: str
    period: str
    amount_usd: str


class AlertOut(Schema):
    id: int
    level: str
    spent_usd: str
    period_start: str
    created_at: str
    budget: BudgetOut


class AlertsOut(Schema):
    items: list[AlertOut]
    next_before_id: int | None


def _item(row: dict[str, Any], group_by: str) -> dict[str, Any]:
    keys = {group_by: row[group_by]} if group_by in row else {}
    return {**keys, **{name: row[name] for name in analytics.SUM_FIELDS}}


@router.get(
    "/usage",
    response={200: UsageOut, 401: ErrorOut, 422: ErrorOut},
    summary="Token and cost rollups",
    by_alias=True,
    exclude_none=True,
)
def usage(request: HttpRequest, params: Query[UsageQuery]):
    """Tokens, cost and usage events per model, agent, end user, UTC day or cost source over a
    range of days, read from the daily aggregate; `total` sums every group."""
    start, end = params.from_, params.to
    if end is None:
        end = analytics.default_range()[1] if start is None else max(start, date.today())
    if start is None:
        start = analytics.default_range(end)[0]
    if start > end:
        raise InvalidInput("`from` must not be after `to`.", field="from")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise InvalidInput(f"A range covers at most {MAX_RANGE_DAYS} days.", field="from")
    f = analytics.UsageFilter(
        project=request.auth.project,
        start=start,
        end=end,
        model=params.model,
        agent=params.agent,
        user=params.user,
    )
    rows = analytics.usage_rollup(f, group_by=(params.group_by,))
    return {
        "group_by": params.group_by,
        "from_": start,
        "to": end,
        "items": [_item(r, params.group_by) for r in rows],
        "total": _item(analytics.usage_totals(f), params.group_by),
    }


@router.get(
    "/alerts", response={200: AlertsOut, 401: ErrorOut, 422: ErrorOut}, summary="Budget alerts"
)
def alerts(
    request: HttpRequest,
    before_id: int | None = None,
    limit: Annotated[int, Field(ge=1, le=200)] = 50,
):
    """Budget alerts of the key's project, newest first; pass `next_before_id` back as
    `before_id` for older ones."""
    qs = BudgetAlert.objects.filter(project=request.auth.project).select_related("budget")
    if before_id is not None:
        qs = qs.filter(pk__lt=before_id)
    rows = list(qs.order_by("-pk")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [alert_payload(a) for a in rows],
        "next_before_id": rows[-1].pk if more else None,
    }
