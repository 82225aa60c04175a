"""Sessions: upsert, read with rollups, list (filters, cursor pagination), delete the subtree."""

from __future__ import annotations

from typing import Any, Literal

from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from ..selectors.session_list import ApiSessionFilters, api_sessions_page
from ..selectors.sessions import session_by_external_id, session_pk
from ..services.sessions import UNSET, session_delete, session_upsert
from .auth import ApiRequest
from .convert import check_path_id, check_query_text, session_dict
from .schemas import (
    ERRORS,
    CleanStr,
    DeletedOut,
    Moment,
    SessionIn,
    SessionKind,
    SessionListOut,
    SessionOut,
    SessionStatus,
)

router = Router(tags=["sessions"])


class SessionListQuery(Schema):
    model_config = ConfigDict(extra="ignore")

    parent: CleanStr | None = Field(None, description="External id of the parent session.")
    kind: SessionKind | None = None
    agent: CleanStr | None = Field(None, description="agent_name equals this.")
    user_ref: CleanStr | None = None
    status: SessionStatus | None = None
    created_after: Moment | None = None
    created_before: Moment | None = None
    active_after: Moment | None = Field(None, description="Last activity at or after this.")
    active_before: Moment | None = None
    sort: Literal["last_activity", "created"] = "last_activity"
    cursor: CleanStr | None = Field(None, max_length=500)
    limit: int = Field(50, ge=1, le=200)


def upsert_fields(payload: SessionIn) -> tuple[dict, Any, str | None]:
    """Split a SessionIn into the service's fields, parent (UNSET when not sent) and kind."""
    sent = payload.model_fields_set
    fields = {
        name: getattr(payload, name)
        for name in (
            "title",
            "agent_name",
            "user_ref",
            "status",
            "metadata",
            "state",
            "service_session_id",
        )
        if name in sent and getattr(payload, name) is not None
    }
    parent = payload.parent_id if "parent_id" in sent else UNSET
    return fields, parent, payload.kind


@router.put(
    "/sessions/{external_id}",
    response={200: SessionOut, 201: SessionOut, **ERRORS},
    summary="Create or update a session",
)
def put_session(request: ApiRequest, external_id: str, payload: SessionIn) -> Status:
    """Create the session (201) or change the fields sent (200). A parent that does not exist
    yet is created as an empty root."""
    project = request.auth.project
    external_id = check_path_id(external_id)
    fields, parent, kind = upsert_fields(payload)
    _, created = session_upsert(
        project=project,
        external_id=external_id,
        fields=fields,
        parent_external_id=parent,
        kind=kind,
    )
    session = session_by_external_id(project, external_id)
    return Status(201 if created else 200, session_dict(session))


@router.get(
    "/sessions/{external_id}", response={200: SessionOut, **ERRORS}, summary="Get a session"
)
def get_session(request: ApiRequest, external_id: str) -> dict[str, Any]:
    """A session with its rollups (event_count, tokens, cost_usd, last_seq, error_count)."""
    external_id = check_path_id(external_id)
    return session_dict(session_by_external_id(request.auth.project, external_id))


@router.get("/sessions", response={200: SessionListOut, **ERRORS}, summary="List sessions")
def list_sessions(request: ApiRequest, filters: Query[SessionListQuery]) -> dict[str, Any]:
    """Sessions newest first by last activity (`sort=created`: by creation), filtered; pass
    `next_cursor` back as `cursor` for the next page. `metadata.<key>=<value>` filters on a
    metadata string value (e.g. `metadata.env=prod`)."""
    metadata = {
        key.removeprefix("metadata."): check_query_text(request.GET.get(key, ""), field=key)
        for key in request.GET
        if key.startswith("metadata.")
    }
    rows, next_cursor = api_sessions_page(
        request.auth.project,
        filters=ApiSessionFilters(
            parent=filters.parent,
            kind=filters.kind,
            agent=filters.agent,
            user_ref=filters.user_ref,
            status=filters.status,
            created_after=(filters.created_after),
            created_before=(filters.created_before),
            active_after=(filters.active_after),
            active_before=(filters.active_before),
        ),
        metadata=metadata,
        sort=filters.sort,
        cursor=filters.cursor,
        limit=filters.limit,
    )
    return {"items": [session_dict(s) for s in rows], "next_cursor": next_cursor}


@router.delete(
    "/sessions/{external_id}", response={200: DeletedOut, **ERRORS}, summary="Delete a session"
)
def delete_session(request: ApiRequest, external_id: str) -> dict[str, int]:
    """Delete a session with its whole subtree (children, segments) and all their events."""
    session = session_pk(request.auth.project, check_path_id(external_id))
    return {"deleted": session_delete(session=session)}
