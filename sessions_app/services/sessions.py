"""Sessions: upsert by external id, the tree (parent, root, path, depth), deletion of a subtree."""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import CharField, F, Max, Value
from django.db.models.functions import Cast, Concat, Substr, TruncDate
from django.utils import timezone

from ..errors import InvalidInput
from ..models import AgentSession, Event, Project, Run, Summary, TokenUsage
from ..usage_fields import usage_sums
from .score_values import score_values_agent_set
from .usage import daily_usage_apply

# Fields a client may set on a session through the API (everything else is server-owned).
WRITABLE_FIELDS = frozenset(
    {"title", "agent_name", "user_ref", "status", "metadata", "state", "service_session_id"}
)
# A materialised path of ~9 characters a level fits 2,000 characters with room to spare.
MAX_DEPTH = 100
UNSET: Any = object()


def _path_for(session: AgentSession, parent: AgentSession | None) -> str:
    return f"{parent.path if parent else '/'}{session.pk}/"


def _insert_session(
    *, project: Project, external_id: str, parent: AgentSession | None, kind: str, fields: dict
) -> tuple[AgentSession, bool]:
    """Insert a session unless a concurrent writer did; return the stored row and whether we
    created it. Must run inside a transaction."""
    try:
        with transaction.atomic():
            session = AgentSession.objects.create(
                project=project,
                external_id=external_id,
                parent=parent,
                root_id=parent.root_id if parent else None,
                depth=parent.depth + 1 if parent else 0,
                kind=kind,
                **fields,
            )
    except IntegrityError:
        return AgentSession.objects.select_for_update().get(
            project=project, external_id=external_id
        ), False
    updates: dict[str, Any] = {"path": _path_for(session, parent)}
    if parent is None:
        updates["root_id"] = session.pk
    AgentSession.objects.filter(pk=session.pk).update(**updates)
    for name, value in updates.items():
        setattr(session, name, value)
    if parent is not None:
        AgentSession.objects.filter(pk=parent.pk).update(children_count=F("children_count") + 1)
    return session, True


