"""The sessions a bulk action on the list applies to: the rows picked, or all the filter
matches."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from django.db.models import QuerySet

from ..models import AgentSession, Project
from .session_list import SessionFilters, sessions_filtered

# Picked rows come from one page of the list; more than this is not a picking.
MAX_PICKED = 500
EXPORT_COLUMNS = (
    "external_id",
    "title",
    "agent_name",
    "user_ref",
    "kind",
    "status",
    "created_at",
    "last_event_at",
    "event_count",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cost_usd",
    "error_count",
    "review_status",
)


def sessions_selected(
    project: Project,
    *,
    ids: Iterable[int] = (),
    filters: SessionFilters | None = None,
) -> QuerySet[AgentSession]:
    """The project's sessions with these primary keys, or, given `filters`, every session the
    list's filters match (on any page). Ids of another project's sessions select nothing."""
    if filters is not None:
        return sessions_filtered(project, filters)
    return AgentSession.objects.filter(project=project, pk__in=list(ids)[:MAX_PICKED])


def sessions_keys(sessions: QuerySet[AgentSession]) -> list[AgentSession]:
    """The selected sessions with only their id and project loaded (one query), for a service
    that takes the sessions themselves (adding them to a queue)."""
    return list(sessions.order_by().only("id", "project_id"))


def sessions_csv(sessions: QuerySet[AgentSession]) -> Iterator[str]:
    """The sessions as CSV, one line at a time (a header first), in the list's default order,
    read in chunks so a large selection is never held in memory."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(row: Iterable[object]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(row)
        return buffer.getvalue()

    yield line(EXPORT_COLUMNS)
    rows = (
        sessions.order_by("-last_event_at", "-pk")
        .values_list(*EXPORT_COLUMNS)
        .iterator(chunk_size=1000)
    )
    cost_at = EXPORT_COLUMNS.index("cost_usd")
    for row in rows:
        values = list(row)
        cost = values[cost_at]
        values[cost_at] = format(cost.normalize(), "f") if cost is not None else ""
        yield line(_cell(v) for v in values)


# A text cell starting with one of these is a formula to a spreadsheet: agent-written titles
# and user refs are untrusted, so such a cell gets a leading apostrophe (OWASP's advice).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    isoformat = getattr(value, "isoformat", None)
    if isoformat:
        return isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
