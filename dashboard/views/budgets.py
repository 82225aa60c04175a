"""Budgets: each budget's spend in its current period, the alerts recorded, and (editors)
adding and removing budgets."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from sessions_app.errors import DomainError
from sessions_app.models import Membership, Project
from sessions_app.selectors.budgets import budget_alerts_recent, budgets_status, project_budget
from sessions_app.services.budgets import (
    budget_create,
    budget_delete,
    project_alert_webhook_set,
)

from ..access import project_for
from ..cost_forms import BudgetForm, WebhookForm
from ..http import DashboardRequest
from .common import htmx_target, render_region_page

ALERTS_SHOWN = 50
PARTIALS = ("budgets-region",)


def _render(
    request: DashboardRequest, project: Project, status: int = 200, **extra: Any
) -> HttpResponse:
    """The budgets page, or its region for an htmx request."""
    context: dict[str, Any] = {
        "statuses": budgets_status(project),
        "alerts": budget_alerts_recent(project, limit=ALERTS_SHOWN),
        "budget_form": BudgetForm(),
        "webhook_form": WebhookForm(initial={"url": project.alert_webhook_url}),
        **extra,
    }
    return render_region_page(
        request,
        project,
        "dashboard/budgets.html",
        context,
        partials=PARTIALS,
        nav="costs",
        status=status,
    )


@login_required
def budgets(request: DashboardRequest, slug: str) -> HttpResponse:
    """Budgets with their current spend and level, and the alerts recorded."""
    project = project_for(request, slug)
    return _render(request, project)


@login_required
@require_POST
def budget_new(request: DashboardRequest, slug: str) -> HttpResponse:
    """Add a budget (editors)."""
    project = project_for(request, slug, min_role=Membership.Role.EDITOR)
    form = BudgetForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            budget_create(
                project=project,
                scope=d["scope"],
                target=d.get("target", ""),
                period=d["period"],
                amount_usd=d["amount_usd"],
                warn_ratio=Decimal(d["warn_percent"]) / 100,
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.detail)
        else:
            if htmx_target(request) is None:
                return redirect("dashboard:budgets", slug=project.slug)
            return _render(request, project)
    return _render(request, project, status=400, budget_form=form)


@login_required
@require_POST
def budget_remove(request: DashboardRequest, slug: str, budget_id: int) -> HttpResponse:
    """Delete a budget and its alerts (editors)."""
    project = project_for(request, slug, min_role=Membership.Role.EDITOR)
    budget_delete(budget=project_budget(project, budget_id))
    if htmx_target(request) is None:
        return redirect("dashboard:budgets", slug=project.slug)
    return _render(request, project)


@login_required
@require_POST
def alert_webhook_set(request: DashboardRequest, slug: str) -> HttpResponse:
    """Set or clear the project's budget alert webhook (admins: it sends data out)."""
    project = project_for(request, slug, min_role=Membership.Role.ADMIN)
    form = WebhookForm(request.POST)
    if form.is_valid():
        try:
            project_alert_webhook_set(project=project, url=form.cleaned_data["url"])
        except DomainError as exc:
            form.add_error("url", exc.detail)
        else:
            if htmx_target(request) is None:
                return redirect("dashboard:budgets", slug=project.slug)
            return _render(request, project, webhook_saved=True)
    return _render(request, project, status=400, webhook_form=form)
