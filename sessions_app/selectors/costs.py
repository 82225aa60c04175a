"""Cost analytics: rollups of tokens and cost for the costs page, CSV and the API.

Breakdowns by day, model, agent, end user and cost source read the DailyUsage aggregate (a few
rows per day, kept current by ingest), never the token usage rows, so a 90-day rollup stays
fast at any volume. Only the hourly breakdown of a short range reads TokenUsage, through its
(project, timestamp) index. Days are UTC days.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncHour

from ..models import AgentSession, DailyUsage, Project, TokenUsage
from ..usage_fields import SUM_FIELDS, usage_sums

# Group keys a breakdown may use, mapped to the DailyUsage column they read.
GROUP_COLUMNS = {
    "model": "model",
    "agent": "agent_name",
    "user": "user_ref",
    "day": "day",
    "source": "cost_source",
}
# The longest range of days a rollup covers (the pages and the API): ten years of days, still
# one aggregate query.
MAX_RANGE_DAYS = 3660
# The days a range may start and end on (the API's date-times are bounded the same way): a
# range is counted back from `to` and forward to the day after it, which near year 1 or 9999
# would leave the dates Python and the database hold.
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(9000, 1, 1)
# Ranges up to this many days also get an hourly breakdown (read from TokenUsage).
HOURLY_MAX_DAYS = 2
# Upper bounds of the cost-per-session histogram buckets (USD); the last bucket is open.
COST_BUCKETS = (
    Decimal("0.001"),
    Decimal("0.01"),
    Decimal("0.1"),
    Decimal("1"),
    Decimal("10"),
)


@dataclass(frozen=True)
class UsageFilter:
    """What a rollup covers: a project, an inclusive range of UTC days, optional narrowing."""

    project: Project
    start: date
    end: date
    model: str = ""
    agent: str = ""
    user: str = ""

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=UTC)

    @property
    def end_before(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=UTC)

    def narrowed(self, **changes: Any) -> UsageFilter:
        """The same filter with some fields replaced (drill-down into one group)."""
        return replace(self, **changes)

    def params(self) -> dict[str, str]:
        """The filter as GET parameters shared by the costs page and the sessions list."""
        out = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        for name in ("model", "agent", "user"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        return out

    def query(self, **extra: str) -> str:
        """The filter (plus extra parameters) as a URL query string."""
        return urlencode({**self.params(), **extra})


def default_range(today: date | None = None, days: int = 30) -> tuple[date, date]:
    """The last `days` UTC days, today included."""
    today = today or datetime.now(UTC).date()
    return today - timedelta(days=days - 1), today


class UsageRangeError(ValueError):
    """A range of days a rollup refuses: it starts after it ends, it is too long, or a day of
    it is outside FIRST_DAY..LAST_DAY (`outside`)."""

    def __init__(self, *, reversed_: bool, outside: bool = False) -> None:
        super().__init__("outside" if outside else "reversed" if reversed_ else "too long")
        self.reversed = reversed_
        self.outside = outside


def usage_range(
    start: date | None, end: date | None, *, today: date | None = None
) -> tuple[date, date]:
    """The range a rollup covers, the same for the costs page and the API: `to` defaults to
    today (or `from` when that is later), `from` to 29 days before `to`; UsageRangeError when
    `from` is after `to`, the range has MAX_RANGE_DAYS days or more, or a day given is outside
    FIRST_DAY..LAST_DAY."""
    if any(day is not None and not FIRST_DAY <= day <= LAST_DAY for day in (start, end)):
        raise UsageRangeError(reversed_=False, outside=True)
    if end is None:
        latest = default_range(today)[1]
        end = latest if start is None else max(start, latest)
    if start is None:
        start = default_range(end)[0]
    if start > end:
        raise UsageRangeError(reversed_=True)
    if (end - start).days >= MAX_RANGE_DAYS:
        raise UsageRangeError(reversed_=False)
    return start, end


def _daily(f: UsageFilter) -> QuerySet[DailyUsage]:
    qs = DailyUsage.objects.filter(project=f.project, day__gte=f.start, day__lte=f.end)
    if f.model:
        qs = qs.filter(model=f.model)
    if f.agent:
        qs = qs.filter(agent_name=f.agent)
    if f.user:
        qs = qs.filter(user_ref=f.user)
    return qs


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    """Replace NULL sums (no rows) with zeros, money as Decimal."""
    for name in SUM_FIELDS:
        if row.get(name) is None:
            row[name] = Decimal(0) if name == "cost_usd" else 0
    row["cost_usd"] = money(row["cost_usd"])
    return row


def money(value: Any) -> Decimal:
    """A sum of money in one canonical form ("0.0826", "0", "100"), whatever the database's
    scale, so the page, the CSV and the API print the same figure. Quantized to the columns'
    10 decimal places first: SQLite sums NUMERIC columns in floating point (9.99999999999999E-7
    for 0.000001); PostgreSQL's exact sums are unchanged by it."""
    amount = Decimal(value or 0).quantize(Decimal("1e-10")).normalize()
    return Decimal(format(amount, "f")) if amount else Decimal(0)


