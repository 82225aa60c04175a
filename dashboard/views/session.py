"""The session page: header rollups, breadcrumbs, tree panel, runs and the transcript."""

from __future__ import annotations

import json
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
from sessions_app.selectors.otel import session_timeline
from sessions_app.selectors.review import attach_event_review
from sessions_app.selectors.sessions import (
    session_ancestors,
    session_children_page,
    session_for_page,
    session_subtree_totals,
)
from sessions_app.selectors.transcript import (
    call_results,
    find_in_session,
    shown_events,
    transcript_before,
)

from ..access import project_for
from ..htmx import render_htmx
from ..http import DashboardRequest
from ..snippets import snippet
from .common import chrome, htmx_target, optional_url

PAGE_SIZE = 50
# A pause longer than this between two events is marked in the transcript.
IDLE_GAP = timedelta(minutes=5)
TRANSCRIPT_PARTIALS = ("transcript", "transcript-more", "transcript-prev")
PARTIALS = (*TRANSCRIPT_PARTIALS, "find-results")
STATS_PARTIAL = "session-stats"
MAX_INT = 2**31 - 1
# Events shown above the one `?at=` asks for.
AT_CONTEXT = 10
HITS_PAGE = 50
MAX_FIND = 200
# Where the transcript's jump links go: the `to` of dashboard:session_jump.
JUMPS = ("next-error", "prev-error", "next-hit", "prev-hit")
# The transcript's keyboard shortcuts, given to the page as `data-shortcuts` (JSON) for the help
# overlay; static/js/transcript.js handles them.
SHORTCUTS: list[dict[str, str]] = [
    {"key": "j", "help": "Next event"},
    {"key": "k", "help": "Previous event"},
    {"key": "e", "help": "Next error"},
    {"key": "E", "help": "Previous error"},
    {"key": "n", "help": "Next search hit"},
    {"key": "N", "help": "Previous search hit"},
    {"key": "/", "help": "Search inside this session"},
    {"key": "#", "help": "Go to event number…"},
    {"key": "Home", "help": "Start of the transcript"},
    {"key": "End", "help": "End of the transcript"},
]


@dataclass
class Item:
    """One row of the transcript: an event, the tool calls it made (with their results nested)
    and the idle time before it. `complete`: `results` holds every result of the call (they
    were read past the page's end), so none means none yet."""

    event: Event
    calls: list[Item] = field(default_factory=list)
    results: list[Item] = field(default_factory=list)
    gap: timedelta | None = None
    complete: bool = False


# What each kind of event shows nested inside it (_event.html): calls and results under a
# message, results under a call; nested anywhere else, an event would not be shown at all.
HOLDS_CALLS = frozenset(Event.Type) - {Event.Type.TOOL_CALL, Event.Type.TOOL_RESULT}
HOLDS_RESULTS = frozenset(Event.Type) - {Event.Type.TOOL_RESULT}


