"""Annotation queues: the list, one queue (progress, items, settings), and the reviewer's
item-by-item page with the transcript beside the queue's score form."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from sessions_app.errors import Conflict, DomainError
from sessions_app.models import AnnotationQueue, Membership, QueueItem
from sessions_app.selectors import queues as queue_selectors
from sessions_app.selectors import review as review_selectors
from sessions_app.selectors.events import transcript_page
from sessions_app.selectors.projects import project_members
from sessions_app.selectors.transcript import call_results, shown_events
from sessions_app.services.queues import (
    queue_item_complete,
    queue_item_finish,
    queue_item_open,
    queue_rule_apply,
    queue_save,
)

from ..access import project_for
from ..http import DashboardRequest
from ..review_forms import QueueForm, value_from_text
from .common import chrome, render_region_page
from .review import can_edit, not_found_is_404, reviewer_project
from .session import build_transcript

TRANSCRIPT_LIMIT = 100


def _queue_form(request: DashboardRequest, data: Any = None, **kwargs: Any) -> QueueForm:
    users = [m.user for m in project_members(request.project)]
    configs = review_selectors.score_configs(request.project)
    return QueueForm(data, configs=configs, users=users, **kwargs)


@login_required
def queue_list(request: DashboardRequest, slug: str) -> HttpResponse:
    """The project's queues with their progress; editors create one with POST."""
    project = project_for(request, slug)
    form = None
    status = 200
    if request.method == "POST":
        project = project_for(request, slug, min_role=Membership.Role.EDITOR)
        form = _queue_form(request, request.POST)
        if form.is_valid():
            try:
                queue = queue_save(project=project, **form.cleaned_data)
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.detail)
                status = exc.status
            else:
                return redirect("dashboard:queue_detail", slug=slug, queue_id=queue.pk)
        else:
            status = 400
    context = {
        "queues": queue_selectors.project_queues(project),
        "form": form or (_queue_form(request) if can_edit(request) else None),
    }
    return render_region_page(
        request,
        project,
        "dashboard/queues.html",
        context,
        partials=("queue-list",),
        nav="queues",
        status=status,
    )


def _initial(queue: AnnotationQueue) -> dict[str, Any]:
    return {
        "name": queue.name,
        "description": queue.description,
        "score_configs": [str(c.pk) for c in queue_selectors.queue_configs(queue)],
        "members": [str(pk) for pk in queue_selectors.queue_member_ids(queue)],
        "rule_query": queue.rule_query,
        "rule_sample_percent": queue.rule_sample_percent,
        "rule_enabled": queue.rule_enabled,
    }


@login_required
@not_found_is_404
def queue_detail(request: DashboardRequest, slug: str, queue_id: int) -> HttpResponse:
    """A queue: progress (per reviewer), its items, and its settings (editors change them)."""
    project = project_for(request, slug)
    queue = queue_selectors.queue_of(project, queue_id)
    status = 200
    form = None
    if request.method == "POST":
        project_for(request, slug, min_role=Membership.Role.EDITOR)
        form = _queue_form(request, request.POST)
        if form.is_valid():
            try:
                queue_save(project=project, queue=queue, **form.cleaned_data)
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.detail)
                status = exc.status
            else:
                return redirect("dashboard:queue_detail", slug=slug, queue_id=queue.pk)
        else:
            status = 400
    if form is None and can_edit(request):
        form = _queue_form(request, initial=_initial(queue))
    context = {
        "queue": queue,
        "progress": queue_selectors.queue_progress(queue),
        "items": queue_selectors.queue_items(queue),
        "form": form,
    }
    return render_region_page(
        request,
        project,
        "dashboard/queue.html",
        context,
        partials=("queue-progress",),
        nav="queues",
        status=status,
    )


@login_required
@require_POST
@not_found_is_404
def queue_rule_run(request: DashboardRequest, slug: str, queue_id: int) -> HttpResponse:
    """Apply the queue's rule now (editors); beat also runs it every few minutes."""
    project = project_for(request, slug, min_role=Membership.Role.EDITOR)
    queue = queue_selectors.queue_of(project, queue_id)
    queue_rule_apply(queue=queue)
    return redirect("dashboard:queue_detail", slug=slug, queue_id=queue.pk)