def _lock_key(project_id: int, external_id: str) -> int:
    """A 64-bit advisory lock key standing for a session id (existing or not) in a project."""
    digest = hashlib.blake2b(f"{project_id}:{external_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _lock_ids_in_order(project: Project, external_ids: list[str]) -> None:
    """Take transaction-level locks standing for these session ids, in one fixed order (by key).

    An upsert with a parent locks (or creates) the parent's row and then its own. Two writers
    making each other's session the parent (`PUT a {parent b}` and `PUT b {parent a}`) would
    take those rows in opposite orders, or wait on each other's uncommitted insert in the
    unique index: a deadlock, which PostgreSQL breaks by failing one. Locks taken first, in one
    order, make the second wait for the first's commit instead; rows that do not exist yet
    are covered too. SQLite's IMMEDIATE transactions already serialise writers."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for key in sorted({_lock_key(project.pk, i) for i in external_ids}):
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def session_get_or_create(*, project: Project, external_id: str) -> tuple[AgentSession, bool]:
    """The session with this external id, created as an empty root if it does not exist.

    Must run inside a transaction; the returned row is locked (SELECT ... FOR UPDATE on
    PostgreSQL; SQLite's IMMEDIATE transactions already serialise writers).
    """
    session = (
        AgentSession.objects.select_for_update()
        .filter(project=project, external_id=external_id)
        .first()
    )
    if session is not None:
        return session, False
    return _insert_session(
        project=project,
        external_id=external_id,
        parent=None,
        kind=AgentSession.Kind.ROOT,
        fields={},
    )


def sessions_lock(*, project: Project, external_ids: list[str]) -> dict[str, AgentSession]:
    """The existing sessions among these ids, locked in one query (in id order, the order every
    batch locks them in, so two batches never wait on each other crosswise). Must run inside a
    transaction."""
    rows = (
        AgentSession.objects.select_for_update()
        .filter(project=project, external_id__in=external_ids)
        .order_by("pk")
    )
    return {s.external_id: s for s in rows}


def sessions_create(
    *, project: Project, fields: dict[str, dict[str, Any]]
) -> dict[str, AgentSession]:
    """Create root sessions by external id, each with its fields: one insert and one update
    whatever their number. Must run inside a transaction; the rows are locked as created.

    When a concurrent writer created one of them meanwhile, each is upserted on its own."""
    for external_id, values in fields.items():
        if not external_id or len(external_id) > 255:
            raise InvalidInput("external_id must be 1 to 255 characters.", field="external_id")
        _validate_fields(values)
    rows = [
        AgentSession(
            project=project,
            external_id=external_id,
            depth=0,
            kind=AgentSession.Kind.ROOT,
            **values,
        )
        for external_id, values in fields.items()
    ]
    if not rows:
        return {}
    try:
        with transaction.atomic():
            AgentSession.objects.bulk_create(rows)
    except IntegrityError:
        return {
            external_id: session_upsert(project=project, external_id=external_id, fields=values)[0]
            for external_id, values in fields.items()
        }
    # A root's path and root name its own id, known only now.
    AgentSession.objects.filter(pk__in=[s.pk for s in rows]).update(
        root_id=F("id"), path=Concat(Value("/"), Cast("id", CharField()), Value("/"))
    )
    for session in rows:
        session.root_id, session.path = session.pk, f"/{session.pk}/"
    return {s.external_id: s for s in rows}


def _validate_fields(fields: dict[str, Any]) -> None:
    unknown = set(fields) - WRITABLE_FIELDS
    if unknown:
        raise InvalidInput(
            f"Unknown session field {sorted(unknown)[0]!r}.", field=sorted(unknown)[0]
        )
    if "status" in fields and fields["status"] not in AgentSession.Status.values:
        raise InvalidInput(
            f"status must be one of {', '.join(AgentSession.Status.values)}.", field="status"
        )
    for name in ("metadata", "state"):
        if name in fields and not isinstance(fields[name], dict):
            raise InvalidInput(f"{name} must be a JSON object.", field=name)


def _check_kind(kind: str | None, parent: AgentSession | None) -> str:
    if kind is None:
        return AgentSession.Kind.CHILD if parent else AgentSession.Kind.ROOT
    if kind not in AgentSession.Kind.values:
        raise InvalidInput(
            f"kind must be one of {', '.join(AgentSession.Kind.values)}.", field="kind"
        )
    if kind == AgentSession.Kind.ROOT and parent is not None:
        raise InvalidInput("A session with a parent cannot be of kind 'root'.", field="kind")
    if kind != AgentSession.Kind.ROOT and parent is None:
        raise InvalidInput(f"A session of kind {kind!r} needs a parent.", field="kind")
    return kind


def _move(session: AgentSession, parent: AgentSession | None) -> None:
    """Re-parent a session, rewriting root, depth and path of its whole subtree in one UPDATE."""
    if parent is not None and parent.path.startswith(session.path):
        raise InvalidInput("A session cannot be its own ancestor.", field="parent_id")
    old_path, old_depth, old_parent_id = session.path, session.depth, session.parent_id
    new_path = _path_for(session, parent)
    new_depth = parent.depth + 1 if parent else 0
    if new_depth + _subtree_height(session) > MAX_DEPTH:
        raise InvalidInput(f"Session trees are limited to {MAX_DEPTH} levels.", field="parent_id")
    new_root = parent.root_id if parent else session.pk
    AgentSession.objects.filter(path__startswith=old_path, project_id=session.project_id).update(
        path=Concat(Value(new_path), Substr("path", len(old_path) + 1)),
        depth=F("depth") + (new_depth - old_depth),
        root_id=new_root,
    )
    AgentSession.objects.filter(pk=session.pk).update(parent=parent)
    if old_parent_id:
        AgentSession.objects.filter(pk=old_parent_id).update(children_count=F("children_count") - 1)
    if parent is not None:
        AgentSession.objects.filter(pk=parent.pk).update(children_count=F("children_count") + 1)
    session.refresh_from_db()


def _subtree_height(session: AgentSession) -> int:
    deepest = AgentSession.objects.filter(
        project_id=session.project_id, path__startswith=session.path
    ).aggregate(m=Max("depth"))["m"]
    return (deepest or session.depth) - session.depth


@transaction.atomic
def session_upsert(
    *,
    project: Project,
    external_id: str,
    fields: dict[str, Any],
    parent_external_id: str | None = UNSET,
    kind: str | None = None,
) -> tuple[AgentSession, bool]:
    """Create or update a session by external id; only the fields given are changed.

    A parent that does not exist yet is created as an empty root (sub-agents often report
    before their parent does); its own upsert fills it in later.
    """
    if not external_id or len(external_id) > 255:
        raise InvalidInput("external_id must be 1 to 255 characters.", field="external_id")
    _validate_fields(fields)
    parent: AgentSession | None = None
    if isinstance(parent_external_id, str) and parent_external_id:
        if parent_external_id == external_id:
            raise InvalidInput("A session cannot be its own parent.", field="parent_id")
        _lock_ids_in_order(project, [external_id, parent_external_id])
        parent, _ = session_get_or_create(project=project, external_id=parent_external_id)
        if parent.depth + 1 > MAX_DEPTH:
            raise InvalidInput(
                f"Session trees are limited to {MAX_DEPTH} levels.", field="parent_id"
            )

    session = (
        AgentSession.objects.select_for_update()
        .filter(project=project, external_id=external_id)
        .first()
    )
    if session is None:
        session, created = _insert_session(
            project=project,
            external_id=external_id,
            parent=parent,
            kind=_check_kind(kind, parent),
            fields=fields,
        )
        if created:
            return session, True

    if parent_external_id is not UNSET and (parent.pk if parent else None) != session.parent_id:
        _move(session, parent)
        if kind is None:
            kind = AgentSession.Kind.CHILD if parent else AgentSession.Kind.ROOT
    if kind is not None:
        session.kind = _check_kind(
            kind, parent if parent_external_id is not UNSET else session.parent
        )
    # The daily aggregate is keyed by agent and end user: a rename moves the session's usage
    # from the old key to the new one, so the aggregate keeps equalling the usage rows.
    regroup = (
        any(
            name in fields and fields[name] != getattr(session, name)
            for name in ("agent_name", "user_ref")
        )
        and TokenUsage.objects.filter(session=session).exists()
    )
    if regroup:
        usage = TokenUsage.objects.filter(session=session)
        daily_usage_apply(project_id=project.pk, rows=usage_totals_by_day_key(usage), sign=-1)
    renamed = "agent_name" in fields and fields["agent_name"] != session.agent_name
    for name, value in fields.items():
        setattr(session, name, value)
    if renamed:
        score_values_agent_set(session.pk, session.agent_name)
    session.updated_at = timezone.now()
    session.save(update_fields=[*fields, "kind", "updated_at"])
    if regroup:
        daily_usage_apply(project_id=project.pk, rows=usage_totals_by_day_key(usage), sign=1)
    return session, False


def _subtree_ids(session: AgentSession) -> list[int]:
    return list(
        AgentSession.objects.filter(
            project_id=session.project_id, path__startswith=session.path
        ).values_list("pk", flat=True)
    )


def usage_totals_by_day_key(usage: Any) -> list[dict[str, Any]]:
    """Usage rows summed by the DailyUsage key, for subtracting what is about to be deleted."""
    return list(
        usage.annotate(day=TruncDate("timestamp"))
        .values(
            "day",
            "model",
            "cost_source",
            agent_name=F("session__agent_name"),
            user_ref=F("session__user_ref"),
        )
        .annotate(**usage_sums(of_rows=True))
        .order_by()
    )


def delete_events_of(
    *, project_id: int, session_ids: list[int], from_seq: int | None = None
) -> int:
    """Delete events (and their usage and summaries' links) of sessions, keeping the daily
    aggregate equal to the usage that remains. Returns the number of events deleted."""
    events = Event.objects.filter(session_id__in=session_ids)
    usage = TokenUsage.objects.filter(session_id__in=session_ids)
    if from_seq is not None:
        events = events.filter(seq__gte=from_seq)
        usage = usage.filter(event__seq__gte=from_seq)
    daily_usage_apply(project_id=project_id, rows=usage_totals_by_day_key(usage), sign=-1)
    usage.delete()
    Summary.objects.filter(event__in=events).update(event=None)
    Event.objects.filter(parent_event__in=events).exclude(pk__in=events).update(parent_event=None)
    return events.delete()[0]


@transaction.atomic
def session_delete(*, session: AgentSession) -> int:
    """Delete a session with its whole subtree; returns how many sessions were deleted."""
    session = AgentSession.objects.select_for_update().get(pk=session.pk)
    ids = _subtree_ids(session)
    delete_events_of(project_id=session.project_id, session_ids=ids)
    Summary.objects.filter(session_id__in=ids).delete()
    Run.objects.filter(session_id__in=ids).delete()
    if session.parent_id:
        AgentSession.objects.filter(pk=session.parent_id).update(
            children_count=F("children_count") - 1
        )
    # Sessions that continued in a deleted segment continue nowhere now.
    AgentSession.objects.filter(continued_in_id__in=ids).exclude(pk__in=ids).update(
        continued_in=None
    )
    AgentSession.objects.filter(pk__in=ids).order_by("-depth").delete()
    return len(ids)


@transaction.atomic
def session_continue_in(*, session: AgentSession, segment: AgentSession) -> AgentSession:
    """Record that a summarized session continues in `segment`: later events sent to the old
    id go to the segment."""
    if segment.parent_id != session.pk or segment.kind != AgentSession.Kind.SEGMENT:
        raise InvalidInput("A session continues only in one of its own segments.", field="segment")
    AgentSession.objects.filter(pk=session.pk).update(
        continued_in=segment, updated_at=timezone.now()
    )
    session.continued_in = segment
    return session
