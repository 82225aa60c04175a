"""Bulk actions on the sessions list: the rows picked, or every session matching the list's
filters, marked, archived or exported (the actions are listed in dashboard/bulk.py)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from sessions_app.errors import DomainError
from sessions_app.list_query import SessionFilterForm
from sessions_app.models import Project
from sessions_app.selectors.bulk import MAX_PICKED, sessions_selected

from ..access import can, project_for
from ..bulk import ACTIONS, BulkAction
from ..http import DashboardRequest
from ..sharing_forms import list_query

# The sessions list reloads its rows when it hears this (see sessions.html).
CHANGED_EVENT = "sessions-changed"


def actions_for(request: DashboardRequest) -> list[BulkAction]:
    """The bulk actions the user's role allows (no query: project_for has set the role)."""
    return [a for a in ACTIONS.values() if can(request, a.min_role)]


def _status(
    request: DashboardRequest, project: Project, message: str, *, status: int, changed: bool
) -> HttpResponse:
    context = {"project": project, "bulk_message": message, "bulk_error": status >= 400}
    response = TemplateResponse(request, "dashboard/_bulk_status.html", context, status=status)
    if changed:
        response["HX-Trigger"] = CHANGED_EVENT
    return response


@login_required
@require_POST
def sessions_bulk(request: DashboardRequest, slug: str) -> HttpResponseBase:
    """Apply one action to the picked rows (`ids`) or, with `all=1`, to every session the
    list's filters (`query`, the list's query string) match."""
    project = project_for(request, slug)
    query = list_query(QueryDict(request.POST.get("query", "")))
    back = f"{reverse('dashboard:session_list', args=[slug])}?{query}"
    action = ACTIONS.get(request.POST.get("action", ""))
    if action is None:
        return _status(request, project, "Pick an action.", status=400, changed=False)
    if not can(request, action.min_role):
        return _status(
            request,
            project,
            f"{action.label} needs the {action.min_role} role.",
            status=403,
            changed=False,
        )
    if request.POST.get("all") == "1":
        form = SessionFilterForm(QueryDict(query))
        form.is_valid()
        sessions = sessions_selected(project, filters=form.filters())
    else:
        raw = request.POST.getlist("ids")
        ids = [int(i) for i in raw if i.isascii() and i.isdigit() and len(i) < 12]
        if not ids:
            return _status(request, project, "Select sessions first.", status=400, changed=False)
        if len(ids) > MAX_PICKED:
            return _status(
                request,
                project,
                f"Pick at most {MAX_PICKED} rows, or use all matching.",
                status=400,
                changed=False,
            )
        sessions = sessions_selected(project, ids=ids)
    try:
        outcome = action.run(request, sessions)
    except DomainError as exc:
        return _status(request, project, exc.detail, status=400, changed=False)
    if isinstance(outcome, HttpResponseBase):
        return outcome
    if not request.htmx:
        return redirect(back)
    return _status(request, project, outcome, status=200, changed=True)
