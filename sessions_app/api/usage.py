"""`GET /api/v1/usage` (token and cost rollups) and `GET /api/v1/alerts` (budget alerts)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from ninja import Query, Router, Schema
from pydantic import AfterValidator, ConfigDict, Field

from ..errors import InvalidInput, NotFound
from ..selectors import costs
from ..selectors.budgets import budget_alerts_page
from ..selectors.sessions import session_or_none
from ..selectors.whatif import (
    session_usage,
    usage_reprice_what_if,
    usage_reprice_what_if_filtered,
)
from ..services.budgets import alert_payload
from ..usage_fields import SUM_FIELDS
from .auth import ApiRequest
from .schemas import EARLIEST, LATEST, CleanStr, ErrorOut, Money

router = Router(tags=["usage"])


def _sane_day(value: date) -> date:
    # A range is counted back from `to` (the default `from` is 29 days before it): a day near
    # year 1 would underflow.
    if not EARLIEST.date() <= value <= LATEST.date():
        raise ValueError("must be between 1970 and 9000")
    return value


Day = Annotated[date, AfterValidator(_sane_day)]


class UsageQuery(Schema):
    model_config = ConfigDict(extra="forbid")

    group_by: Literal["model", "agent", "user", "day", "source"] = Field(
        "day", description="`source` splits reported, computed and unknown-price usage."
    )
    from_: Day | None = Field(
        None, alias="from", description="First UTC day, inclusive (default: 29 days before `to`)."
    )
    to: Day | None = Field(None, description="Last UTC day, inclusive (default: today).")
    model: CleanStr = Field("", max_length=255, description="Only usage of this model.")
    agent: CleanStr = Field("", max_length=200, description="Only sessions of this agent_name.")
    user: CleanStr = Field("", max_length=255, description="Only sessions of this user_ref.")


class WhatIfQuery(Schema):
    model_config = ConfigDict(extra="forbid")

    target_model: CleanStr = Field(
        "", max_length=255, description="Price everything as this model (default: as used)."
    )
    session: CleanStr = Field(
        "", max_length=255, description="A session's external id instead of a range."
    )
    tree: bool = Field(False, description="With `session`: its whole tree (root and descendants).")
    from_: Day | None = Field(None, alias="from")
    to: Day | None = None
    model: CleanStr = Field("", max_length=255)
    agent: CleanStr = Field("", max_length=200)
    user: CleanStr = Field("", max_length=255)


class WhatIfLineOut(Schema):
    model: str
    target_model: str
    events: int
    prompt_tokens: int
    completion_tokens: int
    target_prompt_tokens: int
    target_completion_tokens: int
    token_ratio: Money
    stored_cost_usd: Money
    unpriced_events: int = Field(description="Events stored without a known price (cost 0).")
    cost_usd: Money | None


class WhatIfOut(Schema):
    target_model: str
    at: str
    stored_cost_usd: Money
    cost_usd: Money
    unpriced_models: list[str]
    lines: list[WhatIfLineOut]


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


def _usage_filter(request: ApiRequest, params: UsageQuery | WhatIfQuery) -> costs.UsageFilter:
    try:
        start, end = costs.usage_range(params.from_, params.to)
    except costs.UsageRangeError as exc:
        if exc.reversed:
            raise InvalidInput("`from` must not be after `to`.", field="from") from exc
        raise InvalidInput(
            f"A range covers at most {costs.MAX_RANGE_DAYS} days.", field="from"
        ) from exc
    return costs.UsageFilter(
        project=request.auth.project,
        start=start,
        end=end,
        model=params.model,
        agent=params.agent,
        user=params.user,
    )


def _item(row: dict[str, Any], group_by: str) -> dict[str, Any]:
    keys = {group_by: row[group_by]} if group_by in row else {}
    return {**keys, **{name: row[name] for name in SUM_FIELDS}}


@router.get(
    "/usage",
    response={200: UsageOut, 401: ErrorOut, 422: ErrorOut},
    summary="Token and cost rollups",
    by_alias=True,
    exclude_none=True,
)
def usage(request: ApiRequest, params: Query[UsageQuery]):
    """Tokens, cost and usage events per model, agent, end user, UTC day or cost source over a
    range of days, read from the daily aggregate; `total` sums every group."""
    f = _usage_filter(request, params)
    start, end = f.start, f.end
    rows = costs.usage_rollup(f, group_by=(params.group_by,))
    return {
        "group_by": params.group_by,
        "from_": start,
        "to": end,
        "items": [_item(r, params.group_by) for r in rows],
        "total": _item(costs.usage_totals(f), params.group_by),
    }


@router.get(
    "/alerts", response={200: AlertsOut, 401: ErrorOut, 422: ErrorOut}, summary="Budget alerts"
)
def alerts(
    request: ApiRequest,
    before_id: int | None = None,
    limit: Annotated[int, Field(ge=1, le=200)] = 50,
):
    """Budget alerts of the key's project, newest first; pass `next_before_id` back as
    `before_id` for older ones."""
    rows, next_before_id = budget_alerts_page(
        request.auth.project, before_id=before_id, limit=limit
    )
    return {"items": [alert_payload(a) for a in rows], "next_before_id": next_before_id}


@router.get(
    "/usage/what-if",
    response={200: WhatIfOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="What usage would cost at today's prices or on another model",
)
def what_if(request: ApiRequest, params: Query[WhatIfQuery]):
    """Re-price a session, its tree, or the usage of a range (with the /usage filters) at
    today's prices, on its own models or all on `target_model` (tokens recounted with that
    model's tokenizer where it differs). Nothing stored changes."""
    project = request.auth.project
    if params.session:
        session = session_or_none(project, params.session)
        if session is None:
            raise NotFound("No such session.", field="session")
        result = usage_reprice_what_if(
            project=project,
            usage=session_usage(session, tree=params.tree),
            target_model=params.target_model,
        )
    else:
        result = usage_reprice_what_if_filtered(
            _usage_filter(request, params), target_model=params.target_model
        )
    return {
        "target_model": result.target_model,
        "at": result.at.isoformat(),
        "stored_cost_usd": result.stored_cost_usd,
        "cost_usd": result.cost_usd,
        "unpriced_models": result.unpriced,
        "lines": [
            {
                "model": line.model,
                "target_model": line.target_model,
                "events": line.events,
                "prompt_tokens": line.prompt_tokens,
                "completion_tokens": line.completion_tokens,
                "target_prompt_tokens": line.target_prompt_tokens,
                "target_completion_tokens": line.target_completion_tokens,
                "token_ratio": line.token_ratio,
                "stored_cost_usd": line.stored_cost_usd,
                "unpriced_events": line.unpriced_events,
                "cost_usd": line.cost_usd,
            }
            for line in result.lines
        ],
    }
