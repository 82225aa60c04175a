"""Reads of a session's events and runs: the transcript's pages, one event's payload, the API's
event and item pages (keyset by seq), runs."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import F, Q
from django.shortcuts import get_object_or_404

from ..db import server_bound
from ..errors import NotFound
from ..models import AgentSession, Event, Project, Run
from .transcript import UNSHOWN, call_seq, shown_events


def transcript_page(
    session: AgentSession,
    *,
    after_seq: int = 0,
    limit: int = 50,
    run_id: int | None = None,
    show_removed: bool = False,
    branch: Q | None = None,
) -> tuple[list[Event], Event | None, bool]:
    """A keyset page of the transcript: events after `after_seq` (the payload and metadata
    deferred until someone clicks), the event just before the page (for the idle-gap marker),
    and whether more follow. Each event comes with its usage and summary record (one join) and,
    for a tool result, the seq of its shown call (`transcript.call_seq`). Removed events (an
    agent's pop or clear) only with `show_removed`; `branch` is a `branches.branch_filter`."""
    shown = shown_events(run_id=run_id, show_removed=show_removed, branch=branch)
    qs = (
        Event.objects.filter(shown, session=session)
        .defer(*UNSHOWN)
        .select_related("usage", "summary_record")
        .annotate(call_seq=call_seq(session, shown))
    )
    # Fetch the previous event too (seq >= after_seq) so the first row can show an idle gap.
    rows: list[Event] = list(qs.filter(seq__gte=max(after_seq, 1)).order_by("seq")[: limit + 2])
    previous = None
    if rows and after_seq and rows[0].seq == after_seq:
        previous = rows.pop(0)
    has_more = len(rows) > limit
    return rows[:limit], previous, has_more


def event_detail(session: AgentSession, seq: int) -> Event:
    """One event with its payload and metadata (loaded only when someone opens it), or 404."""
    return get_object_or_404(Event.objects.select_related("usage"), session=session, seq=seq)


def events_page(
    session: AgentSession,
    *,
    after_seq: int,
    limit: int,
    include_removed: bool = False,
    branch: Q | None = None,
) -> tuple[list[Event], int | None]:
    """A page of events in seq order with usage, parent and run ids, in one query; events an
    agent removed only with `include_removed`."""
    qs = Event.objects.filter(session=session, seq__gt=after_seq)
    if not include_removed:
        qs = qs.filter(removed_at__isnull=True)
    if branch is not None:
        qs = qs.filter(branch)
    rows: list[Event] = list(
        qs.select_related("usage")
        .annotate(
            parent_external_id=F("parent_event__external_id"),
            run_external_id=F("run__external_id"),
        )
        .order_by("seq")[: limit + 1]
    )
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].seq
    return rows, None


def items_page(
    session: AgentSession,
    *,
    fmt: str,
    after_seq: int,
    limit: int,
    branch: Q | None = None,
    tail: bool = False,
) -> tuple[list[Any], int | None]:
    """The live items written in a format, exactly as sent, in seq order (an SDK session's
    `get_items`); events derived from an item have no payload and are not repeated, and items
    the agent popped or cleared are gone from this view (they stay in the record). With `tail`,
    the latest `limit` items instead (still in seq order, no next page): an SDK session's
    `get_items(limit)` in one read, without learning the session's last seq first."""
    qs = Event.objects.filter(
        session=session,
        seq__gt=after_seq,
        payload_format=fmt,
        payload__isnull=False,
        removed_at__isnull=True,
    )
    if branch is not None:
        qs = qs.filter(branch)
    if tail:
        latest = list(qs.order_by("-seq").values_list("payload", flat=True)[:limit])
        latest.reverse()
        return latest, None
    rows = list(qs.order_by("seq").values_list("seq", "payload")[: limit + 1])
    next_after = rows[limit - 1][0] if len(rows) > limit else None
    return [payload for _, payload in rows[:limit]], next_after


# The latest items of a format as a JSON array's text, built by PostgreSQL: an SDK session's
# `get_items(limit)`, its hottest read. One prepared statement (no ORM query to compile, no
# payload decoded in Python and encoded again): 0.5 ms in-process where the session lookup and
# `items_page` took 1.0 ms. The rows come from the (session_id, seq) index read backwards.
_TAIL_ITEMS = f"""
SELECT coalesce(json_agg(t.payload ORDER BY t.seq), '[]'::json)::text FROM (
    SELECT seq, payload FROM {Event._meta.db_table}
    WHERE session_id = {{session}} AND seq > %(after_seq)s AND payload_format = %(fmt)s
        AND payload IS NOT NULL AND removed_at IS NULL
    ORDER BY seq DESC LIMIT %(limit)s
) AS t"""
_TAIL_OF_SESSION = f"SELECT ({_TAIL_ITEMS.format(session='%(session)s')})"
_TAIL_BY_NAME = f"""
SELECT ({_TAIL_ITEMS.format(session="s.id")})
FROM {AgentSession._meta.db_table} AS s
WHERE s.project_id = %(project)s AND s.external_id = %(external_id)s"""


def can_read_tail_json() -> bool:
    """Whether `tail_items_json` and `session_tail_items_json` can run (PostgreSQL)."""
    return connection.vendor == "postgresql"


def tail_items_json(session: AgentSession, *, fmt: str, limit: int, after_seq: int = 0) -> str:
    """PostgreSQL: `items_page(tail=True)`'s items, as the text of a JSON array."""
    params = {"session": session.pk, "fmt": fmt, "limit": limit, "after_seq": after_seq}
    text: str = server_bound(_TAIL_OF_SESSION, params)[0][0]
    return text


def session_tail_items_json(
    project: Project, external_id: str, *, fmt: str, limit: int, after_seq: int = 0
) -> str:
    """PostgreSQL: the latest `limit` items of a session by its name, as the text of a JSON
    array, in one statement (the session lookup included), or 404."""
    params = {
        "project": project.pk,
        "external_id": external_id,
        "fmt": fmt,
        "limit": limit,
        "after_seq": after_seq,
    }
    found = server_bound(_TAIL_BY_NAME, params)
    if not found:
        raise NotFound(f"No session {external_id!r}.", field="external_id")
    text: str = found[0][0]
    return text


# -- runs ----------------------------------------------------------------------------------


def session_runs(session: AgentSession, *, limit: int = 200) -> list[Run]:
    """The session's runs, oldest first (a session has a handful; capped for safety)."""
    return list(Run.objects.filter(session=session).order_by("created_at", "pk")[:limit])


def session_has_run(session: AgentSession, run_pk: int) -> bool:
    """Whether the run belongs to the session."""
    return Run.objects.filter(session=session, pk=run_pk).exists()


def run_by_external_id(project: Project, external_id: str) -> tuple[Run, str]:
    """A run of the project and its session's external id (one query), or 404."""
    run = (
        Run.objects.filter(project=project, external_id=external_id)
        .annotate(session_external_id=F("session__external_id"))
        .first()
    )
    if run is None:
        raise NotFound(f"No run {external_id!r}.", field="external_id")
    return run, run.session_external_id
