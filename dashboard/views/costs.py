"""The costs page (totals, breakdowns, charts, top sessions and trees), its CSV export, and the
what-if re-pricing page. Every figure links to the sessions list filtered to what makes it up."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import reverse

from sessions_app.money import money_text
from sessions_app.selectors import costs as analytics
from sessions_app.selectors.budgets import budgets_status
from sessions_app.selectors.costs import UsageFilter, used_models
from sessions_app.selectors.projects import projects_for_user
from sessions_app.selectors.review import review_columns
from sessions_app.selectors.sessions import session_heading
from sessions_app.selectors.whatif import (
    session_usage,
    usage_reprice_what_if,
    usage_reprice_what_if_filtered,
)
from sessions_app.usage_fields import SUM_FIELDS

from .. import charts
from ..access import project_for
from ..cost_forms import CostFilterForm
from ..htmx import render_htmx
from ..http import DashboardRequest
from .common import chrome, htmx_target

NONE_LABEL = "(none)"
MAX_CHART_DAYS = 120
# Breakdown tables show the costliest rows; the CSV has them all.
TABLE_ROWS = 50
# The usage sums (sessions_app/usage_fields.py) in the order the CSV has always had its columns.
CSV_COLUMNS = (
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "total_tokens",
    "cost_usd",
    "events",
)


def sessions_href(f: UsageFilter, *, day: date | None = None, **narrow: str) -> str:
    """The sessions list showing the sessions behind a figure: those that used tokens in the
    range (or on `day`), whatever their last activity, with the same narrowing, archived
    sessions included (their cost counts too). Their in-range costs add up to the figure."""
    start, end = (day, day) if day else (f.start, f.end)
    params = {
        "spent_from": start.isoformat(),
        "spent_to": end.isoformat(),
        **{k: v for k, v in f.params().items() if k not in ("from", "to")},
        "status": "all",
        **narrow,
    }
    return _list_href(f, params)


def _list_href(f: UsageFilter, params: dict[str, str]) -> str:
    url = reverse("dashboard:session_list", args=[f.project.slug])
    return f"{url}?{urlencode(params)}"


def costs_href(f: UsageFilter, **extra: str) -> str:
    """The costs page for a filter (plus extra parameters such as format=csv)."""
    return f"{reverse('dashboard:costs', args=[f.project.slug])}?{f.query(**extra)}"


def _label(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    return str(value) if value not in ("", None) else NONE_LABEL


def _group_rows(f: UsageFilter, group: str) -> list[dict[str, Any]]:
    """A breakdown's rows (the costliest TABLE_ROWS; days all), each with its label and its
    sessions-list link."""
    limit = None if group == "day" else TABLE_ROWS
    rows = analytics.usage_rollup(f, group_by=(group,), limit=limit)
    for row in rows:
        key = row[group]
        row["label"] = _label(key)
        if group == "day":
            row["href"] = sessions_href(f, day=key)
            # The costs page of one day has the hourly breakdown.
            row["costs_href"] = costs_href(f.narrowed(start=key, end=key))
        elif group in ("model", "agent", "user") and key:
            # The sessions list cannot select "no agent" or "no user": those rows are unlinked.
            row["href"] = sessions_href(f, **{group: key})
            row["costs_href"] = costs_href(f.narrowed(**{group: key}))
        else:
            row["href"] = ""
    return rows


def _hour_rows(f: UsageFilter) -> list[dict[str, Any]]:
    """The hourly breakdown; each hour links to its day's sessions (the list filters by day)."""
    rows = analytics.usage_hourly(f)
    for row in rows:
        row["href"] = sessions_href(f, day=row["hour"].date())
    return rows


def _chart_by(f: UsageFilter, series: str, label: str) -> charts.Chart:
    rows = analytics.usage_rollup(f, group_by=("day", series), order="day")
    xs, names, values = analytics.pivot(rows, x="day", series=series)
    if rows and f.days <= MAX_CHART_DAYS:
        # Every day of the range gets its slot, so quiet days show as gaps, not as nothing.
        xs = [f.start + timedelta(days=i) for i in range(f.days)]
    column = {"model": "model", "agent": "agent"}[series]

    def href(day: date, name: str) -> str:
        narrow = {column: name} if name not in ("other", "") else {}
        return sessions_href(f, day=day, **narrow)

    return charts.stacked_bars(
        label=label,
        xs=xs,
        series=names,
        values=values,
        x_label=lambda d: d.strftime("%b %d"),
        href=href,
        series_label=_label,
    )


