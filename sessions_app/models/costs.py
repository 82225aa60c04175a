"""Prices, the daily usage aggregate, budgets and their alerts."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .events import TokenUsage
from .projects import Project


class ModelPrice(models.Model):
    """A project's price for a model, used before litellm's table from `effective_from` on.

    `pattern` is an exact model name or a shell-style glob (`my-llama-*`); the most recent
    effective row whose pattern matches wins, exact names before globs.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="model_prices")
    pattern = models.CharField(max_length=255)
    input_cost_per_token = models.DecimalField(max_digits=20, decimal_places=14)
    output_cost_per_token = models.DecimalField(max_digits=20, decimal_places=14)
    cached_cost_per_token = models.DecimalField(
        max_digits=20, decimal_places=14, null=True, blank=True
    )
    effective_from = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["project", "-effective_from"], name="price_project_time")]

    def __str__(self) -> str:
        return f"{self.pattern} from {self.effective_from:%Y-%m-%d}"


class DailyUsage(models.Model):
    """Usage summed per project, day, model, agent, end user and cost source.

    Kept current by the event services in the ingest transaction, so cost rollups read a few
    rows per day instead of scanning token usage.
    """

    # Indexed by the unique key, which starts with it.
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    model = models.CharField(max_length=255)
    agent_name = models.CharField(max_length=200, blank=True, default="")
    user_ref = models.CharField(max_length=255, blank=True, default="")
    cost_source = models.CharField(max_length=10, choices=TokenUsage.CostSource.choices)
    # Signed on purpose: deletions subtract through the same upsert, and a CHECK (>= 0) would be
    # evaluated on the proposed insert row before the conflict turns it into an update.
    events = models.BigIntegerField(default=0)
    prompt_tokens = models.BigIntegerField(default=0)
    completion_tokens = models.BigIntegerField(default=0)
    total_tokens = models.BigIntegerField(default=0)
    cached_tokens = models.BigIntegerField(default=0)
    reasoning_tokens = models.BigIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=20, decimal_places=10, default=Decimal("0"))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "day", "model", "agent_name", "user_ref", "cost_source"],
                name="daily_usage_key",
            )
        ]
        verbose_name_plural = "daily usage"

    def __str__(self) -> str:
        return f"{self.day} {self.model}: ${self.cost_usd}"


class Budget(models.Model):
    """A spending limit for a project, an end user or a session over a period."""

    class Scope(models.TextChoices):
        PROJECT = "project", "Project"
        USER = "user", "End user"
        SESSION = "session", "Session"

    class Period(models.TextChoices):
        DAY = "day", "Day"
        WEEK = "week", "Week"
        MONTH = "month", "Month"
        TOTAL = "total", "All time"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="budgets")
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.PROJECT)
    # The end user's user_ref or the session's external_id; blank for a project budget.
    target = models.CharField(max_length=255, blank=True, default="")
    period = models.CharField(max_length=10, choices=Period.choices, default=Period.MONTH)
    amount_usd = models.DecimalField(max_digits=20, decimal_places=6)
    # Fraction of the amount at which "near" is reported (0.8 = 80 %).
    warn_ratio = models.DecimalField(max_digits=4, decimal_places=3, default=Decimal("0.8"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "scope", "target", "period"], name="budget_key"
            ),
            models.CheckConstraint(condition=Q(amount_usd__gt=0), name="budget_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.target} {self.period}: ${self.amount_usd}"


class BudgetAlert(models.Model):
    """A budget crossed its warning ratio or its amount in one period: recorded once."""

    class Level(models.TextChoices):
        NEAR = "near", "Near the budget"
        OVER = "over", "Over the budget"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    budget = models.ForeignKey(Budget, on_delete=models.CASCADE, related_name="alerts")
    period_start = models.DateTimeField()
    level = models.CharField(max_length=10, choices=Level.choices)
    spent_usd = models.DecimalField(max_digits=20, decimal_places=10, default=Decimal("0"))
    created_at = models.DateTimeField(default=timezone.now)
    webhook_status = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["budget", "period_start", "level"], name="budget_alert_once"
            )
        ]
        indexes = [models.Index(fields=["project", "-created_at"], name="budget_alert_recent")]

    def __str__(self) -> str:
        return f"{self.budget}: {self.level} at ${self.spent_usd}"
