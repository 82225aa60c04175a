"""The sessions list: filters in the query string, sort by a metric, keyset pages."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import reverse

from sessions_app.list_query import SessionFilterForm
from sessions_app.selectors.budgets import budget_flags
from sessions_app.selectors.queues import queue_choices
from sessions_app.selectors.review import ReviewColumns, review_columns
from sessions_app.selectors.search import SEARCH_HITS
from sessions_app.selectors.session_list import (
    SESSION_SORTS,
    SessionFilters,
    session_filter_choices,
    session_list_page,
)

from ..access import project_for
from ..htmx import render_htmx
from ..http import DashboardRequest
from ..sharing_forms import list_query
from .bulk import actions_for
from .common import chrome, htmx_target
from .saved_views import picker_context

PAGE_SIZE = 50
# The columns of the list's table in every view (sessions.html): the row's checkbox, session,
# agent, user, started, last activity, duration, events, tokens, cost, status, children, review
# and comments. A spent range adds Spent, and each score config a column.
FIXED_COLUMNS = 14


def column_count(filters: SessionFilters, review: ReviewColumns) -> int:
    """How many columns the list's table shows (what its empty row spans)."""
    return FIXED_COLUMNS + (1 if filters.spent else 0) + len(review.names)


@login_required
def session_list(request: DashboardRequest, slug: str) -> HttpResponse:
    """The project's sessions; an htmx request targeting #session-rows gets only the table."""
    project = project_for(request, slug)
    form = SessionFilterForm(request.GET or None)
    if form.is_bound:
        form.is_valid()
    filters = form.filters()
    cursor = form.cleaned_data.get("cursor", "") if form.is_bound else ""
    before = form.cleaned_data.get("before", "") if form.is_bound else ""
    listing = session_list_page(project, filters, cursor=cursor, before=before, limit=PAGE_SIZE)
    page = listing.page
    bulk_actions = actions_for(request)
    bulk_names = {a.name for a in bulk_actions}
    # Comment counts and score values per row (issue 18), attached to the rows.
    review = review_columns(project, page.items)
    context: dict[str, Any] = {
        # Who is over or near a budget right now: the project, each row's end user and session.
        "project_budget": budget_flags(project, page.items),
        "review": review,
        "column_count": column_count(filters, review),
        "form": form,
        "filters": filters,
        "page": page,
        "listing": listing,
        "search_hits": SEARCH_HITS,
        "sorts": SESSION_SORTS,
        "is_first_page": not (cursor or page.prev_cursor),
        # Row links are this prefix plus the session id: one reverse() instead of fifty.
        "list_url": reverse("dashboard:session_list", args=[project.slug]),
        # The row checkboxes and the bulk bar (dashboard/bulk.py): the role's actions.
        "bulk_actions": bulk_actions,
    }
    if htmx_target(request) == "session-rows":
        context["project"] = project
    else:
        context = chrome(
            request,
            project,
            **context,
            **picker_context(request, project, list_query(request.GET)),
            choices=session_filter_choices(project),
            # The bulk bar's queue picker, when the role may add to a queue (one query).
            bulk_queues=queue_choices(project) if "queue" in bulk_names else [],
            nav="sessions",
        )
    return render_htmx(request, "dashboard/sessions.html", context, partials=("session-rows",))
