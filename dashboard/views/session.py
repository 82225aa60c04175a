"""The session page: header rollups, breadcrumbs, tree panel, runs and the transcript."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest
from django.http import Http404, HttpResponse
from django.shortcuts import render

from sessions_app.errors import NotFound
from sessions_app.models import AgentSession, Event
from sessions_app.selectors.branches import branch_filter, session_branches
from sessions_app.selectors.events import (
    event_detail,
    session_has_run,
    session_runs,
    transcript_page,
)
from sessions_app.selectors.sessions import (
    session_ancestors,
    session_children_page,
    session_for_page,
    session_subtree_totals,
)

from ..access import project_for
from ..htmx import render_htmx
from ..http import DashboardRequest
from .common import chrome, htmx_target, optional_url

PAGE_SIZE = 50
# A pause longer than this between two events is marked in the transcript.
IDLE_GAP = timedelta(minutes=5)
TRANSCRIPT_PARTIALS = ("transcript", "transcript-more")
MAX_INT = 2**31 - 1


@dataclass
class Item:
    """One row of the transcript: an event, the tool calls it made (with their results nested)
    and the idle time before it."""

    event: Event
    calls: list[Item] = field(default_factory=list)
    results: list[Item] = field(default_factory=list)
    gap: timedelta | None = None


def build_transcript(events: list[Event], previous: Event | None) -> list[Item]:
    """Nest tool calls under the message that asked for them and results under their call,
    when both are on the same page; anything else stays a top-level row in seq order."""
    items: list[Item] = []
    by_id: dict[int, Item] = {}
    last_ts = previous.timestamp if previous else None
    for event in events:
        item = Item(event=event)
        by_id[event.pk] = item
        parent = by_id.get(event.parent_event_id) if event.parent_event_id else None
        if parent and event.type == Event.Type.TOOL_CALL:
            parent.calls.append(item)
        elif parent and event.type == Event.Type.TOOL_RESULT:
            parent.results.append(item)
        else:
            if last_ts is not None and event.timestamp - last_ts > IDLE_GAP:
                item.gap = event.timestamp - last_ts
            items.append(item)
        last_ts = max(last_ts, event.timestamp) if last_ts else event.timestamp
    return items


def _int_param(request: DashboardRequest, name: str) -> int | None:
    raw = request.GET.get(name, "")
    if not raw:
        return None
    # ASCII digits only ("²".isdigit() is true) and within the columns' integer range.
    if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_INT:
        raise BadRequest(f"{name} must be an integer from 0 to {MAX_INT}, got {raw[:20]!r}.")
    return int(raw)


def _transcript_context(request: DashboardRequest, session: AgentSession) -> dict[str, Any]:
    after_seq = _int_param(request, "after_seq") or 0
    run_pk = _int_param(request, "run")
    if run_pk is not None and not session_has_run(session, run_pk):
        raise Http404("No such run in this session.")
    # Events an agent popped or cleared are hidden until asked for (`?removed=1`).
    show_removed = request.GET.get("removed") == "1"
    branch = request.GET.get("branch") or ""
    try:
        branch_q = branch_filter(session, branch) if branch else None
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    events, previous, has_more = transcript_page(
        session,
        after_seq=after_seq,
        limit=PAGE_SIZE,
        run_id=run_pk,
        show_removed=show_removed,
        branch=branch_q,
    )
    last_seq = events[-1].seq if events else after_seq
    kept = {"run": run_pk or "", "removed": "1" if show_removed else "", "branch": branch}
    return {
        # The transcript's own filters, carried by its "load more" and live links.
        "transcript_qs": urlencode({k: v for k, v in kept.items() if v}),
        "show_removed": show_removed,
        "branch": branch,
        "items": build_transcript(events, previous),
        "has_more": has_more,
        "last_seq": last_seq,
        "after_seq": after_seq,
        "run_filter": run_pk,
        # Only the tail of the whole transcript polls, and only while the session is live.
        "live": not has_more and session.status == AgentSession.Status.ACTIVE,
    }


@login_required
def session_detail(request: DashboardRequest, slug: str, pk: int) -> HttpResponse:
    """The session page, or one of its regions (#transcript, #transcript-more) for htmx."""
    project = project_for(request, slug)
    session = session_for_page(project, pk)
    context: dict[str, Any] = {"session": session, "project": project}
    context.update(_transcript_context(request, session))
    if htmx_target(request) not in TRANSCRIPT_PARTIALS:
        children, children_after = session_children_page(session, limit=PAGE_SIZE)
        context = chrome(
            request,
            project,
            **context,
            ancestors=session_ancestors(session),
            subtree=session_subtree_totals(session) if session.children_count else None,
            children=children,
            children_after=children_after,
            runs=session_runs(session),
            branches=session_branches(session),
            compare_url=optional_url("dashboard:session_compare", slug, pk),
            summaries_url=optional_url("dashboard:session_summaries", slug, pk),
            nav="sessions",
        )
    return render_htmx(request, "dashboard/session.html", context, partials=TRANSCRIPT_PARTIALS)


@login_required
def event_payload(request: DashboardRequest, slug: str, pk: int, seq: int) -> HttpResponse:
    """One event's stored payload and metadata, loaded when someone opens it."""
    project = project_for(request, slug)
    session = session_for_page(project, pk)
    event = event_detail(session, seq)
    return render(request, "dashboard/event_payload.html", {"event": event, "project": project})


@login_required
def session_children(request: DashboardRequest, slug: str, pk: int) -> HttpResponse:
    """A page of a session's children as tree nodes (each expands lazily in turn)."""
    project = project_for(request, slug)
    session = session_for_page(project, pk)
    children, children_after = session_children_page(
        session, after=request.GET.get("after", ""), limit=PAGE_SIZE
    )
    context = {
        "project": project,
        "parent": session,
        "children": children,
        "children_after": children_after,
        "current_pk": _int_param(request, "current"),
    }
    return render(request, "dashboard/_tree_children.html", context)
