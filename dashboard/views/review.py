"""A session's review panel (scores, comments, queues, history) and its actions, and the
project's score configs. The panel is its own URL: the session page loads it lazily."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from sessions_app.errors import DomainError, NotFound
from sessions_app.models import AgentSession, Event, Membership, Project, ScoreConfig
from sessions_app.selectors import queues as queue_selectors
from sessions_app.selectors import review as review_selectors
from sessions_app.selectors.sessions import session_for_page
from sessions_app.services.comments import comment_add, comment_delete, comment_edit
from sessions_app.services.queues import queue_items_add
from sessions_app.services.scores import (
    project_viewers_may_review_set,
    score_config_save,
    score_record,
)

from ..access import can, project_for
from ..http import DashboardRequest
from ..review_forms import CommentForm, ScoreConfigForm, ScoreForm, value_from_text
from .common import render_region_page

P = ParamSpec("P")
R = TypeVar("R")
PANEL = ("review-panel",)


def not_found_is_404(view: Callable[P, R]) -> Callable[P, R]:
    """Turn the selectors' NotFound into Django's 404 for pages."""

    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return view(*args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.detail) from exc

    return wrapper


def may_review(request: DashboardRequest) -> bool:
    """Editors and admins review; viewers too when the project lets them."""
    return can(request, Membership.Role.EDITOR) or request.project.viewers_may_review


def reviewer_project(request: DashboardRequest, slug: str) -> Project:
    """The project, if the user may review in it (403 for a viewer the project does not let)."""
    project = project_for(request, slug)
    if not may_review(request):
        raise PermissionDenied("Reviewing needs the editor role here.")
    return project


def panel_context(request: DashboardRequest, session: AgentSession) -> dict[str, Any]:
    """What the review panel shows of a session."""
    project = request.project
    return {
        "session": session,
        "scores": review_selectors.session_scores(session),
        "comments": review_selectors.session_comments(session),
        "history": review_selectors.session_history(session),
        "configs": review_selectors.score_configs(project),
        "in_queues": queue_selectors.queue_items_of_session(session),
        "queues": queue_selectors.review_queues_of(project) if can_edit(request) else [],
        "may_review": may_review(request),
        "user_id": request.user.pk,
    }


def can_edit(request: DashboardRequest) -> bool:
    return can(request, Membership.Role.EDITOR)


def _panel(
    request: DashboardRequest, session: AgentSession, status: int = 200, **extra: Any
) -> HttpResponse:
    context = {**panel_context(request, session), **extra}
    return render_region_page(
        request,
        request.project,
        "dashboard/session_review.html",
        context,
        partials=PANEL,
        nav="sessions",
        status=status,
    )


def _done(request: DashboardRequest, session: AgentSession, **extra: Any) -> HttpResponse:
    """After an action: htmx gets the panel back, a plain form post the session page."""
    if request.htmx:
        return _panel(request, session, **extra)
    return redirect("dashboard:session_detail", slug=request.project.slug, pk=session.pk)


@login_required
def review_panel(request: DashboardRequest, slug: str, pk: int) -> HttpResponse:
    """A session's scores, comments, queues and review history (#review-panel for htmx)."""
    project = project_for(request, slug)
    return _panel(request, session_for_page(project, pk))


def _event(session: AgentSession, seq: int | None) -> Event | None:
    return review_selectors.event_by_seq(session, seq) if seq else None


@login_required
@require_POST
@not_found_is_404
def comment_new(request: DashboardRequest, slug: str, pk: int) -> HttpResponse:
    """Comment on the session, or on its event `event` (a seq)."""
    project = reviewer_project(request, slug)
    session = session_for_page(project, pk)
    form = CommentForm(request.POST)
    if not form.is_valid():
        return _panel(request, session, status=400, comment_form=form)
    try:
        comment_add(
            session=session,
            text=form.cleaned_data["text"],
            event=_event(session, form.cleaned_data["event"]),
            user=request.user,
        )
    except DomainError as exc:
        form.add_error(None, exc.detail)
        return _panel(request, session, status=exc.status, comment_form=form)
    return _done(request, session)


@login_required
@require_POST
@not_found_is_404
def comment_change(request: DashboardRequest, slug: str, pk: int, comment_id: int) -> HttpResponse:
    """Edit (text given) or delete (delete=1) a comment: its author, or an admin deleting."""
    project = reviewer_project(request, slug)
    session = session_for_page(project, pk)
    comment = review_selectors.comment_of(session, comment_id)
    try:
        if request.POST.get("delete"):
            comment_delete(
                comment=comment, user=request.user, is_admin=can(request, Membership.Role.ADMIN)
            )
        else:
            comment_edit(comment=comment, text=request.POST.get("text", ""), user=request.user)
    except DomainError as exc:
        if exc.status == 403:
            raise PermissionDenied(exc.detail) from exc
        return _panel(request, session, status=exc.status, panel_error=exc.detail)
    return _done(request, session)


