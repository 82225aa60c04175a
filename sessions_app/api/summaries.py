"""Summaries: `POST /sessions/{id}/summaries` queues one (202), `GET /summaries/{id}` polls it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Router, Schema, Status
from pydantic import ConfigDict, Field

from ..models import Summary
from ..selectors.sessions import session_pk
from ..selectors.summaries import summary_for_api
from ..services.segments import session_current
from ..services.summaries import summary_request
from .auth import ApiRequest
from .convert import check_path_id
from .schemas import ERRORS, CleanStr, Money

router = Router(tags=["summaries"])


class SummaryIn(Schema):
    model_config = ConfigDict(extra="forbid")

    strategy: str = Field("basic", description="basic, key_points, topic_based, query_focused")
    model: CleanStr | None = Field(
        None, max_length=255, description="litellm model name; the server's SUMMARY_MODEL if unset."
    )
    query: CleanStr = Field("", max_length=2000, description="What query_focused focuses on.")


class SummaryOut(Schema):
    id: int
    session: str
    strategy: str
    model: str
    query: str
    status: str = Field(description="queued, running, succeeded or failed")
    extractive: bool = Field(description="True: no model credentials, sentences were extracted.")
    text: str
    covers_up_to_seq: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_usd: Money
    error: str
    attempts: int
    event_seq: int | None = Field(description="seq of the `summary` event written, once done.")
    segment: str | None = Field(description="The segment this summary opened, if any.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def summary_dict(summary: Summary) -> dict[str, Any]:
    """A summary as the API shows it (session, event and segment joined, not fetched)."""
    return {
        **{
            name: getattr(summary, name)
            for name in (
                "id",
                "strategy",
                "model",
                "query",
                "status",
                "extractive",
                "text",
                "covers_up_to_seq",
                "prompt_tokens",
                "completion_tokens",
                "total_tokens",
                "cost_usd",
                "error",
                "attempts",
                "created_at",
                "started_at",
                "finished_at",
            )
        },
        "session": summary.session.external_id,
        "event_seq": summary.event.seq if summary.event else None,
        "segment": summary.segment.external_id if summary.segment else None,
    }


@router.post(
    "/sessions/{external_id}/summaries",
    response={202: SummaryOut, **ERRORS},
    summary="Request a summary",
)
def create_summary(request: ApiRequest, external_id: str, payload: SummaryIn):
    """Queue a summary of the session's events so far; poll `GET /summaries/{id}` until it
    has `succeeded` or `failed`. Like event posts, a summarized id addresses its newest
    segment."""
    project = request.auth.project
    session = session_current(session_pk(project, check_path_id(external_id)))
    summary = summary_request(
        session=session, strategy=payload.strategy, model=payload.model, query=payload.query
    )
    return Status(202, summary_dict(summary_for_api(project.pk, summary.pk)))


@router.get("/summaries/{summary_id}", response={200: SummaryOut, **ERRORS}, summary="A summary")
def get_summary(request: ApiRequest, summary_id: int):
    """A summary's status and, once succeeded, its text, usage and the event it wrote."""
    return summary_dict(summary_for_api(request.auth.project.pk, summary_id))
