"""Events of a session: post (one or many), read (ours, or items in the format written), pop
the last item, clear."""

from __future__ import annotations

import contextlib
import json
from typing import Annotated, Any, Literal

from django.db import transaction
from django.http import HttpResponse
from ninja import Query, Router, Schema
from ninja.responses import NinjaJSONEncoder
from pydantic import Field

from ..models import MAIN_BRANCH, AgentSession, Project
from ..selectors.branches import branch_filter, branch_session
from ..selectors.events import (
    can_read_tail_json,
    events_page,
    items_page,
    session_tail_items_json,
    tail_items_json,
)
from ..selectors.sessions import session_pk
from ..services.events import event_pop_last, events_append, events_clear
from .auth import ApiRequest
from .convert import check_batch_size, check_path_id, event_dict, event_inputs
from .schemas import (
    ERRORS,
    DeletedOut,
    EventPageOut,
    EventsIn,
    EventsPostOut,
    PoppedOut,
)

router = Router(tags=["events"])


def _tail_page(items: str) -> str:
    """A tail page (`EventPageOut`) as JSON text, around the items' JSON PostgreSQL wrote."""
    return f'{{"items": {items}, "next_after_seq": null}}'


def _with_items(body: dict[str, Any], items: str) -> str:
    """`body` as JSON text with `read` added: a tail page whose items' JSON PostgreSQL wrote."""
    return f'{_json(body)[:-1]}, "read": {_tail_page(items)}}}'


def _json(body: dict[str, Any]) -> str:
    return json.dumps(body, cls=NinjaJSONEncoder)


def append(
    project: Project, session_external_id: str, payload: EventsIn
) -> tuple[bool, dict[str, Any] | str]:
    """Store a validated batch; returns whether anything was created and the response body
    (with the page asked for in `read`, read after the batch was stored; already JSON text
    when PostgreSQL wrote the page)."""
    check_batch_size(len(payload.events))
    inputs, primary = event_inputs(payload.events, payload.raw_events)
    check_batch_size(len(inputs))
    read = payload.read
    # A read of a named branch can still fail (no such branch) after the events are stored:
    # then nothing is stored, as with any other error of the request.
    checked = read is not None and read.branch not in (None, MAIN_BRANCH)
    with transaction.atomic() if checked else contextlib.nullcontext():
        session, results = events_append(
            project=project, session_external_id=session_external_id, events=inputs
        )
        answers = [results[i] for i in primary]
        created = any(r.status == "created" for r in answers)
        body: dict[str, Any] = {
            "session_id": session.external_id,
            "results": [{"id": r.external_id, "seq": r.seq, "status": r.status} for r in answers],
        }
        if read is not None:
            # The page a GET of the addressed session gives: the session just written when
            # the batch went there (no second lookup), else the addressed one (its segment
            # took the batch).
            if session.external_id != session_external_id:
                session = session_pk(project, session_external_id)
            if read.format and read.tail and read.branch is None and can_read_tail_json():
                return created, _with_items(
                    body,
                    tail_items_json(
                        session, fmt=read.format, limit=read.limit, after_seq=read.after_seq
                    ),
                )
            body["read"] = page(
                session,
                fmt=read.format,
                after_seq=read.after_seq,
                limit=read.limit,
                tail=read.tail,
                branch=read.branch,
            )
    return created, body


@router.post(
    "/sessions/{external_id}/events",
    response={200: EventsPostOut, 201: EventsPostOut, **ERRORS},
    summary="Append events",
)
def post_events(request: ApiRequest, external_id: str, payload: EventsIn) -> HttpResponse:
    """Append events in order (all or nothing); the session is created if missing. 201 when
    anything was stored, 200 when every event was a duplicate of a stored one. With `read`,
    the answer's `read` is the page `GET .../events` with those parameters gives, read after
    the events were stored (a flush and a read in one round trip)."""
    created, body = append(request.auth.project, check_path_id(external_id), payload)
    # The hot path of every agent: the body is built above from stored values in the shape of
    # EventsPostOut, so it is rendered as Ninja renders it, without being validated once more.
    return HttpResponse(
        body if isinstance(body, str) else _json(body),
        status=201 if created else 200,
        content_type="application/json; charset=utf-8",
    )