def _item_url(slug: str, queue_id: int, item: QueueItem | None) -> str:
    if item is None:
        return reverse("dashboard:queue_detail", args=[slug, queue_id]) + "?done=1"
    return reverse("dashboard:queue_item", args=[slug, queue_id, item.pk])


@login_required
@not_found_is_404
def queue_work(request: DashboardRequest, slug: str, queue_id: int) -> HttpResponse:
    """Start reviewing: the first item to do that nobody else holds."""
    project = reviewer_project(request, slug)
    queue = queue_selectors.queue_of(project, queue_id)
    after = request.GET.get("after", "")
    item = queue_selectors.queue_next_item(
        queue, request.user, after=int(after) if after.isdigit() else 0
    )
    return redirect(_item_url(slug, queue.pk, item))


@login_required
@not_found_is_404
def queue_item(request: DashboardRequest, slug: str, queue_id: int, item_id: int) -> HttpResponse:
    """One item: the session's transcript beside the queue's score form and a comment box. The
    item is locked to the reviewer for a few minutes; someone else's lock is a 409 page."""
    project = reviewer_project(request, slug)
    queue = queue_selectors.queue_of(project, queue_id)
    item = queue_selectors.queue_item_of(queue, item_id)
    return _item_page(request, queue, item)


def _item_page(
    request: DashboardRequest,
    queue: AnnotationQueue,
    item: QueueItem,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    locked_error = ""
    if item.status == QueueItem.Status.PENDING:
        try:
            item = queue_item_open(item=item, user=request.user)
        except Conflict as exc:
            locked_error, status = exc.detail, 409
    session = item.session
    events, previous, has_more = transcript_page(session, after_seq=0, limit=TRANSCRIPT_LIMIT)
    # As on the session page: the results of the calls shown come with them, past the limit too.
    page = call_results(session, events, start=1, shown=shown_events())
    review_selectors.attach_event_review(page.events)
    context = chrome(
        request,
        request.project,
        queue=queue,
        item=item,
        session=session,
        items=build_transcript(page.events, previous, complete=not page.truncated),
        has_more=has_more,
        configs=queue_selectors.queue_configs(queue),
        scores=review_selectors.session_scores(session),
        comments=review_selectors.session_comments(session),
        progress=queue_selectors.queue_progress(queue),
        previous_item=queue_selectors.queue_neighbour(queue, item, forward=False),
        next_item=queue_selectors.queue_neighbour(queue, item, forward=True),
        locked_error=locked_error,
        nav="queues",
        **extra,
    )
    return TemplateResponse(request, "dashboard/queue_item.html", context, status=status)


@login_required
@require_POST
@not_found_is_404
def queue_item_done(
    request: DashboardRequest, slug: str, queue_id: int, item_id: int
) -> HttpResponse:
    """Complete (with the form's scores and comment) or skip an item, then open the next."""
    project = reviewer_project(request, slug)
    queue = queue_selectors.queue_of(project, queue_id)
    item = queue_selectors.queue_item_of(queue, item_id)
    try:
        if request.POST.get("action", "complete") == "skip":
            queue_item_finish(item=item, user=request.user, status=QueueItem.Status.SKIPPED)
        else:
            values = [
                (config, value_from_text(config, request.POST[f"score_{config.pk}"]))
                for config in queue_selectors.queue_configs(queue)
                if request.POST.get(f"score_{config.pk}", "").strip()
            ]
            queue_item_complete(
                item=item,
                user=request.user,
                values=values,
                comment=request.POST.get("comment", ""),
            )
    except Conflict as exc:
        return _item_page(request, queue, item, status=409, form_error=exc.detail)
    except DomainError as exc:
        return _item_page(
            request, queue, item, status=exc.status, form_error=exc.detail, bad_field=exc.field
        )
    target = _item_url(
        slug, queue.pk, queue_selectors.queue_next_item(queue, request.user, after=item.pk)
    )
    if request.htmx:
        return HttpResponseClientRedirect(target)
    return redirect(target)