def _bucket_href(f: UsageFilter, bucket: analytics.Bucket) -> str:
    # The distribution counts the sessions last active in the range, by their whole cost: its
    # buckets link with `from`/`to` (last activity), not with the spent days.
    narrow = {"min_cost": str(bucket.low)} if bucket.low else {}
    if bucket.high is not None:
        narrow["max_cost"] = str(bucket.high)
    return _list_href(f, {**f.params(), "status": "all", **narrow, "sort": "-cost_usd"})


def cost_report(request: DashboardRequest, f: UsageFilter) -> dict[str, Any]:
    """Everything the costs page shows for a filter."""
    by_source = analytics.usage_by_source(f)
    totals = {name: sum((row[name] for row in by_source.values()), 0) for name in SUM_FIELDS}
    distribution = analytics.cost_distribution(f)
    for bucket in distribution:
        bucket.href = _bucket_href(f, bucket)
    statuses = budgets_status(f.project)
    flagged_users = {s.budget.target: s for s in statuses if s.budget.scope == "user" and s.level}
    by_model = _group_rows(f, "model")
    unpriced = _unpriced_events(f, "model")
    for row in by_model:
        row["unpriced_events"] = unpriced.get(row["model"], 0)
    by_user = _group_rows(f, "user")
    for row in by_user:
        row["budget"] = flagged_users.get(row["user"])
    trees = analytics.top_trees(f)
    for tree in trees:
        tree["href"] = reverse("dashboard:session_tree", args=[f.project.slug, tree["root_id"]])
        tree["reprice_href"] = (
            reverse("dashboard:reprice", args=[f.project.slug])
            + f"?session={tree['root_id']}&tree=1"
        )
    return {
        "f": f,
        "totals": totals,
        "totals_href": sessions_href(f),
        "by_source": by_source,
        "by_model": by_model,
        "by_agent": _group_rows(f, "agent"),
        "by_user": by_user,
        "by_day": _group_rows(f, "day"),
        "table_rows": TABLE_ROWS,
        "by_hour": _hour_rows(f) if f.days <= analytics.HOURLY_MAX_DAYS else None,
        "by_project": analytics.usage_by_project(projects_for_user(request.user), f.start, f.end),
        "top_sessions": analytics.top_sessions(f),
        "top_trees": trees,
        "distribution": distribution,
        "chart_model": _chart_by(f, "model", "Cost per day by model"),
        "chart_agent": _chart_by(f, "agent", "Cost per day by agent"),
        "chart_distribution": charts.histogram(
            label="Sessions by cost",
            buckets=distribution,
            href=lambda b: b.href,
        ),
        "budgets": [s for s in statuses if s.level],
        "csv_href": {b: costs_href(f, format="csv", breakdown=b) for b in _CSV_ROWS},
    }


def _unpriced_events(f: UsageFilter, group: str) -> dict[Any, int]:
    """Events whose usage has no known price (cost source "unknown"), by the group's key."""
    return {
        r[group]: r["events"]
        for r in analytics.usage_rollup(f, group_by=(group, "source"))
        if r["source"] == "unknown"
    }