def page(
    session: AgentSession,
    *,
    fmt: str | None,
    after_seq: int,
    limit: int,
    tail: bool = False,
    include_removed: bool = False,
    branch: str | None = None,
) -> dict[str, Any]:
    """A page of a session's events (`{items, next_after_seq}`): with `fmt`, the items written
    in that format exactly as sent; else our events."""
    session = branch_session(session, branch)
    condition = None if branch is None else branch_filter(session, branch)
    if fmt:
        items, next_after = items_page(
            session, fmt=fmt, after_seq=after_seq, limit=limit, branch=condition, tail=tail
        )
        return {"items": items, "next_after_seq": next_after}
    rows, next_after = events_page(
        session,
        after_seq=after_seq,
        limit=limit,
        include_removed=include_removed,
        branch=condition,
    )
    return {"items": [event_dict(e) for e in rows], "next_after_seq": next_after}


class EventsQuery(Schema):
    after_seq: int = Field(0, ge=0, le=2**31 - 1)
    limit: int = Field(100, ge=1, le=1000)
    format: Literal["openai_chat", "responses", "agent_framework", "native"] | None = Field(
        None, description="Return the items written in this format exactly as sent."
    )
    tail: bool = Field(
        False,
        description="With `format=`: the latest `limit` items (in seq order, "
        "`next_after_seq` null) instead of the first `limit` after `after_seq`.",
    )
    include_removed: bool = Field(
        False,
        description="Native reads only: include the events an agent popped or cleared "
        "(`removed_at`, `removed_by` tell when and by which call).",
    )
    branch: Annotated[str, Field(max_length=100)] | None = Field(
        None, description="Only this branch's events (its own and its parents' up to the fork)."
    )


@router.get(
    "/sessions/{external_id}/events",
    response={200: EventPageOut, **ERRORS},
    summary="Read events",
)
def get_events(
    request: ApiRequest, external_id: str, query: Query[EventsQuery]
) -> dict[str, Any] | HttpResponse:
    """Events in seq order after `after_seq`; pass `next_after_seq` back for the next page.
    With `format=`, the items written in that format, exactly as the agent sent them."""
    if query.format and query.tail and query.branch is None and can_read_tail_json():
        # An SDK session's get_items(limit): one statement, the items' JSON written by PostgreSQL.
        items = session_tail_items_json(
            request.auth.project,
            check_path_id(external_id),
            fmt=query.format,
            limit=query.limit,
            after_seq=query.after_seq,
        )
        return HttpResponse(
            _tail_page(items),
            content_type="application/json; charset=utf-8",
        )
    session = session_pk(request.auth.project, check_path_id(external_id))
    return page(
        session,
        fmt=query.format,
        after_seq=query.after_seq,
        limit=query.limit,
        tail=query.tail,
        include_removed=query.include_removed,
        branch=query.branch,
    )


class PopQuery(Schema):
    format: Literal["openai_chat", "responses", "agent_framework", "native"] | None = Field(
        None, description="Pop the latest item written in this format (other events stay)."
    )
    branch: Annotated[str, Field(max_length=100)] | None = Field(
        None, description="Pop the latest item written on this branch."
    )


@router.delete(
    "/sessions/{external_id}/events/last",
    response={200: PoppedOut, **ERRORS},
    summary="Pop the last item",
)
def pop_last(request: ApiRequest, external_id: str, query: Query[PopQuery]) -> dict[str, Any]:
    """Remove the latest item (with the events derived from it) from the agent's reads and
    return it; `item` is null when nothing is left. The item stays in the record (marked
    removed by `pop`) and in the cost figures."""
    session = branch_session(
        session_pk(request.auth.project, check_path_id(external_id)), query.branch
    )
    popped = event_pop_last(session=session, fmt=query.format, branch=query.branch)
    return {"item": event_dict(popped) if popped else None}


@router.delete(
    "/sessions/{external_id}/events",
    response={200: DeletedOut, **ERRORS},
    summary="Clear all events",
)
def clear_events(request: ApiRequest, external_id: str) -> dict[str, int]:
    """Remove every event from the agent's reads; `deleted` counts them. They stay in the
    record (marked removed by `clear`) and in the cost figures; the session and runs stay."""
    session = session_pk(request.auth.project, check_path_id(external_id))
    return {"deleted": events_clear(session=session)}
