"""Project access for dashboard views: non-members get 404, too-low roles get 403."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from sessions_app.models import Membership, Project
from sessions_app.selectors.projects import project_by_slug, role_of

from .http import DashboardRequest

RANK: dict[str, int] = {
    Membership.Role.VIEWER: 0,
    Membership.Role.EDITOR: 1,
    Membership.Role.ADMIN: 2,
}


def project_for(
    request: DashboardRequest, slug: str, *, min_role: str = Membership.Role.VIEWER
) -> Project:
    """The project named by `slug` if the user may see it; sets `request.project` and
    `request.role`. A project the user is not a member of does not exist for them (404)."""
    project = project_by_slug(slug)
    role = role_of(request.user, project) if project and request.user.is_authenticated else None
    if project is None or role is None:
        raise Http404("No such project.")
    if RANK[role] < RANK[min_role]:
        raise PermissionDenied(f"This needs the {min_role} role in {project.name}.")
    request.project, request.role = project, role
    return project


def can(request: DashboardRequest, role: str) -> bool:
    """Whether the current user's role in `request.project` is at least `role`."""
    return RANK.get(getattr(request, "role", ""), -1) >= RANK[role]
