"""Reads that move through one session's transcript: the page before an event, errors before and
after a seq, hits of a search inside the session, a session or event found by its own id.

Each is one query on an index ordered by seq within the session (the unique (session, seq)
index, the partial error index of migration 0013), so its time does not grow with the session.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.functions import Substr

from ..models import AgentSession, Event, Project
from .search import events_matching

# How much of an event's content a hit reads to cut its snippet from (content can be megabytes).
SNIPPET_SOURCE = 20_000
# Events a search inside a session reads in seq order before it asks the text-search index.
PROBE = 1_000
# No stored id or text holds a NUL (the API and the OTLP receiver refuse it, and PostgreSQL
# cannot compare text with one): text holding it finds nothing, without a query.
NUL = "\x00"


def transcript_before(
    session: AgentSession,
    *,
    before_seq: int,
    limit: int = 50,
    run_id: int | None = None,
    show_removed: bool = False,
    branch: Q | None = None,
) -> tuple[list[Event], Event | None, bool]:
    """The keyset page of the transcript just before `before_seq` (in seq order), the event
    before it (for the idle-gap marker) and whether more precede, in one query; the same
    filters as `events.transcript_page`."""
    qs = (
        Event.objects.filter(session=session, seq__lt=before_seq)
        .defer("payload", "metadata", "body_hash")
        .select_related("usage", "summary_record")
    )
    if run_id is not None:
        qs = qs.filter(run_id=run_id)
    if not show_removed:
        qs = qs.filter(removed_at__isnull=True)
    if branch is not None:
        qs = qs.filter(branch)
    rows: list[Event] = list(qs.order_by("-seq")[: limit + 1])
    previous = rows[limit] if len(rows) > limit else None
    page = rows[:limit]
    page.reverse()
    return page, previous, previous is not None


def _errors(session: AgentSession, show_removed: bool) -> QuerySet[Event]:
    """The session's errors; those in events an agent popped or cleared only with
    `show_removed` (as the transcript shows them, the same rule as the search hits)."""
    errors = Event.objects.filter(session=session, is_error=True)
    return errors if show_removed else errors.filter(removed_at__isnull=True)


def error_seq_after(session: AgentSession, seq: int, *, show_removed: bool = False) -> int | None:
    """The seq of the first error after `seq`, or None (the partial error index)."""
    return (
        _errors(session, show_removed)
        .filter(seq__gt=seq)
        .order_by("seq")
        .values_list("seq", flat=True)
        .first()
    )


def error_seq_before(session: AgentSession, seq: int, *, show_removed: bool = False) -> int | None:
    """The seq of the last error before `seq`, or None (the partial error index)."""
    return (
        _errors(session, show_removed)
        .filter(seq__lt=seq)
        .order_by("-seq")
        .values_list("seq", flat=True)
        .first()
    )


@dataclass(frozen=True)
class Hit:
    """An event of the session that matches a search: where it is and the text to cut a
    snippet from."""

    seq: int
    type: str
    role: str
    name: str
    text: str


def _hit_seqs(
    session: AgentSession,
    text: str,
    *,
    after: int = 0,
    before: int | None = None,
    limit: int,
    show_removed: bool = False,
) -> list[int]:
    """Seqs of the session's events matching `text` within (after, before), nearest to `after`
    (ascending) or, with only `before`, nearest to it (descending); at most `limit`.

    PostgreSQL's planner prices the text match far below its real cost, so asked for the first
    few hits in seq order it walks the session's events one by one through the (session, seq)
    index: instant for a common word, a whole-session scan (seconds at 100k events) for a rare
    one. So: first a probe of the PROBE nearest events along that index (a bounded read that a
    common word fills), then, when it did not fill, the matches alone, planned without the order
    (`OFFSET 0` keeps that subquery apart), which uses the text-search index for a rare word.
    Events an agent popped or cleared are hits only with `show_removed` (as the transcript
    shows them)."""
    if NUL in text:
        return []
    descending = before is not None and not after
    events = Event.objects.filter(session=session)
    if not show_removed:
        events = events.filter(removed_at__isnull=True)
    if after:
        events = events.filter(seq__gt=after)
    if before is not None:
        events = events.filter(seq__lt=before)
    order = "-seq" if descending else "seq"
    if connection.vendor != "postgresql":
        found = events_matching(events, text).order_by(order).values_list("seq", flat=True)
        return list(found[:limit])
    if descending:
        window = events.filter(seq__gte=(before or 0) - PROBE)
    else:
        window = events.filter(seq__lte=after + PROBE)
    probed = list(
        events_matching(window, text).order_by(order).values_list("seq", flat=True)[:limit]
    )
    if len(probed) >= limit:
        return probed
    inner = events_matching(events, text).values_list("seq", flat=True)
    sql, params = inner.query.sql_with_params()
    direction = "DESC" if descending else "ASC"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT hit.seq FROM ({sql} OFFSET 0) AS hit ORDER BY hit.seq {direction} LIMIT %s",
            [*params, limit],
        )
        return [row[0] for row in cursor.fetchall()]


def find_in_session(
    session: AgentSession,
    text: str,
    *,
    after_seq: int = 0,
    limit: int = 20,
    show_removed: bool = False,
) -> tuple[list[Hit], bool]:
    """Events of the session matching `text` after `after_seq`, in seq order, and whether more
    follow; removed events (an agent's pop or clear) only with `show_removed`. PostgreSQL: the
    words, through the text-search index's expression; elsewhere a case-insensitive
    substring."""
    seqs = _hit_seqs(session, text, after=after_seq, limit=limit + 1, show_removed=show_removed)
    if not seqs:
        return [], False
    rows = (
        Event.objects.filter(session=session, seq__in=seqs[:limit])
        .order_by("seq")
        .annotate(head=Substr("content", 1, SNIPPET_SOURCE))
        .values_list("seq", "type", "role", "name", "head")
    )
    hits = [Hit(seq, type_, role, name, head) for seq, type_, role, name, head in rows]
    return hits, len(seqs) > limit


def hit_seq_after(
    session: AgentSession, text: str, seq: int, *, show_removed: bool = False
) -> int | None:
    """The seq of the first event after `seq` matching `text`, or None."""
    found = _hit_seqs(session, text, after=seq, limit=1, show_removed=show_removed)
    return found[0] if found else None


def hit_seq_before(
    session: AgentSession, text: str, seq: int, *, show_removed: bool = False
) -> int | None:
    """The seq of the last event before `seq` matching `text`, or None."""
    found = _hit_seqs(session, text, before=seq, limit=1, show_removed=show_removed)
    return found[0] if found else None


def session_pk_by_external_id(project: Project, external_id: str) -> int | None:
    """The pk of the project's session with this id, or None (the unique index)."""
    if NUL in external_id:
        return None
    return (
        AgentSession.objects.filter(project=project, external_id=external_id)
        .values_list("pk", flat=True)
        .first()
    )


def event_location(project: Project, external_id: str) -> tuple[int, int] | None:
    """(session pk, seq) of the project's event with this id, or None: the live event (the
    unique index), else the latest removed one (`event_removed_external_id`). Asked of both
    at once, no index answers and the project's events are scanned."""
    if NUL in external_id:
        return None
    events = Event.objects.filter(project=project, external_id=external_id)
    row = events.filter(removed_at__isnull=True).values_list("session_id", "seq").first()
    if row is None:
        row = (
            events.filter(removed_at__isnull=False)
            .order_by("-pk")
            .values_list("session_id", "seq")
            .first()
        )
    return (row[0], row[1]) if row else None
