"""Reads of budgets and their alerts: pages newest first, another project's budget is a 404."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.http import Http404

from sessions_app.models import Budget, BudgetAlert
from sessions_app.selectors.budgets import (
    budget_alerts_page,
    budget_alerts_recent,
    period_start,
    project_budget,
    project_has_budgets,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 18, 15, 0, tzinfo=UTC)  # a Wednesday


def _budget(project, target: str = "") -> Budget:
    return Budget.objects.create(
        project=project,
        scope="user" if target else "project",
        target=target,
        period="day",
        amount_usd=Decimal("1"),
    )


def _alerts(project, n: int) -> list[BudgetAlert]:
    budget = _budget(project, target="someone")
    return [
        BudgetAlert.objects.create(
            project=project,
            budget=budget,
            period_start=datetime(2026, 3, day, tzinfo=UTC),
            level="over",
            spent_usd=Decimal("2"),
        )
        for day in range(1, n + 1)
    ]


def test_periods_start_at_utc_midnight_of_the_day_week_month_or_epoch():
    assert period_start("day", NOW) == datetime(2026, 3, 18, tzinfo=UTC)
    assert period_start("week", NOW) == datetime(2026, 3, 16, tzinfo=UTC)
    assert period_start("month", NOW) == datetime(2026, 3, 1, tzinfo=UTC)
    assert period_start("total", NOW) == datetime(1970, 1, 1, tzinfo=UTC)


def test_alert_pages_go_back_in_time_and_end(project):
    alerts = _alerts(project, 5)
    first, before = budget_alerts_page(project, before_id=None, limit=2)
    assert [a.pk for a in first] == [alerts[4].pk, alerts[3].pk]
    second, before = budget_alerts_page(project, before_id=before, limit=2)
    third, before = budget_alerts_page(project, before_id=before, limit=2)
    assert [a.pk for a in second + third] == [alerts[2].pk, alerts[1].pk, alerts[0].pk]
    assert before is None


def test_another_projects_alerts_and_budgets_are_not_read(project, other_project):
    _alerts(other_project, 2)
    theirs = Budget.objects.get(project=other_project)
    assert budget_alerts_page(project, before_id=None, limit=10) == ([], None)
    assert budget_alerts_recent(project, limit=10) == []
    assert not project_has_budgets(project.pk)
    with pytest.raises(Http404):
        project_budget(project, theirs.pk)


def test_recent_alerts_come_with_their_budget(project):
    _alerts(project, 3)
    recent = budget_alerts_recent(project, limit=2)
    assert len(recent) == 2 and recent[0].budget.target == "someone"
    assert project_has_budgets(project.pk)