def _csv_rows(request: DashboardRequest, f: UsageFilter, breakdown: str) -> tuple[list, list]:
    """(header, rows) of one breakdown, with the same figures as the page's table.

    A rollup's `cost_usd` leaves out usage without a known price, as the page's "+ unpriced"
    does; `unpriced_events` says how many events that is (0: the figure is whole)."""
    if breakdown == "source":  # its "unknown" row is the unpriced usage
        rows = analytics.usage_rollup(f, group_by=(breakdown,))
        return [breakdown, *CSV_COLUMNS], [
            [row[breakdown], *(row[c] for c in CSV_COLUMNS)] for row in rows
        ]
    if breakdown in ("model", "agent", "user", "day"):
        rows = analytics.usage_rollup(f, group_by=(breakdown,))
        unpriced = _unpriced_events(f, breakdown)
        return [breakdown, *CSV_COLUMNS, "unpriced_events"], [
            [row[breakdown], *(row[c] for c in CSV_COLUMNS), unpriced.get(row[breakdown], 0)]
            for row in rows
        ]
    if breakdown == "hour":
        rows = analytics.usage_hourly(f)
        return ["hour", *CSV_COLUMNS], [
            [row["hour"].isoformat(), *(row[c] for c in CSV_COLUMNS)] for row in rows
        ]
    if breakdown == "project":
        rows = analytics.usage_by_project(projects_for_user(request.user), f.start, f.end)
        return ["project", *CSV_COLUMNS], [
            [row["slug"], *(row[c] for c in CSV_COLUMNS)] for row in rows
        ]
    if breakdown == "sessions":
        top = analytics.top_sessions(f, limit=1000)
        # The review beside the cost (issue 18): comment count and a column per score.
        review = review_columns(f.project, top)
        head = ["session", "agent", "user", "total_tokens", "cost_usd", "events", "comments"]
        return [*head, *(f"score:{n}" for n in review.names)], [
            [
                s.external_id,
                s.agent_name,
                s.user_ref,
                s.total_tokens,
                s.cost_usd,
                s.event_count,
                review.comments.get(s.pk, 0),
                *(review.values.get(s.pk, {}).get(n, "") for n in review.names),
            ]
            for s in top
        ]
    return ["root_session", "sessions", "total_tokens", "cost_usd"], [
        [t["root"].external_id, t["sessions"], t["total_tokens"], t["cost_usd"]]
        for t in analytics.top_trees(f, limit=1000)
    ]


_CSV_ROWS = ("model", "agent", "user", "day", "source", "hour", "project", "sessions", "trees")


def _cell(value: Any) -> Any:
    if isinstance(value, Decimal):
        return money_text(value)  # every breakdown alike: "0.00125", never "1E-7" or "0E-10"
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        # Agent-written names starting with these would run as formulas in a spreadsheet (a
        # leading tab or carriage return hides a formula from a naive check: OWASP's list).
        return "'" + value
    return value


def _csv_response(request: DashboardRequest, f: UsageFilter, breakdown: str) -> HttpResponse:
    header, rows = _csv_rows(request, f, breakdown)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"{f.project.slug}-costs-{breakdown}-{f.start}-{f.end}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return response


@login_required
def costs(request: DashboardRequest, slug: str) -> HttpResponse:
    """Totals and breakdowns of tokens and cost for a range; ?format=csv&breakdown=<name>
    downloads one breakdown; an htmx request targeting #cost-report gets only the report."""
    project = project_for(request, slug)
    form = CostFilterForm(request.GET or None)
    if form.is_bound:
        form.is_valid()
    f = form.usage_filter(project)
    data = form.cleaned_data if form.is_bound else {}
    if data.get("format") == "csv":
        return _csv_response(request, f, data.get("breakdown") or "model")
    context: dict[str, Any] = {"form": form, **cost_report(request, f), "project": project}
    if htmx_target(request) != "cost-report":
        context = chrome(request, project, **context, nav="costs")
    return render_htmx(request, "dashboard/costs.html", context, partials=("cost-report",))


@login_required
def reprice(request: DashboardRequest, slug: str) -> HttpResponse:
    """What a session, its tree, or the costs page's filtered set would cost at today's prices
    or on another model. Nothing stored changes."""
    project = project_for(request, slug)
    form = CostFilterForm(request.GET or None)
    if form.is_bound:
        form.is_valid()
    f = form.usage_filter(project)
    target = request.GET.get("target", "").strip()[:255]
    session = None
    tree = request.GET.get("tree") == "1"
    if request.GET.get("session", "").isdigit():
        session = session_heading(project, int(request.GET["session"]))
        result = usage_reprice_what_if(
            project=project, usage=session_usage(session, tree=tree), target_model=target
        )
    else:
        result = usage_reprice_what_if_filtered(f, target_model=target)
    context: dict[str, Any] = {
        "project": project,
        "f": f,
        "form": form,
        "session": session,
        "tree": tree,
        "target": target,
        "result": result,
        "used_models": used_models(project, limit=200),
        "costs_href": costs_href(f),
    }
    if htmx_target(request) != "reprice-result":
        context = chrome(request, project, **context, nav="costs")
    return render_htmx(request, "dashboard/reprice.html", context, partials=("reprice-result",))
