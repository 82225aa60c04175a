"""Forms of the cost pages: the costs filter (GET), price overrides and budgets (POST)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from django import forms

from sessions_app.list_query import DAY_RANGE_MESSAGE, day_in_range
from sessions_app.models import Budget, Project
from sessions_app.selectors.costs import (
    MAX_RANGE_DAYS,
    UsageFilter,
    UsageRangeError,
    usage_range,
)

BREAKDOWNS = ("model", "agent", "user", "day", "source", "hour", "sessions", "trees", "project")
MILLION = Decimal(1_000_000)


class CostFilterForm(forms.Form):
    """The costs page's query string: a range of UTC days and optional narrowing."""

    model = forms.CharField(required=False, max_length=255)
    agent = forms.CharField(required=False, max_length=200)
    user = forms.CharField(required=False, max_length=255)
    breakdown = forms.ChoiceField(required=False, choices=[(b, b) for b in BREAKDOWNS])
    format = forms.ChoiceField(required=False, choices=[("", "page"), ("csv", "CSV")])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # `from` and `to` are Python keywords, as in the sessions list's form. Days outside
        # FIRST_DAY..LAST_DAY are field errors (the range would leave the dates Python holds).
        for name in ("from", "to"):
            self.fields[name] = forms.DateField(
                required=False,
                input_formats=["%Y-%m-%d"],
                validators=[day_in_range],
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "from" in self.errors or "to" in self.errors:
            return data
        try:
            usage_range(data.get("from"), data.get("to"))
        except UsageRangeError as exc:
            if exc.reversed:
                message = "The range starts after it ends."
            elif exc.outside:  # only when `to` defaults to a day past LAST_DAY
                message = DAY_RANGE_MESSAGE
            else:
                message = f"A range covers at most {MAX_RANGE_DAYS} days."
            self.add_error("from", message)
        return data

    def usage_filter(self, project: Project, today: date | None = None) -> UsageFilter:
        """The valid filter: the last 30 days by default; invalid fields are left out."""
        data = self.cleaned_data if self.is_bound else {}
        start, end = data.get("from"), data.get("to")
        if "from" in self.errors or "to" in self.errors:
            start = end = None
        try:
            start, end = usage_range(start, end, today=today)
        except UsageRangeError:  # only when `today` is not the day clean() checked against
            start, end = usage_range(None, None, today=today)
        return UsageFilter(
            project=project,
            start=start,
            end=end,
            model=(data.get("model") or "").strip(),
            agent=(data.get("agent") or "").strip(),
            user=(data.get("user") or "").strip(),
        )


class ModelPriceForm(forms.Form):
    """A price override, entered in USD per million tokens as price pages show them."""

    pattern = forms.CharField(
        max_length=255, help_text="An exact model name, or a glob such as my-llama-*"
    )
    input_per_million = forms.DecimalField(min_value=0, max_digits=20, decimal_places=8)
    output_per_million = forms.DecimalField(min_value=0, max_digits=20, decimal_places=8)
    cached_per_million = forms.DecimalField(
        required=False, min_value=0, max_digits=20, decimal_places=8
    )
    effective_from = forms.DateField(input_formats=["%Y-%m-%d"], initial=date.today)
    note = forms.CharField(required=False, max_length=500)

    def per_token(self) -> dict[str, Any]:
        """The cleaned override as the service takes it (USD per token, aware start)."""
        d = self.cleaned_data
        cached = d.get("cached_per_million")
        return {
            "pattern": d["pattern"],
            "input_cost_per_token": d["input_per_million"] / MILLION,
            "output_cost_per_token": d["output_per_million"] / MILLION,
            "cached_cost_per_token": cached / MILLION if cached is not None else None,
            "effective_from": datetime.combine(d["effective_from"], time.min, tzinfo=UTC),
            "note": d.get("note", ""),
        }


class RepriceForm(forms.Form):
    """Which stored usage to re-price: everything, or from a day on, or one model."""

    since = forms.DateField(required=False, input_formats=["%Y-%m-%d"])
    model = forms.CharField(required=False, max_length=255)

    def since_at(self) -> datetime | None:
        since = self.cleaned_data.get("since")
        return datetime.combine(since, time.min, tzinfo=UTC) if since else None


class BudgetForm(forms.Form):
    """A new budget."""

    scope = forms.ChoiceField(choices=Budget.Scope.choices)
    target = forms.CharField(
        required=False, max_length=255, help_text="user_ref or session id; blank for the project"
    )
    period = forms.ChoiceField(choices=Budget.Period.choices, initial=Budget.Period.MONTH)
    amount_usd = forms.DecimalField(min_value=Decimal("0.000001"), max_digits=20, decimal_places=6)
    warn_percent = forms.IntegerField(min_value=1, max_value=100, initial=80)


class WebhookForm(forms.Form):
    """The URL budget alerts are POSTed to (blank: none)."""

    url = forms.CharField(required=False, max_length=200)
