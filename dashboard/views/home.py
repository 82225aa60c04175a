"""The front door: `/` sends members to their last-used (or first) project's sessions."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render

from sessions_app.selectors.projects import project_to_open

from ..http import DashboardRequest
from .common import LAST_PROJECT_KEY


@login_required
def home(request: DashboardRequest) -> HttpResponse:
    """Redirect to the last-used project's session list, or explain there is none."""
    project = project_to_open(request.user, request.session.get(LAST_PROJECT_KEY))
    if project is None:
        return render(request, "dashboard/no_project.html", status=200)
    return redirect("dashboard:session_list", slug=project.slug)


@login_required
def project_home(request: DashboardRequest, slug: str) -> HttpResponse:
    """A project's address goes to its session list (access is checked there)."""
    return redirect("dashboard:session_list", slug=slug)
