"""Reads of summaries: a session's list, one summary for the pages and for the API."""

from __future__ import annotations

from ..errors import NotFound
from ..models import Summary


def session_summaries(session_id: int, *, limit: int = 20) -> list[Summary]:
    """A session's latest summaries, newest first, with the seq of the event each wrote."""
    return list(
        Summary.objects.filter(session_id=session_id)
        .select_related("event")
        .only(*SUMMARY_COLUMNS, "event__seq")
        .order_by("-created_at", "-id")[:limit]
    )


def summary_of_project(project_id: int, pk: int) -> Summary | None:
    """One summary of the project (None for another project's: the caller answers 404)."""
    return (
        Summary.objects.filter(project_id=project_id, pk=pk)
        .select_related("event")
        .only(*SUMMARY_COLUMNS, "event__seq")
        .first()
    )


SUMMARY_COLUMNS = (
    "id",
    "project_id",
    "session_id",
    "strategy",
    "query",
    "model",
    "extractive",
    "status",
    "text",
    "covers_up_to_seq",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cost_usd",
    "error",
    "attempts",
    "event",
    "segment_id",
    "created_at",
    "started_at",
    "finished_at",
)


def summary_for_api(project_id: int, pk: int) -> Summary:
    """One summary of the project with its session, event and segment joined (their JSON
    columns deferred), or a 404 naming `id`."""
    summary = (
        Summary.objects.filter(project_id=project_id, pk=pk)
        .select_related("session", "event", "segment")
        .defer("session__state", "session__metadata", "event__payload", "segment__state")
        .first()
    )
    if summary is None:
        raise NotFound(f"No summary {pk}.", field="id")
    return summary
