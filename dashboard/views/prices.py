"""The price table: prices in force for the models the project uses, its overrides with their
effective dates, litellm's bundled table; editors add overrides and re-price stored usage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from sessions_app import llm
from sessions_app.errors import InvalidInput
from sessions_app.models import Membership, ModelPrice, Project
from sessions_app.pricing import PriceBook
from sessions_app.selectors.costs import used_models
from sessions_app.selectors.prices import price_overrides_by_pattern, project_price_override
from sessions_app.selectors.whatif import usage_reprice_scope
from sessions_app.services.repricing import (
    model_price_create,
    model_price_delete,
    usage_reprice_request,
)

from ..access import project_for
from ..cost_forms import ModelPriceForm, RepriceForm
from ..http import DashboardRequest
from .common import htmx_target, region_of, render_region_page

PARTIALS = ("price-overrides", "litellm-table", "reprice-stored")
TABLE_ROWS = 100


@dataclass(frozen=True)
class OverrideRow:
    """An override with its state now: "in force", "scheduled" or "superseded"."""

    price: ModelPrice
    state: str


def _overrides(project: Project, now: datetime) -> list[OverrideRow]:
    """The project's overrides by pattern, newest first, each with its state now."""
    prices = price_overrides_by_pattern(project)
    rows, in_force = [], set()
    for price in prices:
        if price.effective_from > now:
            state = "scheduled"
        elif price.pattern in in_force:
            state = "superseded"
        else:
            state = "in force"
            in_force.add(price.pattern)
        rows.append(OverrideRow(price, state))
    return rows


def _in_force(
    project: Project, overrides: list[OverrideRow], now: datetime
) -> list[dict[str, Any]]:
    """The price in force now for each model the project has used, and where it comes from."""
    newest_first = sorted(
        (r.price for r in overrides), key=lambda o: (-o.effective_from.timestamp(), -o.pk)
    )
    book = PriceBook(project, overrides=newest_first)
    models = used_models(project, limit=500)
    rows = []
    for model in models:
        price = book.price(model, now)
        rows.append({"model": model, "prices": price.prices, "origin": price.origin})
    return rows


def _render(
    request: DashboardRequest, project: Project, status: int = 200, **extra: Any
) -> HttpResponse:
    """The price page, or the region an htmx request targets (only that region is built)."""
    now = datetime.now(UTC)
    target = region_of(request, PARTIALS)
    q = request.GET.get("q", "").strip()[:100]
    context: dict[str, Any] = {"q": q, **extra}
    if target in (None, "price-overrides", "reprice-stored"):
        # An override dated today prices none of the usage already stored without a price:
        # the form offers the day that usage starts, and both panels say what it covers.
        context["unpriced"] = usage_reprice_scope(project=project)
    if target in (None, "price-overrides"):
        overrides = _overrides(project, now)
        context["overrides"] = overrides
        since = context["unpriced"]["unpriced_since"]
        initial = {"effective_from": since.date()} if since else {}
        context.setdefault("price_form", ModelPriceForm(initial=initial))
        if target is None:
            context["in_force"] = _in_force(project, overrides, now)
    if target in (None, "litellm-table"):
        matches = [r for r in llm.table_list() if q.lower() in r.model.lower()] if q else []
        context["table"] = matches[:TABLE_ROWS]
        context["table_more"] = max(len(matches) - TABLE_ROWS, 0)
        context["table_size"] = len(llm.table_list())
    if target in (None, "reprice-stored"):
        context.setdefault("reprice_form", RepriceForm())
    return render_region_page(
        request,
        project,
        "dashboard/prices.html",
        context,
        partials=PARTIALS,
        nav="costs",
        status=status,
    )


@login_required
def prices(request: DashboardRequest, slug: str) -> HttpResponse:
    """The price table page; ?q= searches litellm's table."""
    project = project_for(request, slug)
    return _render(request, project)


@login_required
@require_POST
def price_new(request: DashboardRequest, slug: str) -> HttpResponse:
    """Add a price override (editors)."""
    project = project_for(request, slug, min_role=Membership.Role.EDITOR)
    form = ModelPriceForm(request.POST)
    if form.is_valid():
        try:
            model_price_create(project=project, created_by=request.user, **form.per_token())
        except InvalidInput as exc:
            form.add_error(None, exc.detail)
        else:
            if htmx_target(request) is None:
                return redirect("dashboard:prices", slug=project.slug)
            return _render(request, project, price_saved=True)
    return _render(request, project, status=400, price_form=form)


@login_required
@require_POST
def reprice_stored(request: DashboardRequest, slug: str) -> HttpResponse:
    """Queue the re-pricing of stored usage with the prices now on record (editors)."""
    project = project_for(request, slug, min_role=Membership.Role.EDITOR)
    form = RepriceForm(request.POST)
    if not form.is_valid():
        return _render(request, project, status=400, reprice_form=form)
    since = form.since_at()
    model = form.cleaned_data.get("model", "").strip()
    scope = usage_reprice_scope(project=project, since=since, model=model)
    # Queued for a worker (None), or, without a broker, done in this request: say what it did.
    done = usage_reprice_request(project=project, since=since, model=model)
    if htmx_target(request) is None:
        return redirect("dashboard:prices", slug=project.slug)
    return _render(
        request,
        project,
        reprice_queued=done is None,
        reprice_scope=scope,
        reprice_done=done,
        # Signed, plain notation: "+0.00102", never "1.02E-3".
        reprice_delta=f"{done['delta_usd'].normalize():+f}" if done else "",
        reprice_since=since,
        reprice_model=model,
    )


@login_required
@require_POST
def price_remove(request: DashboardRequest, slug: str, price_id: int) -> HttpResponse:
    """Delete a price override (editors)."""
    project = project_for(request, slug, min_role=Membership.Role.EDITOR)
    model_price_delete(price=project_price_override(project, price_id))
    if htmx_target(request) is None:
        return redirect("dashboard:prices", slug=project.slug)
    return _render(request, project)
