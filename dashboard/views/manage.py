"""Managing a session: review marks, archive, delete (with confirmation) and exports."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from sessions_app.errors import InvalidInput
from sessions_app.exports import FORMATS, export_json, export_jsonl, export_markdown
from sessions_app.models import AgentSession, Membership
from sessions_app.selectors.sessions import session_for_page, session_subtree_size
from sessions_app.services.reviews import session_archive_set, session_review_set
from sessions_app.services.sessions import session_delete

from ..access import project_for
from ..forms import ReviewForm
from ..http import DashboardRequest
from .common import chrome, htmx_target, optional_url

EXPORTERS = {"json": export_json, "jsonl": export_jsonl, "md": export_markdown}
# The event a saved review mark sends to the page (session_review.html's panel listens for it).
REVIEW_CHANGED = "review-changed"


def _back_to_session(request: DashboardRequest, session: AgentSession) -> HttpResponse:
    return redirect("dashboard:session_detail", slug=request.project.slug, pk=session.pk)


@login_required
@require_POST
def session_review(request: DashboardRequest, slug: str, pk: int) -> HttpResponse:
    """Set the review mark and note; htmx gets the #review region back."""
    project = project_for(request, slug, min_role=Membership.Role.EDITOR)
    session = session_for_page(project, pk)
    form = ReviewForm(request.POST)
    status = 200
    if form.is_valid():
        try:
            session_review_set(
                session=session,
                status=form.cleaned_data["review_status"],
                note=form.cleaned_data["review_note"],
                user=request.user,
            )
        except InvalidInput as exc:
            form.add_error(None, str(exc))
            status = 400
    else:
        status = 400
    if htmx_target(request) != "review" and status == 200:
        return _back_to_session(request, session)
    context = {
        "project": project,
        "session": session,
        "review_form": form,
        "saved": status == 200,
        "can_edit": True,
    }
    response = TemplateResponse(request, "dashboard/session.html#review", context, status=status)
    if status == 200:
        response["HX-Trigger"] = REVIEW_CHANGED  # the review panel's history reloads
    return response


@login_required
@require_POST
def session_archive(request: DashboardRequest, slug: str, pk: int) -> HttpResponse:
    """Archive the session, or restore it with archive=0; htmx gets #session-actions back."""
    project = project_for(request, slug, min_role=Membership.Role.EDITOR)
    session = session_for_page(project, pk)
    session_archive_set(session=session, archived=request.POST.get("archive", "1") != "0")
    if htmx_target(request) != "session-actions":
        return _back_to_session(request, session)
    context = {
        "project": project,
        "session": session,
        "can_edit": True,
        # The same links as the page's, and the header's status badge swapped out of band.
        "compare_url": optional_url("dashboard:session_compare", slug, pk),
        "status_oob": True,
    }
    return TemplateResponse(request, "dashboard/session.html#session-actions", context)


@login_required
@require_http_methods(["GET", "POST"])
def session_delete_view(request: DashboardRequest, slug: str, pk: int) -> HttpResponse:
    """GET: what would be deleted, and a confirmation form. POST: delete the subtree."""
    project = project_for(request, slug, min_role=Membership.Role.EDITOR)
    session = session_for_page(project, pk)
    if request.method == "POST":
        if request.POST.get("confirm") != session.external_id:
            context = chrome(request, project, session=session, error=True, impact=_impact(session))
            return TemplateResponse(request, "dashboard/delete.html", context, status=400)
        parent_pk = session.parent_id
        session_delete(session=session)
        target = (
            reverse("dashboard:session_detail", args=[project.slug, parent_pk])
            if parent_pk
            else reverse("dashboard:session_list", args=[project.slug])
        )
        if request.htmx:
            return HttpResponseClientRedirect(target, status=204)
        return redirect(target)
    context = chrome(request, project, session=session, impact=_impact(session))
    return TemplateResponse(request, "dashboard/delete.html", context)


def _impact(session: AgentSession) -> dict:
    return session_subtree_size(session)


@login_required
def session_export(request: DashboardRequest, slug: str, pk: int, fmt: str) -> HttpResponseBase:
    """Download the session as JSON, JSON Lines or Markdown (streamed)."""
    project = project_for(request, slug)
    session = session_for_page(project, pk)
    if fmt not in FORMATS:
        return HttpResponse(
            f"Unknown export format {fmt!r}: use json, jsonl or md.",
            status=400,
            content_type="text/plain",
        )
    content_type, ext = FORMATS[fmt]
    response = StreamingHttpResponse(EXPORTERS[fmt](session), content_type=content_type)
    safe_name = "".join(c if c.isalnum() or c in "-_." else "_" for c in session.external_id)
    response["Content-Disposition"] = f'attachment; filename="{safe_name[:100]}.{ext}"'
    return response
