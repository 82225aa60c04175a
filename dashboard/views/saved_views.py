"""Saved views of the sessions list: save the current filters and sort under a name, delete."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from sessions_app.errors import DomainError
from sessions_app.models import Membership, Project, SavedView
from sessions_app.selectors.sharing import saved_view_for, saved_views_for
from sessions_app.services.sharing import saved_view_create, saved_view_delete

from ..access import can, project_for
from ..http import DashboardRequest
from ..sharing_forms import SavedViewForm, list_query
from .common import htmx_target

REGION = "saved-views"


def picker_context(request: DashboardRequest, project: Project, current: str) -> dict[str, Any]:
    """What the list page's saved-views picker shows (one query)."""
    views = saved_views_for(project, request.user)
    return {
        "my_views": [v for v in views if v.owner_id == request.user.pk],
        "shared_views": [v for v in views if v.shared and v.owner_id != request.user.pk],
        "views_count": len(views),
        "current_query": current,
        "can_share_views": can(request, Membership.Role.EDITOR),
    }


def may_delete(request: DashboardRequest, view: SavedView) -> bool:
    """A view is deleted by its owner; a shared one by an admin too."""
    return view.owner_id == request.user.pk or (view.shared and can(request, Membership.Role.ADMIN))


def _picker(
    request: DashboardRequest,
    project: Project,
    current: str,
    *,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    context = {
        "project": project,
        # Answering a change made in the picker: it stays open.
        "picker_open": True,
        "list_url": reverse("dashboard:session_list", args=[project.slug]),
        "can_admin": can(request, Membership.Role.ADMIN),
        **picker_context(request, project, current),
        **extra,
    }
    return TemplateResponse(request, "dashboard/_saved_views.html", context, status=status)


@login_required
@require_POST
def saved_view_new(request: DashboardRequest, slug: str) -> HttpResponse:
    """Save the list's current filters under a name. Anyone in the project may keep a personal
    view (it changes nothing others see); sharing one with the project needs an editor."""
    project = project_for(request, slug)
    form = SavedViewForm(request.POST)
    query = list_query(QueryDict(request.POST.get("query", "")))
    error = ""
    if form.is_valid():
        shared = form.cleaned_data["shared"]
        if shared and not can(request, Membership.Role.EDITOR):
            error = "Sharing a view with the project needs the editor role."
        else:
            try:
                saved_view_create(
                    project=project,
                    owner=request.user,
                    name=form.cleaned_data["name"],
                    query=query,
                    shared=shared,
                )
            except DomainError as exc:
                error = exc.detail
    else:
        error = " ".join(str(e) for errors in form.errors.values() for e in errors)
    status = 400 if error else 200
    if htmx_target(request) == REGION:
        return _picker(request, project, query, status=status, view_error=error)
    if error:
        return HttpResponse(error, status=status, content_type="text/plain")
    return redirect(f"{reverse('dashboard:session_list', args=[slug])}?{query}")


@login_required
@require_POST
def saved_view_remove(request: DashboardRequest, slug: str, view_id: int) -> HttpResponse:
    """Delete a saved view: the owner's own, or a shared one by an admin."""
    project = project_for(request, slug)
    view = saved_view_for(project, view_id, request.user)
    if not may_delete(request, view):
        return HttpResponse("Only its owner or an admin deletes this view.", status=403)
    saved_view_delete(view=view)
    current = list_query(QueryDict(request.POST.get("query", "")))
    if htmx_target(request) == REGION:
        return _picker(request, project, current)
    return redirect(f"{reverse('dashboard:session_list', args=[slug])}?{current}")
