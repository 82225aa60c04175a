"""Reads that move through one session's transcript: the page before an event, the results of a
page's tool calls wherever they lie, errors before and after a seq, hits of a search inside the
session, a session or event found by its own id.

Each is one query on an index ordered by seq within the session (the unique (session, seq)
index, the partial error index of migration 0013, the parent index `event_parent`), so its time
does not grow with the session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from django.db import connection
from django.db.models import Case, F, IntegerField, Q, QuerySet, When
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
# Results of a page's tool calls read past the page's end, at most (a call has one result, a few
# at most; a client that hangs thousands on one call must not make one page unbounded).
CALL_RESULTS = 200
# Columns a transcript page never shows (the payload loads when someone opens it).
UNSHOWN = ("payload", "metadata", "body_hash")


def shown_events(
    *, run_id: int | None = None, show_removed: bool = False, branch: Q | None = None
) -> Q:
    """The events a transcript shows: of one run, without those an agent popped or cleared
    (unless `show_removed`), on one branch (a `branches.branch_filter`)."""
    shown = Q()
    if run_id is not None:
        shown &= Q(run_id=run_id)
    if not show_removed:
        shown &= Q(removed_at__isnull=True)
    if branch is not None:
        shown &= branch
    return shown


def _of_parent(condition: Q) -> Q:
    """`condition` asked of an event's parent event instead of the event."""
    children: list[Any] = []
    for child in condition.children:
        if isinstance(child, Q):
            children.append(_of_parent(child))
        else:
            lookup, value = cast(tuple[str, Any], child)
            children.append((f"parent_event__{lookup}", value))
    return Q(*children, _connector=condition.connector, _negated=condition.negated)


def call_seq(session: AgentSession, shown: Q) -> Case:
    """Annotation: for a tool result whose tool call comes before it and is shown too, the
    call's seq, else NULL. Such a result is shown inside its call, on the call's page, wherever
    the page boundary falls (`call_results` reads it there), never on a page of its own. One
    primary-key probe of the parent per row read."""
    answers = Q(
        type=Event.Type.TOOL_RESULT,
        parent_event__type=Event.Type.TOOL_CALL,
        parent_event__session=session,
        parent_event__seq__lt=F("seq"),
    )
    return Case(
        When(answers & _of_parent(shown), then=F("parent_event__seq")),
        default=None,
        output_field=IntegerField(),
    )


@dataclass
class CallResults:
    """A transcript page's events with every result of its tool calls, and what the page
    leaves to others."""

    # The page's events in seq order, its calls' results included wherever they lie.
    events: list[Event]
    # Results of calls shown before the page that are newer than what the reader has seen:
    # they go into their call, already on screen (only asked for with `seen`).
    late: list[Event] = field(default_factory=list)
    # The highest seq this page or those before it read (every result of their calls up to it
    # is on screen): what the next page's link carries as `seen`.
    seen: int = 0
    # More results of the page's calls than CALL_RESULTS follow the last one read.
    truncated: bool = False


def call_results(
    session: AgentSession,
    rows: list[Event],
    *,
    start: int,
    shown: Q,
    seen: int | None = None,
) -> CallResults:
    """The events of a keyset page (`rows`, from seq `start` on, annotated with `call_seq`)
    as the transcript shows them: a result whose call precedes the page is left out (it is
    shown with its call), and the results of the page's calls that lie after the page are read,
    in one query on the parent index (`event_parent`), only when the page has tool calls.
    With `seen` (the highest seq the page before this one read), results of earlier calls
    past it are returned as `late`: they came after that page was made."""
    page: list[Event] = []
    late: list[Event] = []
    for event in rows:
        call = getattr(event, "call_seq", None)
        if call is None or call >= start:
            page.append(event)
        elif seen is not None and event.seq > seen:
            late.append(event)
    highest = rows[-1].seq if rows else 0
    calls = [e.pk for e in page if e.type == Event.Type.TOOL_CALL]
    after: list[Event] = []
    if calls:
        after = list(
            Event.objects.filter(
                shown,
                session=session,
                parent_event_id__in=calls,
                type=Event.Type.TOOL_RESULT,
                seq__gt=highest,
            )
            .defer(*UNSHOWN)
            .order_by("seq")[: CALL_RESULTS + 1]
        )
    truncated = len(after) > CALL_RESULTS
    after = after[:CALL_RESULTS]
    if after:
        highest = after[-1].seq
    return CallResults(
        events=page + after,
        late=late,
        seen=max(highest, seen or 0, start - 1),
        truncated=truncated,
    )


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
    filters and `call_seq` annotation as `events.transcript_page`."""
    shown = shown_events(run_id=run_id, show_removed=show_removed, branch=branch)
    qs = (
        Event.objects.filter(shown, session=session, seq__lt=before_seq)
        .defer(*UNSHOWN)
        .select_related("usage", "summary_record")
        .annotate(call_seq=call_seq(session, shown))
    )
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
