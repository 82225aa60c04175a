"""Large values loaded when someone opens them: a session's state, a long event content."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from sessions_app.selectors.payloads import event_content, session_state

from ..access import project_for
from ..http import DashboardRequest


@login_required
def session_state_view(request: DashboardRequest, slug: str, pk: int) -> HttpResponse:
    """A session's `state` in the JSON viewer (the session page loads it on open)."""
    project = project_for(request, slug)
    session, state = session_state(project, pk)
    context = {"project": project, "session": session, "state": state}
    return render(request, "dashboard/session_state.html", context)


@login_required
def event_content_view(request: DashboardRequest, slug: str, pk: int, seq: int) -> HttpResponse:
    """A long event content (tool arguments or result) in the JSON viewer, or as text."""
    project = project_for(request, slug)
    event = event_content(project, pk, seq)
    return render(request, "dashboard/event_content.html", {"project": project, "event": event})
