"""Share links: made and revoked by editors and admins, listed in settings; and the shared page
itself, opened without an account, showing one session's transcript and nothing else."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
    require_safe,
)

from sessions_app.errors import DomainError
from sessions_app.models import AgentSession, Membership, Project
from sessions_app.selectors.sessions import session_for_page
from sessions_app.selectors.sharing import (
    share_link_by_token,
    share_link_of_project,
    share_links_of_project,
    share_links_of_session,
    shared_transcript_page,
)
from sessions_app.services.sharing import share_link_create, share_link_opened, share_link_revoke

from ..access import project_for
from ..http import DashboardRequest
from ..sharing_forms import ShareLinkForm
from .common import render_region_page

PARTIALS = ("share-links",)
PAGE_SIZE = 100
MAX_SEQ = 2**31 - 1


def _render(
    request: DashboardRequest,
    project: Project,
    session: AgentSession | None,
    *,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    links = share_links_of_session(session) if session else share_links_of_project(project)
    context: dict[str, Any] = {
        "session": session,
        "links": links,
        "now": timezone.now(),
        "form": extra.pop("form", None) or ShareLinkForm(),
        **extra,
    }
    return render_region_page(
        request,
        project,
        "dashboard/share_links.html",
        context,
        partials=PARTIALS,
        nav="settings" if session is None else "sessions",
        status=status,
    )


@login_required
@require_GET
def share_links(request: DashboardRequest, slug: str) -> HttpResponse:
    """Every share link of the project, with its state and openings (editors and admins)."""
    project = project_for(request, slug, min_role=Membership.Role.EDITOR)
    return _render(request, project, None)


@login_required
@require_http_methods(["GET", "POST"])
def session_share(request: DashboardRequest, slug: str, pk: int) -> HttpResponse:
    """GET: a session's share links and the form for a new one. POST: make one; its address is
    shown in the answer only (just its hash is stored)."""
    project = project_for(request, slug, min_role=Membership.Role.EDITOR)
    session = session_for_page(project, pk)
    if request.method == "GET":
        return _render(request, project, session)
    form = ShareLinkForm(request.POST)
    if not form.is_valid():
        return _render(request, project, session, form=form, status=400)
    try:
        link, token = share_link_create(
            session=session,
            user=request.user,
            days=form.cleaned_data["days"],
            note=form.cleaned_data["note"],
        )
    except DomainError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.detail)
        return _render(request, project, session, form=form, status=400)
    new_url = request.build_absolute_uri(reverse("dashboard:shared_session", args=[token]))
    return _render(request, project, session, new_url=new_url, new_link=link, status=201)


@login_required
@require_POST
def share_link_revoke_view(request: DashboardRequest, slug: str, link_id: int) -> HttpResponse:
    """Revoke a link; the region it was listed in comes back (the session's or the project's)."""
    project = project_for(request, slug, min_role=Membership.Role.EDITOR)
    link = share_link_of_project(project, link_id)
    share_link_revoke(link=link)
    session = link.session if request.POST.get("scope") == "session" else None
    if request.htmx:
        return _render(request, project, session)
    if session is not None:
        return redirect("dashboard:session_share", slug=slug, pk=session.pk)
    return redirect("dashboard:share_links", slug=slug)


def _after_seq(request: DashboardRequest) -> int:
    raw = request.GET.get("after_seq", "")
    if raw.isascii() and raw.isdigit() and int(raw) <= MAX_SEQ:
        return int(raw)
    return 0


@never_cache
@require_safe
def shared_session(request: DashboardRequest, token: str) -> HttpResponse:
    """The page a share link opens, signed in or not: the transcript of its one session, marked
    as shared. An unknown token is a 404; a revoked or expired one a 410. Every opening of the
    first page counts (the transcript's later pages are the same opening). HEAD answers as GET
    without the body, and is no opening: link previews and checkers probe with it."""
    link = share_link_by_token(token)
    if link is None:
        return _shared_response(request, "dashboard/shared.html", {"gone": "unknown"}, 404)
    state = link.state
    if state != "active":
        return _shared_response(request, "dashboard/shared.html", {"gone": state}, 410)
    after_seq = _after_seq(request)
    if not after_seq and request.method == "GET":
        share_link_opened(link=link)
    events, has_more = shared_transcript_page(link.session, after_seq=after_seq, limit=PAGE_SIZE)
    context = {
        "link": link,
        "session": link.session,
        "events": events,
        "has_more": has_more,
        "after_seq": after_seq,
        "last_seq": events[-1].seq if events else after_seq,
        "share_url": reverse("dashboard:shared_session", args=[token]),
    }
    template = "dashboard/shared.html"
    if request.htmx and request.htmx.target == "shared-more":
        template += "#shared-more"
    return _shared_response(request, template, context, 200)


def _shared_response(
    request: DashboardRequest, template: str, context: dict[str, Any], status: int
) -> HttpResponse:
    response = TemplateResponse(request, template, context, status=status)
    # The token is in the address: no Referer carries it to a site linked from a message, and
    # search engines do not index what someone shared.
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    if request.method == "HEAD":
        # The pages' chain, unlike the API's (config.handlers.HeadAsGetMiddleware), sends what
        # a view returns: GET's headers, Content-Length included, and no body.
        response.render()
        response["Content-Length"] = str(len(response.content))
        response.content = b""
    return response