def build_transcript(
    events: list[Event], previous: Event | None, *, complete: bool = False
) -> list[Item]:
    """Nest tool calls under the message that asked for them and results under their call,
    when both are in `events`; anything else stays a top-level row in seq order. `complete`:
    `events` holds every result of its calls (`transcript.call_results`)."""
    items: list[Item] = []
    by_id: dict[int, Item] = {}
    last_ts = previous.timestamp if previous else None
    for event in events:
        item = Item(event=event, complete=complete)
        by_id[event.pk] = item
        parent = by_id.get(event.parent_event_id) if event.parent_event_id else None
        if parent and event.type == Event.Type.TOOL_CALL and parent.event.type in HOLDS_CALLS:
            parent.calls.append(item)
        elif parent and event.type == Event.Type.TOOL_RESULT and parent.event.type in HOLDS_RESULTS:
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
    before_seq = _int_param(request, "before_seq")
    at = _int_param(request, "at")
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
    kept = {"run": run_pk or "", "removed": "1" if show_removed else "", "branch": branch}
    # The transcript's own filters, carried by its "load more", "load earlier" and live links.
    transcript_qs = urlencode({k: v for k, v in kept.items() if v})
    filters: dict[str, Any] = {
        "limit": PAGE_SIZE,
        "run_id": run_pk,
        "show_removed": show_removed,
        "branch": branch_q,
    }
    shown = shown_events(run_id=run_pk, show_removed=show_removed, branch=branch_q)
    if before_seq is not None:
        events, previous, has_less = transcript_before(session, before_seq=before_seq, **filters)
        first_seq = events[0].seq if events else before_seq
        page = call_results(session, events, start=first_seq, shown=shown)
        attach_event_review(page.events)
        return {
            "items": build_transcript(page.events, previous, complete=not page.truncated),
            "results_cut": page.truncated,
            "has_less": has_less,
            "first_seq": first_seq,
            "last_seq": events[-1].seq if events else before_seq,
            "run_filter": run_pk,
            "transcript_qs": transcript_qs,
            "before_page": True,
        }
    if at is not None and not after_seq:
        # The page starts a few events before the one asked for, so it is read in context.
        after_seq = max(at - AT_CONTEXT - 1, 0)
    events, previous, has_more = transcript_page(session, after_seq=after_seq, **filters)
    # The event asked for may be a result whose call comes before the page: it is shown inside
    # the call, so the page starts before the call instead.
    call = next((getattr(e, "call_seq", None) for e in events if e.seq == at), None)
    if at is not None and call is not None and call <= after_seq:
        after_seq = max(call - AT_CONTEXT - 1, 0)
        events, previous, has_more = transcript_page(session, after_seq=after_seq, **filters)
    # Results of calls on the pages before, newer than those pages: only the live tail and
    # "load more" (htmx) put them into their calls, which are on screen (`seen` is theirs).
    seen = _int_param(request, "seen") if htmx_target(request) == "transcript-more" else None
    page = call_results(session, events, start=after_seq + 1, shown=shown, seen=seen)
    attach_event_review(page.events)  # comments and scores on these events (issue 18)
    first_seq = events[0].seq if events else after_seq + 1
    return {
        "transcript_qs": transcript_qs,
        "show_removed": show_removed,
        "branch": branch,
        "items": build_transcript(page.events, previous, complete=not page.truncated),
        "results_cut": page.truncated,
        "late": page.late,
        "seen": page.seen,
        "has_more": has_more,
        # seq is gapless, so events precede the page exactly when it starts after #1; with a
        # run filter the earlier page may turn out empty.
        "has_less": first_seq > 1 if run_pk is None else after_seq > 0,
        "first_seq": first_seq,
        "last_seq": events[-1].seq if events else after_seq,
        "after_seq": after_seq,
        "at": at,
        "run_filter": run_pk,
        # Only the tail of the whole transcript polls, and only while the session is live.
        "live": not has_more and session.status == AgentSession.Status.ACTIVE,
    }


def _find_context(request: DashboardRequest, session: AgentSession) -> dict[str, Any]:
    find = request.GET.get("find", "").strip()[:MAX_FIND]
    if not find:
        return {"find": ""}
    # Hits in events an agent popped or cleared only when the transcript shows them.
    hits, more = find_in_session(
        session,
        find,
        after_seq=_int_param(request, "find_after") or 0,
        limit=HITS_PAGE,
        show_removed=request.GET.get("removed") == "1",
    )
    return {
        "find": find,
        "hits": [(hit, snippet(hit.text, find)) for hit in hits],
        "hits_more": more,
        "hits_last": hits[-1].seq if hits else 0,
    }


@login_required
def session_detail(request: DashboardRequest, slug: str, pk: int) -> HttpResponse:
    """The session page, or one of its regions (#transcript, #transcript-more,
    #transcript-prev, #find-results, #session-stats) for htmx. `?at=<seq>` opens the transcript
    around that event; `?find=<text>` lists the events holding the text."""
    project = project_for(request, slug)
    session = session_for_page(project, pk)
    context: dict[str, Any] = {"session": session, "project": project}
    target = htmx_target(request)
    if target == STATS_PARTIAL:
        # The header's facts and rollups, refreshed when the live tail brings events.
        context["subtree"] = session_subtree_totals(session) if session.children_count else None
        return render_htmx(request, "dashboard/session.html", context, partials=(STATS_PARTIAL,))
    if target == "find-results":
        context.update(_find_context(request, session))
        return render_htmx(request, "dashboard/session.html", context, partials=PARTIALS)
    context.update(_transcript_context(request, session))
    if target not in TRANSCRIPT_PARTIALS:
        context.update(_find_context(request, session))
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
            timeline=session_timeline(session),
            branches=session_branches(session),
            compare_url=optional_url("dashboard:session_compare", slug, pk),
            summaries_url=optional_url("dashboard:session_summaries", slug, pk),
            shortcuts_json=json.dumps(SHORTCUTS),
            missing=request.GET.get("none", "") if request.GET.get("none") in JUMPS else "",
            nav="sessions",
        )
    return render_htmx(request, "dashboard/session.html", context, partials=PARTIALS)


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
