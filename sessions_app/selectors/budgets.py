"""Reads of budgets: each budget's spend in its current period and where that stands, the
levels a list flags its rows with, and the alerts recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Sum
from django.shortcuts import get_object_or_404

from ..models import AgentSession, Budget, BudgetAlert, DailyUsage, Project, TokenUsage


def period_start(period: str, now: datetime | None = None) -> datetime:
    """The UTC start of the period containing `now` (weeks start on Monday)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    today = now.date()
    if period == Budget.Period.DAY:
        start = today
    elif period == Budget.Period.WEEK:
        start = today - timedelta(days=today.weekday())
    elif period == Budget.Period.MONTH:
        start = today.replace(day=1)
    else:
        start = date(1970, 1, 1)
    return datetime.combine(start, time.min, tzinfo=UTC)


def budget_spent(budget: Budget, *, now: datetime | None = None) -> Decimal:
    """What the budget's scope spent in the current period (day-granular for project and
    user budgets, read from the daily aggregate)."""
    start = period_start(budget.period, now)
    if budget.scope == Budget.Scope.SESSION:
        usage = TokenUsage.objects.filter(
            project_id=budget.project_id, session__external_id=budget.target
        )
        if budget.period != Budget.Period.TOTAL:
            usage = usage.filter(timestamp__gte=start)
        spent = usage.aggregate(s=Sum("cost_usd"))["s"]
    else:
        daily = DailyUsage.objects.filter(project_id=budget.project_id, day__gte=start.date())
        if budget.scope == Budget.Scope.USER:
            daily = daily.filter(user_ref=budget.target)
        spent = daily.aggregate(s=Sum("cost_usd"))["s"]
    return Decimal(spent or 0)


@dataclass(frozen=True)
class BudgetStatus:
    """A budget with its spend in the current period and where that stands."""

    budget: Budget
    spent_usd: Decimal
    period_start: datetime

    @property
    def ratio(self) -> Decimal:
        return self.spent_usd / self.budget.amount_usd

    @property
    def percent(self) -> int:
        return int(self.ratio * 100)

    @property
    def level(self) -> str:
        """ "over", "near" or "" (under the warning ratio)."""
        if self.spent_usd >= self.budget.amount_usd:
            return BudgetAlert.Level.OVER
        if self.ratio >= self.budget.warn_ratio:
            return BudgetAlert.Level.NEAR
        return ""


def budgets_status(project: Project, *, now: datetime | None = None) -> list[BudgetStatus]:
    """Every budget of a project with its current spend, the most used first."""
    statuses = [
        BudgetStatus(b, budget_spent(b, now=now), period_start(b.period, now))
        for b in Budget.objects.filter(project=project).order_by("scope", "target", "period")
    ]
    return sorted(statuses, key=lambda s: -s.ratio)


def budget_levels(project: Project, *, now: datetime | None = None) -> dict[tuple[str, str], str]:
    """{(scope, target): "near" | "over"} for the budgets near or over now, so a list can flag
    an end user ("user", user_ref) or a session ("session", external_id) in one lookup."""
    return {
        (s.budget.scope, s.budget.target): s.level
        for s in budgets_status(project, now=now)
        if s.level
    }


def budget_flags(project: Project, sessions: list[AgentSession]) -> str | None:
    """Mark each session with the level of its own budget (`budget_session`) and of its end
    user's (`budget_user`), for a list; returns the project's own level, or None."""
    levels = budget_levels(project)
    for row in sessions:
        row.budget_user = levels.get(("user", row.user_ref)) if row.user_ref else None
        row.budget_session = levels.get(("session", row.external_id))
    return levels.get(("project", ""))


def project_has_budgets(project_id: int) -> bool:
    """Whether the project has any budget (one indexed query)."""
    return Budget.objects.filter(project_id=project_id).exists()


def project_budget(project: Project, pk: int) -> Budget:
    """One budget of the project, or 404."""
    return get_object_or_404(Budget, project=project, pk=pk)


def budget_alerts_recent(project: Project, *, limit: int) -> list[BudgetAlert]:
    """The project's latest alerts with their budgets, newest first."""
    return list(
        BudgetAlert.objects.filter(project=project)
        .select_related("budget")
        .order_by("-created_at", "-id")[:limit]
    )


def budget_alerts_page(
    project: Project, *, before_id: int | None, limit: int
) -> tuple[list[BudgetAlert], int | None]:
    """A page of the project's alerts, newest first, before an alert id; and the id to pass
    as `before_id` for the next page, if any."""
    qs = BudgetAlert.objects.filter(project=project).select_related("budget")
    if before_id is not None:
        qs = qs.filter(pk__lt=before_id)
    rows = list(qs.order_by("-pk")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].pk if more else None)
