"""Project settings (admins): API keys (the secret shown once), members, retention policy."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from sessions_app.errors import DomainError, InvalidInput
from sessions_app.models import Membership, Project
from sessions_app.selectors.projects import (
    project_api_key,
    project_api_keys,
    project_member,
    project_members,
    project_retention_runs,
    user_by_username,
)
from sessions_app.services.projects import (
    api_key_create,
    api_key_revoke,
    membership_remove,
    membership_set,
)
from sessions_app.services.retention import project_retention_set

from ..access import project_for
from ..forms import ApiKeyForm, MemberForm, RetentionForm
from ..http import DashboardRequest
from .common import htmx_target, region_of, render_region_page

PARTIALS = ("api-keys", "members", "retention")


def _render(
    request: DashboardRequest, project: Project, status: int = 200, **extra: Any
) -> HttpResponse:
    """The settings page, or the region an htmx request targets (only that region is built)."""
    target = region_of(request, PARTIALS)
    context: dict[str, Any] = {**extra}
    if target in (None, "api-keys"):
        context["keys"] = project_api_keys(project)
        context.setdefault("key_form", ApiKeyForm())
    if target in (None, "members"):
        context["members"] = project_members(project)
        context.setdefault("member_form", MemberForm())
        context["roles"] = Membership.Role.choices
    if target in (None, "retention"):
        context.setdefault(
            "retention_form",
            RetentionForm(
                initial={
                    "retention_days": project.retention_days,
                    "retention_action": project.retention_action,
                }
            ),
        )
        context["retention_runs"] = project_retention_runs(project, limit=10)
    return render_region_page(
        request,
        project,
        "dashboard/settings.html",
        context,
        partials=PARTIALS,
        nav="settings",
        status=status,
    )


@login_required
def settings_page(request: DashboardRequest, slug: str) -> HttpResponse:
    """The settings page (admins only)."""
    project = project_for(request, slug, min_role=Membership.Role.ADMIN)
    return _render(request, project)


@login_required
@require_POST
def api_key_new(request: DashboardRequest, slug: str) -> HttpResponse:
    """Create a key and show its token once, in the #api-keys region."""
    project = project_for(request, slug, min_role=Membership.Role.ADMIN)
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return _render(request, project, status=400, key_form=form)
    key, token = api_key_create(
        project=project, name=form.cleaned_data["name"], created_by=request.user
    )
    return _render(request, project, new_key=key, new_token=token)


@login_required
@require_POST
def api_key_revoke_view(request: DashboardRequest, slug: str, key_id: int) -> HttpResponse:
    """Revoke a key of the project."""
    project = project_for(request, slug, min_role=Membership.Role.ADMIN)
    key = project_api_key(project, key_id)
    api_key_revoke(key=key)
    if htmx_target(request) is None:
        return redirect("dashboard:settings", slug=project.slug)
    return _render(request, project)


@login_required
@require_POST
def member_set(request: DashboardRequest, slug: str) -> HttpResponse:
    """Add a user to the project or change their role."""
    project = project_for(request, slug, min_role=Membership.Role.ADMIN)
    form = MemberForm(request.POST)
    if form.is_valid():
        user = user_by_username(form.cleaned_data["username"])
        if user is None:
            form.add_error("username", "No user with this username.")
        else:
            try:
                membership_set(
                    user=user,
                    project=project,
                    role=form.cleaned_data["role"],
                    acting_user=request.user,
                )
            except DomainError as exc:
                form.add_error(exc.field or "role", exc.detail)
            else:
                if htmx_target(request) is None:
                    return redirect("dashboard:settings", slug=project.slug)
                return _render(request, project)
    return _render(request, project, status=400, member_form=form)


@login_required
@require_POST
def member_remove(request: DashboardRequest, slug: str, member_id: int) -> HttpResponse:
    """Take a member out of the project (never yourself, never the last admin)."""
    project = project_for(request, slug, min_role=Membership.Role.ADMIN)
    membership = project_member(project, member_id)
    try:
        membership_remove(membership=membership, acting_user=request.user)
    except DomainError as exc:
        return _render(request, project, status=400, member_error=exc.detail)
    if htmx_target(request) is None:
        return redirect("dashboard:settings", slug=project.slug)
    return _render(request, project, member_removed=membership.user.get_username())


@login_required
@require_POST
def retention_set(request: DashboardRequest, slug: str) -> HttpResponse:
    """Set the project's retention policy."""
    project = project_for(request, slug, min_role=Membership.Role.ADMIN)
    form = RetentionForm(request.POST)
    if form.is_valid():
        try:
            project_retention_set(
                project=project,
                days=form.cleaned_data["retention_days"],
                action=form.cleaned_data["retention_action"],
            )
        except InvalidInput as exc:
            form.add_error(None, str(exc))
        else:
            if htmx_target(request) is None:
                return redirect("dashboard:settings", slug=project.slug)
            return _render(request, project, retention_saved=True)
    return _render(request, project, status=400, retention_form=form)
