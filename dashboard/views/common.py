"""Helpers shared by the dashboard views: the project context every page's chrome needs."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.urls import NoReverseMatch, reverse

from sessions_app.models import Membership, Project
from sessions_app.selectors.projects import projects_for_switcher

from ..access import can
from ..htmx import htmx_target, render_htmx
from ..http import DashboardRequest

LAST_PROJECT_KEY = "dashboard_last_project"


def chrome(request: DashboardRequest, project: Project, /, **extra: Any) -> dict[str, Any]:
    """Context for base.html: the project, the switcher's projects and what the role allows."""
    if request.session.get(LAST_PROJECT_KEY) != project.slug:
        request.session[LAST_PROJECT_KEY] = project.slug
    return {
        "project": project,
        "projects": projects_for_switcher(request.user),
        **role_flags(request),
        **extra,
    }


def role_flags(request: DashboardRequest) -> dict[str, Any]:
    """What the user's role allows, for templates (no query: project_for has set the role)."""
    return {
        "role": request.role,
        "can_edit": can(request, Membership.Role.EDITOR),
        "can_admin": can(request, Membership.Role.ADMIN),
    }


def region_of(request: DashboardRequest, partials: tuple[str, ...]) -> str | None:
    """The region of this page an htmx request targets, or None when it wants the whole page."""
    target = htmx_target(request)
    return target if target in partials else None


def render_region_page(
    request: DashboardRequest,
    project: Project,
    template: str,
    context: dict[str, Any],
    *,
    partials: tuple[str, ...],
    nav: str,
    status: int = 200,
) -> HttpResponse:
    """A page with refreshable regions: the region an htmx request targets, or the whole page
    with its chrome. A region gets the role flags too, since its buttons depend on them."""
    if region_of(request, partials):
        context = {"project": project, **role_flags(request), **context}
    else:
        context = chrome(request, project, **context, nav=nav)
    return render_htmx(request, template, context, partials=partials, status=status)


def optional_url(name: str, *args: Any) -> str | None:
    """The URL of a route another area may not have added yet, or None."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None
