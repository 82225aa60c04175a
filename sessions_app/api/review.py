"""Review by programs: scores (`POST /scores`, idempotent by `id`) and comments on sessions and
events; both readable per session."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Router, Status
from pydantic import BaseModel, ConfigDict, Field

from ..models import Comment, Score
from ..selectors.review import (
    event_in_session,
    score_config_named,
    session_comments,
    session_scores,
)
from ..selectors.sessions import session_pk
from ..services.comments import comment_add
from ..services.scores import score_record
from .auth import ApiRequest
from .convert import check_path_id
from .schemas import ERRORS, CleanStr, ExternalId

router = Router(tags=["review"])


class ScoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: ExternalId | None = Field(None, description="Idempotency key: a retry is safe.")
    session_id: ExternalId
    event_id: ExternalId | None = None
    name: CleanStr = Field(min_length=1, max_length=100)
    value: Any = Field(description="A number, true/false, or a label (categorical).")
    comment: CleanStr = Field("", max_length=10_000)


class ScoreOut(BaseModel):
    id: str | None
    session_id: str
    event_id: str | None
    name: str
    data_type: str
    value: Any
    comment: str
    source: str
    author: str
    created_at: datetime


class ScoreListOut(BaseModel):
    items: list[ScoreOut]


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: CleanStr = Field(min_length=1, max_length=10_000)
    event_id: ExternalId | None = None


class CommentOut(BaseModel):
    id: int
    session_id: str
    event_id: str | None
    text: str
    author: str
    created_at: datetime
    updated_at: datetime


class CommentListOut(BaseModel):
    items: list[CommentOut]


def score_dict(score: Score, session_external_id: str) -> dict[str, Any]:
    """A score as the API shows it."""
    return {
        "id": score.external_id,
        "session_id": session_external_id,
        "event_id": score.event.external_id if score.event_id and score.event else None,
        "name": score.name,
        "data_type": score.data_type,
        "value": score.value,
        "comment": score.comment,
        "source": score.source,
        "author": score.author_name,
        "created_at": score.created_at,
    }


def comment_dict(comment: Comment, session_external_id: str) -> dict[str, Any]:
    """A comment as the API shows it."""
    return {
        "id": comment.pk,
        "session_id": session_external_id,
        "event_id": comment.event.external_id if comment.event_id and comment.event else None,
        "text": comment.text,
        "author": comment.author_name,
        "created_at": comment.created_at,
        "updated_at": comment.updated_at,
    }


@router.post("/scores", response={200: ScoreOut, 201: ScoreOut, **ERRORS}, summary="Add a score")
def post_score(request: ApiRequest, payload: ScoreIn) -> Status:
    """Score a session or one of its events (201). A retry with the same `id` and body returns
    the stored score (200); the same `id` with another body is a 409. A value that does not fit
    the score config of that name is a 422 naming `value`; a name with no config is an ad-hoc
    score of the value's type."""
    key = request.auth
    project = key.project
    session = session_pk(project, payload.session_id)
    event = event_in_session(session, payload.event_id) if payload.event_id else None
    score, created = score_record(
        session=session,
        event=event,
        name=payload.name,
        value=payload.value,
        config=score_config_named(project, payload.name.strip()),
        comment=payload.comment,
        external_id=payload.id,
        body=payload.model_dump(exclude={"id"}),
        author_name=key.name,
    )
    score.event = event
    return Status(201 if created else 200, score_dict(score, session.external_id))


@router.get(
    "/sessions/{external_id}/scores",
    response={200: ScoreListOut, **ERRORS},
    summary="A session's scores",
)
def get_scores(request: ApiRequest, external_id: str) -> dict[str, Any]:
    """The scores of a session and of its events, oldest first."""
    key = request.auth
    session = session_pk(key.project, check_path_id(external_id))
    return {"items": [score_dict(s, session.external_id) for s in session_scores(session)]}


@router.post(
    "/sessions/{external_id}/comments",
    response={201: CommentOut, **ERRORS},
    summary="Comment on a session or event",
)
def post_comment(request: ApiRequest, external_id: str, payload: CommentIn) -> Status:
    """Add a comment, written by the API key's name, to the session or to its event
    `event_id`."""
    key = request.auth
    session = session_pk(key.project, check_path_id(external_id))
    event = event_in_session(session, payload.event_id) if payload.event_id else None
    comment = comment_add(session=session, text=payload.text, event=event, author_name=key.name)
    comment.event = event
    return Status(201, comment_dict(comment, session.external_id))


@router.get(
    "/sessions/{external_id}/comments",
    response={200: CommentListOut, **ERRORS},
    summary="A session's comments",
)
def get_comments(request: ApiRequest, external_id: str) -> dict[str, Any]:
    """The comments on a session and its events, newest last."""
    key = request.auth
    session = session_pk(key.project, check_path_id(external_id))
    return {"items": [comment_dict(c, session.external_id) for c in session_comments(session)]}
