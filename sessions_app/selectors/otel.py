"""Reads for the OTLP receiver (what is stored already) and the session page's turn timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import F

from ..db import server_bound
from ..jsontext import document
from ..models import AgentSession, Event, Project

# One index probe per id, never a scan of the project's events: live events through their
# unique index, removed ones (an id may be stored removed, even several times) through
# `event_removed_external_id`. Asked of both at once, no index answers (84,000 events: 33 ms a
# batch, growing with the table); as `EXISTS` the prepared statement's generic plan hashed every
# id of the project (24 ms at 24,000 events). A LATERAL subquery with a LIMIT is probed per id.
STORED_IDS_SQL = (
    "SELECT wanted.external_id FROM json_array_elements_text(%(ids)s::json) AS "
    f"wanted(external_id), LATERAL (SELECT 1 FROM {Event._meta.db_table} WHERE project_id = "
    "%(project)s AND external_id = wanted.external_id AND removed_at IS NULL UNION ALL "
    f"SELECT 1 FROM {Event._meta.db_table} WHERE project_id = %(project)s AND external_id = "
    "wanted.external_id AND removed_at IS NOT NULL LIMIT 1) AS hit"
)


def stored_event_ids(project: Project, ids: list[str]) -> set[str]:
    """Which of these event ids the project already holds (one query). Events an agent popped
    or cleared count: an exporter's retry of their spans adds nothing (the record keeps them,
    removed), rather than bringing them back as live events."""
    if not ids:
        return set()
    if connection.vendor != "postgresql":
        return set(
            Event.objects.filter(project=project, external_id__in=ids).values_list(
                "external_id", flat=True
            )
        )
    rows = server_bound(STORED_IDS_SQL, {"ids": document(ids, default=str), "project": project.pk})
    return {row[0] for row in rows}


# As above: one probe of the partial (project, span_id) index per id (`OFFSET 0` keeps the
# subquery from being flattened into a join the generic plan hashed: every event with a span,
# 20 ms at 12,000), and one server-side JSON parameter instead of 500 client-quoted literals.
EVENTS_BY_SPAN_SQL = (
    "SELECT e.span_id, e.external_id FROM json_array_elements_text(%s::json) AS "
    f"wanted(span_id), LATERAL (SELECT span_id, external_id FROM {Event._meta.db_table} "
    "WHERE project_id = %s AND span_id = wanted.span_id AND span_id <> '' OFFSET 0) AS e"
)


def events_by_span(project: Project, span_ids: list[str]) -> list[tuple[str, str]]:
    """(span id, event id) of stored events that came from these spans (one query)."""
    if not span_ids:
        return []
    if connection.vendor != "postgresql":
        return list(
            Event.objects.filter(project=project, span_id__in=span_ids).values_list(
                "span_id", "external_id"
            )
        )
    return list(server_bound(EVENTS_BY_SPAN_SQL, [document(span_ids, default=str), project.pk]))


# --- the turn timeline ------------------------------------------------------------------------

TIMELINE_TYPES = (Event.Type.MESSAGE, Event.Type.TOOL_RESULT, Event.Type.ERROR)
ROW_HEIGHT = 20


@dataclass
class Bar:
    """One model or tool call on the time axis, as percentages of the turn's span."""

    seq: int
    label: str
    kind: str  # "model", "tool" or "error"
    start: datetime
    duration_ms: int
    left: float = 0.0
    width: float = 0.0
    y: int = 0  # the bar's row, in SVG user units

    @property
    def end(self) -> float:
        """Where the bar ends, in percent of the axis (its label starts there)."""
        return round(self.left + self.width, 2)

    @property
    def text_y(self) -> int:
        return self.y + 12


@dataclass
class Turn:
    """A run (or the calls outside any run) with its calls laid out on one time axis."""

    title: str
    started_at: datetime
    total_ms: int
    bars: list[Bar]

    @property
    def height(self) -> int:
        """The SVG's height: one row per call."""
        return len(self.bars) * ROW_HEIGHT


def session_timeline(session: AgentSession, *, limit: int = 200) -> list[Turn]:
    """The model and tool calls with a latency, grouped by run, laid out on a time axis.

    An event's `timestamp` is when the call finished and `duration_ms` how long it took, as the
    OTLP receiver stores them and as JSON API clients report them. One query; at most `limit`
    calls (the latest), so a long session's page stays light.
    """
    rows = list(
        Event.objects.filter(session=session, duration_ms__isnull=False, type__in=TIMELINE_TYPES)
        .annotate(
            model=F("usage__model"), run_name=F("run__external_id"), agent=F("run__agent_name")
        )
        .order_by("-seq")
        .values(
            "seq", "run_id", "run_name", "agent", "type", "name", "model", "timestamp",
            "duration_ms", "is_error",
        )[:limit]
    )  # fmt: skip
    rows.reverse()
    titles = {
        row["run_id"]: f"Run {row['run_name']}" + (f" ({row['agent']})" if row["agent"] else "")
        for row in rows
        if row["run_id"]
    }
    groups: dict[int | None, list[Bar]] = {}
    for row in rows:
        kind = "tool" if row["type"] == Event.Type.TOOL_RESULT else "model"
        if row["is_error"]:
            kind = "error"
        label = row["name"] or row["model"] or kind
        start = row["timestamp"] - timedelta(milliseconds=row["duration_ms"])
        bar = Bar(row["seq"], label, kind, start, row["duration_ms"])
        groups.setdefault(row["run_id"], []).append(bar)
    turns = []
    for run_id, bars in groups.items():
        begin = min(b.start for b in bars)
        end = max(b.start + timedelta(milliseconds=b.duration_ms) for b in bars)
        total = max(int((end - begin).total_seconds() * 1000), 1)
        for i, b in enumerate(bars):
            b.y = i * ROW_HEIGHT
            b.left = round((b.start - begin).total_seconds() * 1000 / total * 100, 2)
            b.width = max(round(b.duration_ms / total * 100, 2), 0.5)
        turns.append(Turn(titles.get(run_id, "Calls outside a run"), begin, total, bars))
    turns.sort(key=lambda t: t.started_at)
    return turns