@login_required
@require_POST
@not_found_is_404
def score_new(request: DashboardRequest, slug: str, pk: int) -> HttpResponse:
    """Score the session (or an event) by config name or ad hoc."""
    project = reviewer_project(request, slug)
    session = session_for_page(project, pk)
    form = ScoreForm(request.POST)
    if not form.is_valid():
        return _panel(request, session, status=400, score_form=form)
    data = form.cleaned_data
    config = review_selectors.score_config_named(project, data["name"].strip())
    try:
        score_record(
            session=session,
            event=_event(session, data["event"]),
            name=data["name"],
            value=value_from_text(config, data["value"]),
            config=config,
            comment=data["comment"],
            user=request.user,
        )
    except DomainError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.detail)
        return _panel(request, session, status=exc.status, score_form=form)
    return _done(request, session)


@login_required
@require_POST
@not_found_is_404
def queue_add(request: DashboardRequest, slug: str, pk: int) -> HttpResponse:
    """Put the session into one of the project's queues (editors)."""
    project = project_for(request, slug, min_role=Membership.Role.EDITOR)
    session = session_for_page(project, pk)
    raw = request.POST.get("queue", "")
    if not raw.isdigit():
        return _panel(request, session, status=400, panel_error="Choose a queue.")
    queue = queue_selectors.queue_of(project, int(raw))
    queue_items_add(queue=queue, sessions=[session], added_by=request.user.get_username())
    return _done(request, session)


# -- score configs ---------------------------------------------------------------------------

CONFIG_PARTIALS = ("score-configs",)


def _configs_page(request: DashboardRequest, status: int = 200, **extra: Any) -> HttpResponse:
    context = {
        "configs": review_selectors.score_configs(request.project),
        "form": extra.pop("form", None) or ScoreConfigForm(),
        **extra,
    }
    return render_region_page(
        request,
        request.project,
        "dashboard/score_configs.html",
        context,
        partials=CONFIG_PARTIALS,
        nav="queues",
        status=status,
    )


@login_required
@not_found_is_404
def score_configs(request: DashboardRequest, slug: str) -> HttpResponse:
    """The project's score configs; editors add and change them (POST, `config` to change)."""
    project = project_for(request, slug)
    if request.method != "POST":
        return _configs_page(request)
    if not can_edit(request):
        raise PermissionDenied("Score configs are changed by editors.")
    form = ScoreConfigForm(request.POST)
    if not form.is_valid():
        return _configs_page(request, status=400, form=form)
    raw = request.POST.get("config", "")
    existing = review_selectors.score_config_of(project, int(raw)) if raw.isdigit() else None
    try:
        score_config_save(project=project, config=existing, **form.cleaned_data)
    except DomainError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.detail)
        return _configs_page(request, status=exc.status, form=form)
    if request.htmx:
        return _configs_page(request, saved=True)
    return redirect("dashboard:score_configs", slug=project.slug)


EDIT_PARTIALS = ("score-config-form",)


@login_required
@not_found_is_404
def score_config_edit(request: DashboardRequest, slug: str, config_id: int) -> HttpResponse:
    """Edit one score config (editors): its description, bounds and labels; its type or name
    only while no score uses it, and a label only when no score holds it."""
    project = project_for(request, slug, min_role=Membership.Role.EDITOR)
    config = review_selectors.score_config_of(project, config_id)
    status = 200
    if request.method == "POST":
        form = ScoreConfigForm(request.POST)
        if form.is_valid():
            try:
                score_config_save(project=project, config=config, **form.cleaned_data)
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.detail)
                status = exc.status
            else:
                target = reverse("dashboard:score_configs", args=[project.slug])
                if request.htmx:
                    return HttpResponseClientRedirect(target)
                return redirect(target)
        else:
            status = 400
        # The config as stored, not as the refused form would have had it.
        config = review_selectors.score_config_of(project, config_id)
    else:
        form = ScoreConfigForm(initial=config_initial(config))
    return render_region_page(
        request,
        project,
        "dashboard/score_config_edit.html",
        {"config": config, "form": form},
        partials=EDIT_PARTIALS,
        nav="queues",
        status=status,
    )


def config_initial(config: ScoreConfig) -> dict[str, Any]:
    """The edit form's values for a stored config."""
    return {
        "name": config.name,
        "data_type": config.data_type,
        # 5, not 5.0: the number as it was typed.
        "min_value": "" if config.min_value is None else f"{config.min_value:g}",
        "max_value": "" if config.max_value is None else f"{config.max_value:g}",
        "categories": ", ".join(config.categories),
        "description": config.description,
    }


@login_required
@require_POST
def viewers_may_review(request: DashboardRequest, slug: str) -> HttpResponse:
    """Let the project's viewers review (admins)."""
    project = project_for(request, slug, min_role=Membership.Role.ADMIN)
    project_viewers_may_review_set(project=project, allowed=request.POST.get("allowed") == "1")
    if request.htmx:
        return _configs_page(request)
    return redirect("dashboard:score_configs", slug=project.slug)
