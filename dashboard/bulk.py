"""The sessions list's bulk actions. Each is one entry of ACTIONS: a name (the button's value),
a label, the role it needs, and a function that applies it to the selected sessions and says
what it did (or answers with a response of its own, as the export's download does). Adding an
action is adding an entry; an action that needs a choice (a queue) names a template with its
extra inputs, which the bulk bar includes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.http.response import HttpResponseBase

from sessions_app.errors import InvalidInput
from sessions_app.models import AgentSession, Membership
from sessions_app.selectors.bulk import sessions_csv, sessions_keys
from sessions_app.selectors.queues import queue_of
from sessions_app.services.queues import queue_items_add
from sessions_app.services.session_bulk import sessions_archive_bulk, sessions_review_bulk

from .http import DashboardRequest

# What an action's function returns: a sentence for the list's status line, or a response.
Outcome = str | HttpResponseBase


@dataclass(frozen=True)
class BulkAction:
    """One action of the bulk bar."""

    name: str
    label: str
    run: Callable[[DashboardRequest, QuerySet[AgentSession]], Outcome]
    min_role: str = Membership.Role.EDITOR
    # A download is a plain form submission (the browser saves the answer), not an htmx swap.
    download: bool = False
    # Extra inputs the action needs, included in the bulk bar (e.g. a queue picker).
    extra_template: str = ""
    danger: bool = False


def _plural(n: int) -> str:
    return f"{n} session{'' if n == 1 else 's'}"


def _mark(status: str, done: str) -> Callable[[DashboardRequest, QuerySet[AgentSession]], Outcome]:
    def run(request: DashboardRequest, sessions: QuerySet[AgentSession]) -> Outcome:
        n = sessions_review_bulk(sessions=sessions, status=status, user=request.user)
        return f"{_plural(n)} {done}."

    return run


def _archive(request: DashboardRequest, sessions: QuerySet[AgentSession]) -> Outcome:
    n = sessions_archive_bulk(sessions=sessions)
    return f"{_plural(n)} archived."


def _add_to_queue(request: DashboardRequest, sessions: QuerySet[AgentSession]) -> Outcome:
    raw = request.POST.get("queue", "")
    if not (raw.isascii() and raw.isdigit() and len(raw) < 12):
        raise InvalidInput("Choose a queue.", field="queue")
    queue = queue_of(request.project, int(raw))
    picked = sessions_keys(sessions)
    added = queue_items_add(queue=queue, sessions=picked, added_by=request.user.get_username())
    skipped = len(picked) - added
    already = f"; {_plural(skipped)} already in it" if skipped else ""
    return f"{_plural(added)} added to {queue.name}{already}."


def _export(request: DashboardRequest, sessions: QuerySet[AgentSession]) -> Outcome:
    response = StreamingHttpResponse(sessions_csv(sessions), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{request.project.slug}-sessions.csv"'
    return response


ACTIONS: dict[str, BulkAction] = {
    a.name: a
    for a in (
        BulkAction("reviewed", "Mark reviewed", _mark("reviewed", "marked reviewed")),
        BulkAction("flagged", "Flag", _mark("flagged", "flagged")),
        BulkAction("unreviewed", "Clear review", _mark("", "cleared of review marks")),
        BulkAction(
            "queue",
            "Add to queue",
            _add_to_queue,
            extra_template="dashboard/_bulk_queue_picker.html",
        ),
        BulkAction("archive", "Archive", _archive, danger=True),
        BulkAction("export", "Export CSV", _export, min_role=Membership.Role.VIEWER, download=True),
    )
}
