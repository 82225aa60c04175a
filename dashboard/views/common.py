"""Helpers shared by the dashboard views: the project context every page's chrome needs."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from sessions_app.models import Membership, Project
from sessions_app.selectors import projects_for_user

from ..access import can

LAST_PROJECT_KEY = "dashboard_last_project"


def chrome(request: HttpRequest, project: Project, /, **extra: Any) -> dict[str, Any]:
    """Context for base.html: the project, the switcher's projects and what the role allows."""
    if request.session.get(LAST_PROJECT_KEY) != project.slug:
        request.session[LAST_PROJECT_KEY] = project.slug
    return {
        "project": project,
        "projects": projects_for_user(request.user).only("slug", "name"),
        "role": request.role,
        "can_edit": can(request, Membership.Role.EDITOR),
        "can_admin": can(request, Membership.Role.ADMIN),
        **extra,
    }


def optional_url(name: str, *args: Any) -> str | None:
    """The URL of a route another area may not have added yet, or None."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def htmx_target(request: HttpRequest) -> str | None:
    """The id of the element an htmx request targets (None for whole-page requests)."""
    htmx = getattr(request, "htmx", None)
    if not htmx or htmx.boosted or htmx.history_restore_request:
        return None
    return htmx.target
