"""A session's summaries: the list with a trigger form, and the status a pending one polls."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django_htmx.http import reswap, retarget

from sessions_app.errors import InvalidInput
from sessions_app.models import Membership, Summary
from sessions_app.selectors import summaries as summaries_read
from sessions_app.selectors.sessions import session_for_page
from sessions_app.services.summaries import summary_request

from ..access import can, project_for
from ..htmx import render_htmx
from ..http import DashboardRequest
from .common import chrome

PARTIALS = ("session-summaries",)
# How often a pending summary asks for its status (htmx `every`).
POLL = "1s"


class SummaryForm(forms.Form):
    """Which summary to make: strategy, model (litellm name) and, for query_focused, a focus."""

    strategy = forms.ChoiceField(choices=Summary.Strategy.choices, initial=Summary.Strategy.BASIC)
    model = forms.CharField(max_length=255, required=False)
    query = forms.CharField(max_length=2000, required=False)


def _context(request: DashboardRequest, project, session, form: SummaryForm) -> dict:
    return chrome(
        request,
        project,
        session=session,
        form=form,
        summaries=summaries_read.session_summaries(session.pk),
        strategies=Summary.Strategy.choices,
        default_model=settings.SUMMARY_MODEL,
        poll=POLL,
        nav="sessions",
    )


@login_required
@require_http_methods(["GET", "POST"])
def session_summaries(request: DashboardRequest, slug: str, pk: int) -> HttpResponse:
    """GET: past summaries and the form (page, or the #session-summaries region). POST
    (editors): queue a summary and answer with its pending row, which polls until done."""
    min_role = Membership.Role.EDITOR if request.method == "POST" else Membership.Role.VIEWER
    project = project_for(request, slug, min_role=min_role)
    session = session_for_page(project, pk)
    if request.method == "GET":
        context = _context(request, project, session, SummaryForm())
        return render_htmx(request, "dashboard/summaries.html", context, partials=PARTIALS)
    form = SummaryForm(request.POST)
    if form.is_valid():
        try:
            summary = summary_request(
                session=session,
                strategy=form.cleaned_data["strategy"],
                model=form.cleaned_data["model"] or None,
                query=form.cleaned_data["query"],
                requested_by=request.user,
            )
        except InvalidInput as exc:
            form.add_error(None, exc.detail)
        else:
            if not request.htmx:
                return redirect("dashboard:session_summaries", slug=slug, pk=pk)
            response = render_htmx(
                request,
                "dashboard/summaries.html#summary-item",
                {
                    "s": summaries_read.summary_of_project(project.pk, summary.pk),
                    "project": project,
                    "session": session,
                    "poll": POLL,
                },
            )
            response.render()
            # The "No summaries yet." row goes once the first one is listed.
            response.content += b'<li id="summary-empty" hx-swap-oob="delete"></li>'
            return response
    context = _context(request, project, session, form)
    if request.htmx:
        response = render_htmx(
            request, "dashboard/summaries.html#summary-form", context, status=422
        )
        # htmx swaps error answers only when told where: the form replaces itself.
        return reswap(retarget(response, "#summary-form"), "outerHTML")
    return render_htmx(request, "dashboard/summaries.html", context, status=422)


@login_required
def summary_status(request: DashboardRequest, slug: str, summary_id: int) -> HttpResponse:
    """One summary's row; while queued or running it keeps polling itself."""
    project = project_for(request, slug)
    summary = summaries_read.summary_of_project(project.pk, summary_id)
    if summary is None:
        raise Http404("No such summary.")
    if not request.htmx:
        url = reverse("dashboard:session_summaries", args=[slug, summary.session_id])
        return redirect(f"{url}#summary-{summary.pk}")
    return render_htmx(
        request,
        "dashboard/summaries.html#summary-item",
        {"s": summary, "project": project, "poll": POLL, "can_edit": can(request, "editor")},
    )
