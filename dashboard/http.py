"""The request the dashboard's views receive, typed: what the middleware and the access layer
add to Django's HttpRequest."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from sessions_app.models import Project


class DashboardRequest(HttpRequest):
    """A dashboard request: a signed-in user (every view is `login_required`), django-htmx's
    `htmx`, and, once `access.project_for` has let it in, the project and the user's role."""

    user: User
    htmx: HtmxDetails
    project: Project
    role: str
