"""Read queries of the agents' API: one query per page, keyset pagination, project-scoped."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import F, Q, QuerySet

from ..errors import InvalidInput, NotFound
from ..models import AgentSession, ApiKey, Event, Project, Run

# Metadata keys usable in `metadata.<key>=value` filters: plain names, so a key can never turn
# into a Django lookup (`__contains`) or a nested path.
METADATA_KEY = re.compile(r"^[A-Za-z0-9_\-]{1,100}$")
SORTS = {"last_activity": "last_event_at", "created": "created_at"}


def project_of(key: ApiKey) -> Project:
    """The project an authenticated API key belongs to."""
    return key.project


def sessions_annotated(project: Project) -> QuerySet[AgentSession]:
    """A project's sessions with the external ids of parent and segment, joined not fetched."""
    return AgentSession.objects.filter(project=project).annotate(
        parent_external_id=F("parent__external_id"),
        continued_in_external_id=F("continued_in__external_id"),
    )


def session_by_external_id(project: Project, external_id: str) -> AgentSession:
    """One session of the project, or 404 (another project's session is not found either)."""
    session = sessions_annotated(project).filter(external_id=external_id).first()
    if session is None:
        raise NotFound(f"No session {external_id!r}.", field="external_id")
    return session


def session_pk(project: Project, external_id: str) -> AgentSession:
    """A session's bare row (no JSON columns) for writes that only need its id, or 404."""
    session = (
        AgentSession.objects.filter(project=project, external_id=external_id)
        .only("id", "project_id", "external_id", "path", "parent_id", "last_seq")
        .first()
    )
    if session is None:
        raise NotFound(f"No session {external_id!r}.", field="external_id")
    return session


@dataclass(frozen=True)
class SessionFilters:
    parent: str | None = None
    kind: str | None = None
    agent: str | None = None
    user_ref: str | None = None
    status: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    active_after: datetime | None = None
    active_before: datetime | None = None


def encode_cursor(value: datetime, pk: int) -> str:
    """An opaque cursor holding the sort key and the id of the last row shown."""
    raw = json.dumps([value.isoformat(), pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The sort key and id inside a cursor, or a 422 naming `cursor`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, pk = json.loads(raw)
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None or not isinstance(pk, int):
            raise ValueError(cursor)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput("The cursor is not one this API gave out.", field="cursor") from exc
    return moment, pk


def sessions_page(
    project: Project,
    *,
    filters: SessionFilters,
    metadata: dict[str, str],
    sort: str = "last_activity",
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[AgentSession], str | None]:
    """A page of sessions, newest first by last activity (or creation), by keyset."""
    column = SORTS[sort]
    qs = sessions_annotated(project)
    simple = {
        "parent__external_id": filters.parent,
        "kind": filters.kind,
        "agent_name": filters.agent,
        "user_ref": filters.user_ref,
        "status": filters.status,
        "created_at__gte": filters.created_after,
        "created_at__lt": filters.created_before,
        "last_event_at__gte": filters.active_after,
        "last_event_at__lt": filters.active_before,
    }
    qs = qs.filter(**{k: v for k, v in simple.items() if v is not None})
    for key, value in metadata.items():
        if not METADATA_KEY.match(key) or "__" in key:
            raise InvalidInput(
                "Metadata filter keys are letters, digits, '_' and '-'.", field=f"metadata.{key}"
            )
        qs = qs.filter(**{f"metadata__{key}": value})
    if cursor:
        value, pk = decode_cursor(cursor)
        qs = qs.filter(Q(**{f"{column}__lt": value}) | Q(**{column: value, "id__lt": pk}))
    rows = list(qs.order_by(f"-{column}", "-id")[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(getattr(last, column), last.pk)
    return rows, next_cursor


def events_page(
    session: AgentSession, *, after_seq: int, limit: int
) -> tuple[list[Event], int | None]:
    """A page of events in seq order with usage, parent and run ids, in one query."""
    rows = list(
        Event.objects.filter(session=session, seq__gt=after_seq)
        .select_related("usage")
        .annotate(
            parent_external_id=F("parent_event__external_id"),
            run_external_id=F("run__external_id"),
        )
        .order_by("seq")[: limit + 1]
    )
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].seq
    return rows, None


def items_page(
    session: AgentSession, *, fmt: str, after_seq: int, limit: int
) -> tuple[list[Any], int | None]:
    """The stored items written in a format, exactly as sent, in seq order (an SDK session's
    `get_items`); events derived from an item have no payload and are not repeated."""
    rows = list(
        Event.objects.filter(
            session=session, seq__gt=after_seq, payload_format=fmt, payload__isnull=False
        )
        .order_by("seq")
        .values_list("seq", "payload")[: limit + 1]
    )
    next_after = rows[limit - 1][0] if len(rows) > limit else None
    return [payload for _, payload in rows[:limit]], next_after


def run_by_external_id(project: Project, external_id: str) -> Run:
    """A run of the project with its session's external id, or 404."""
    run = (
        Run.objects.filter(project=project, external_id=external_id)
        .annotate(session_external_id=F("session__external_id"))
        .first()
    )
    if run is None:
        raise NotFound(f"No run {external_id!r}.", field="external_id")
    return run