def usage_totals(f: UsageFilter) -> dict[str, Any]:
    """Tokens (prompt, completion, cached, reasoning), cost and usage events over the filter."""
    return _clean(_daily(f).aggregate(**usage_sums()))


def usage_by_source(f: UsageFilter) -> dict[str, dict[str, Any]]:
    """Totals split by cost source (reported, computed, unknown), every source present."""
    rows = {r["source"]: r for r in usage_rollup(f, group_by=("source",))}
    return {
        source: rows.get(source) or _clean({"source": source})
        for source in TokenUsage.CostSource.values
    }


def usage_rollup(
    f: UsageFilter,
    *,
    group_by: tuple[str, ...],
    order: str = "-cost_usd",
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Sums per group (any of model, agent, user, day, source), from the daily aggregate.

    Rows are dicts with the group keys and every sum; ordered by cost (largest first) unless
    `order` says otherwise; days always come out in date order when they are the only key.
    `limit` keeps the first rows only (thousands of end users make a long table).
    """
    unknown = [g for g in group_by if g not in GROUP_COLUMNS]
    if unknown or not group_by:
        raise ValueError(f"Unknown group key {unknown[0] if unknown else ''!r}")
    keys = {g: F(GROUP_COLUMNS[g]) for g in group_by}
    # Keys named like their column are selected as is; the others (agent, user, source) are
    # aliases, which Django only accepts for names that are not fields of the model.
    plain = [g for g in group_by if GROUP_COLUMNS[g] == g]
    renamed = {g: expr for g, expr in keys.items() if GROUP_COLUMNS[g] != g}
    # Deleted events leave their aggregate rows at zero: such groups are not shown.
    qs = (
        _daily(f)
        .values(*plain, **renamed)
        .alias(n=Sum("events"))
        .filter(n__gt=0)
        .annotate(**usage_sums())
    )
    ordering = ["day"] if group_by == ("day",) else [order, *group_by]
    qs = qs.order_by(*ordering)
    return [_clean(row) for row in (qs[:limit] if limit is not None else qs)]


def usage_hourly(f: UsageFilter) -> list[dict[str, Any]]:
    """Sums per UTC hour, from TokenUsage by its (project, timestamp) index (short ranges)."""
    qs = TokenUsage.objects.filter(
        project=f.project, timestamp__gte=f.start_at, timestamp__lt=f.end_before
    )
    if f.model:
        qs = qs.filter(model=f.model)
    if f.agent:
        qs = qs.filter(session__agent_name=f.agent)
    if f.user:
        qs = qs.filter(session__user_ref=f.user)
    rows = (
        qs.annotate(hour=TruncHour("timestamp"))
        .values("hour")
        .annotate(**usage_sums(of_rows=True))
        .order_by("hour")
    )
    return [_clean(row) for row in rows]


def usage_by_project(projects: QuerySet[Project], start: date, end: date) -> list[dict[str, Any]]:
    """Totals per project over a range, for the projects a user may see (one query)."""
    rows = (
        DailyUsage.objects.filter(project__in=projects, day__gte=start, day__lte=end)
        .values("project_id", slug=F("project__slug"), name=F("project__name"))
        .alias(n=Sum("events"))
        .filter(n__gt=0)
        .annotate(**usage_sums())
        .order_by("-cost_usd", "project_id")
    )
    return [_clean(row) for row in rows]


def _active_sessions(f: UsageFilter) -> QuerySet[AgentSession]:
    """Sessions whose last activity falls in the range (the sessions list's from/to), narrowed
    by agent, user and model. Creation time is not used: agents may send backdated events."""
    qs = AgentSession.objects.filter(
        project=f.project, last_event_at__gte=f.start_at, last_event_at__lt=f.end_before
    )
    if f.agent:
        qs = qs.filter(agent_name=f.agent)
    if f.user:
        qs = qs.filter(user_ref=f.user)
    if f.model:
        qs = qs.filter(
            pk__in=TokenUsage.objects.filter(
                project=f.project,
                model=f.model,
                timestamp__gte=f.start_at,
                timestamp__lt=f.end_before,
            ).values("session_id")
        )
    return qs


def top_sessions(f: UsageFilter, *, limit: int = 10) -> list[AgentSession]:
    """The costliest sessions last active in the range (their whole cost)."""
    return list(
        _active_sessions(f)
        .only(
            "id",
            "external_id",
            "title",
            "preview",
            "agent_name",
            "user_ref",
            "kind",
            "depth",
            "total_tokens",
            "cost_usd",
            "event_count",
            "comment_count",
            "last_event_at",
            "created_at",
        )
        .order_by("-cost_usd", "-id")[:limit]
    )


def top_trees(f: UsageFilter, *, limit: int = 10) -> list[dict[str, Any]]:
    """The costliest session trees with a session last active in the range: a tree's cost is
    the sum over every
    session that shares its root, descendants included (two queries)."""
    roots = list(
        AgentSession.objects.filter(
            project=f.project, root_id__in=_active_sessions(f).values("root_id")
        )
        .values("root_id")
        .annotate(
            cost_usd=Sum("cost_usd"),
            total_tokens=Sum("total_tokens"),
            sessions=Count("id"),
        )
        .order_by("-cost_usd", "-root_id")[:limit]
    )
    by_id = AgentSession.objects.only(
        "id", "external_id", "title", "preview", "agent_name"
    ).in_bulk([r["root_id"] for r in roots])
    for row in roots:
        row["root"] = by_id.get(row["root_id"])
    return [r for r in roots if r["root"] is not None]


@dataclass
class Bucket:
    """One bar of the cost-per-session distribution: sessions with low <= cost < high."""

    low: Decimal
    high: Decimal | None
    sessions: int = 0
    cost_usd: Decimal = field(default_factory=Decimal)
    href: str = ""  # set by the page: the sessions list showing this bucket

    @property
    def label(self) -> str:
        if self.high is None:
            return f"≥ ${self.low}"
        if not self.low:
            return f"< ${self.high}"
        return f"${self.low} to ${self.high}"


def cost_distribution(f: UsageFilter) -> list[Bucket]:
    """How many sessions active in the range fall in each cost bucket (one query)."""
    bounds = [Decimal(0), *COST_BUCKETS]
    buckets = [
        Bucket(low=low, high=bounds[i + 1] if i + 1 < len(bounds) else None)
        for i, low in enumerate(bounds)
    ]
    aggregates: dict[str, Any] = {}
    for i, b in enumerate(buckets):
        cond = Q(cost_usd__gte=b.low)
        if b.high is not None:
            cond &= Q(cost_usd__lt=b.high)
        aggregates[f"n{i}"] = Count("id", filter=cond)
        aggregates[f"c{i}"] = Sum("cost_usd", filter=cond)
    row = _active_sessions(f).aggregate(**aggregates)
    for i, b in enumerate(buckets):
        b.sessions = row[f"n{i}"] or 0
        b.cost_usd = money(row[f"c{i}"])
    return buckets


def pivot(
    rows: list[dict[str, Any]], *, x: str, series: str, value: str = "cost_usd", top: int = 6
) -> tuple[list[Any], list[str], dict[tuple[Any, str], Decimal]]:
    """Reshape (x, series) rows for a stacked chart: the x values in order, the largest `top`
    series (the rest summed as "other"), and the value per (x, series)."""
    totals: dict[str, Decimal] = {}
    for r in rows:
        totals[r[series]] = totals.get(r[series], Decimal(0)) + Decimal(r[value])
    ranked = sorted(totals, key=lambda s: (-totals[s], s))
    kept = ranked[:top]
    names = kept + (["other"] if len(ranked) > top else [])
    xs = sorted({r[x] for r in rows})
    values: dict[tuple[Any, str], Decimal] = {}
    for r in rows:
        name = r[series] if r[series] in kept else "other"
        key = (r[x], name)
        values[key] = values.get(key, Decimal(0)) + Decimal(r[value])
    return xs, names, values


def used_models(project: Project | int, *, limit: int, ordered: bool = True) -> list[str]:
    """Names of the models the project has used, from the daily aggregate: the first `limit`
    by name, or (`ordered=False`) any `limit` of them, which spares the sort."""
    project_id = project if isinstance(project, int) else project.pk
    qs = DailyUsage.objects.filter(project_id=project_id)
    qs = qs.order_by("model") if ordered else qs.order_by()
    return list(qs.values_list("model", flat=True).distinct()[:limit])
