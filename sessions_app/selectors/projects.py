"""Reads of projects, their members, API keys and retention runs, and of users."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from ..models import ApiKey, Membership, Project, RetentionRun


def projects_for_user(user: User) -> QuerySet[Project]:
    """Projects a user may see: all for a superuser, else those they are a member of."""
    if user.is_superuser:
        return Project.objects.all()
    return Project.objects.filter(memberships__user=user)


def projects_for_switcher(user: User) -> QuerySet[Project]:
    """The user's projects with the names the project switcher shows (read when rendered)."""
    return projects_for_user(user).only("slug", "name")


def project_to_open(user: User, last_slug: str | None) -> Project | None:
    """The project the front door opens: the one used last if the user still sees it, else
    their first, else None."""
    projects = projects_for_user(user)
    return (projects.filter(slug=last_slug).first() if last_slug else None) or projects.first()


def project_by_slug(slug: str) -> Project | None:
    """The project with this slug, or None (access is the caller's to check)."""
    return Project.objects.filter(slug=slug).first()


def role_of(user: User, project: Project) -> str | None:
    """The user's role in a project (superusers are admins everywhere), or None."""
    if user.is_superuser:
        return Membership.Role.ADMIN
    return (
        Membership.objects.filter(user=user, project=project).values_list("role", flat=True).first()
    )


def project_members(project: Project) -> list[Membership]:
    """The project's memberships with their users, by username."""
    return list(
        Membership.objects.filter(project=project).select_related("user").order_by("user__username")
    )


def project_member(project: Project, pk: int) -> Membership:
    """One membership of the project with its user, or 404."""
    return get_object_or_404(Membership.objects.select_related("user"), project=project, pk=pk)


def user_by_username(username: str) -> User | None:
    """The user with this username, or None."""
    return get_user_model().objects.filter(username=username).first()


def project_api_keys(project: Project) -> list[ApiKey]:
    """The project's API keys (revoked ones too) with who created them."""
    return list(ApiKey.objects.filter(project=project).select_related("created_by"))


def project_api_key(project: Project, pk: int) -> ApiKey:
    """One API key of the project, or 404."""
    return get_object_or_404(ApiKey, project=project, pk=pk)


def project_retention_runs(project: Project, *, limit: int = 10) -> list[RetentionRun]:
    """The project's latest retention runs (the model's ordering: newest first)."""
    return list(RetentionRun.objects.filter(project=project)[:limit])
