"""What the general append path reads under the session's lock: stored ids, runs, parents."""

from __future__ import annotations

from typing import NamedTuple

from django.db import connection
from django.utils import timezone

from ...db import server_bound
from ...errors import Conflict
from ...inputs import EventInput
from ...models import MAIN_BRANCH, AgentSession, Event, Project, Run
from ...selectors.sessions import chain_base
from ..sessions import session_get_or_create
from .rows import json_rows


class Targets(NamedTuple):
    """Where a batch addressed to one session id goes, each session locked."""

    # The session the id names (created if missing).
    addressed: AgentSession
    # Where main's new events go: the addressed session or, once it was summarized, the newest
    # segment of its chain.
    current: AgentSession
    # Where the other branches' new events go: the conversation that has the branches (the
    # chain's base, never a segment: a branch's events are not segmented, so its every read,
    # which reads that conversation, sees them). The addressed session unless that is a segment.
    owner: AgentSession
    # Whether this call created the addressed session.
    created: bool

    def of(self, event: EventInput) -> AgentSession:
        """The session this event is stored in."""
        return self.current if event.branch == MAIN_BRANCH else self.owner


def resolve_session(project: Project, external_id: str, *, branched: bool = False) -> Targets:
    """Lock the sessions a batch to this id can go to (`branched`: it has events on a branch
    other than main), creating the addressed one if missing.

    Ancestors are locked before their descendants, as everywhere (the addressed session, then
    its segments): when the id names a segment itself and the batch has branch events, its
    chain's base is locked first (one read of the segment's path, without a lock, finds it).
    """
    base = _segment_base_locked(project, external_id) if branched else None
    session, created = session_get_or_create(project=project, external_id=external_id)
    owner = session if base is None or base.pk == session.pk else base
    return Targets(session, newest_segment(session), owner, created)


def _segment_base_locked(project: Project, external_id: str) -> AgentSession | None:
    """When the id names a segment: its chain's base, locked; else None (one query)."""
    named = (
        AgentSession.objects.filter(project=project, external_id=external_id)
        .only("id", "kind", "path")
        .first()
    )
    if named is None or named.kind != AgentSession.Kind.SEGMENT:
        return None
    return AgentSession.objects.select_for_update().get(pk=chain_base(named).pk)


def newest_segment(session: AgentSession) -> AgentSession:
    """Where a session's new events go, locked: a session that was summarized into a segment
    keeps receiving events under its old id, and they go to the newest segment of the chain."""
    hops = 0
    while session.continued_in_id and hops < 1000:
        session = AgentSession.objects.select_for_update().get(pk=session.continued_in_id)
        hops += 1
    return session


# One JSON parameter bound server-side instead of 500 client-quoted literals, and one index
# probe per id: with `external_id = ANY(...)` or a join PostgreSQL chose to scan every event of
# the project (seen at 500 ids on 255k events). The LIMIT keeps the LATERAL subquery a probe
# (a live id is unique): a plain LATERAL is flattened into a join, which the prepared
# statement's generic plan made a hash join over every event of the project.
STORED_EVENTS_SQL = (
    "SELECT e.id, e.external_id, e.seq, e.body_hash, e.session_id "
    "FROM json_array_elements_text(%s::json) AS wanted(external_id), LATERAL ("
    f"SELECT id, external_id, seq, body_hash, session_id FROM {Event._meta.db_table} "
    "WHERE project_id = %s AND external_id = wanted.external_id AND removed_at IS NULL "
    "LIMIT 1) AS e"
)


def stored_events(project: Project, ids: list[str]) -> dict[str, Event]:
    """Stored events of the project with these ids (id, external_id, seq, body_hash only)."""
    if connection.vendor != "postgresql":
        return {
            e.external_id: e
            for e in Event.objects.filter(
                project=project, external_id__in=ids, removed_at__isnull=True
            ).only("id", "external_id", "seq", "body_hash", "session_id")
        }
    found = server_bound(STORED_EVENTS_SQL, [json_rows(ids), project.pk])
    return {
        external_id: Event(
            id=pk, external_id=external_id, seq=seq, body_hash=body_hash, session_id=session_id
        )
        for pk, external_id, seq, body_hash, session_id in found
    }


def split_duplicates(
    project: Project, events: list[EventInput], stored: dict[str, Event] | None = None
) -> tuple[dict[str, Event], list[EventInput]]:
    """Split a batch into stored duplicates and new events; a reused id with another body is a
    409 for the whole batch. `stored`: the batch's stored events, when already read."""
    if stored is None:
        stored = stored_events(project, list({e.external_id for e in events}))
    fresh: list[EventInput] = []
    seen: dict[str, EventInput] = {}
    for e in events:
        prior = stored.get(e.external_id)
        if prior is not None:
            if prior.body_hash != e.body_hash:
                raise Conflict(
                    f"Event id {e.external_id!r} was already used with a different body.",
                    code="idempotency_conflict",
                    field="id",
                )
            continue
        if e.external_id in seen:
            if seen[e.external_id].body_hash != e.body_hash:
                raise Conflict(
                    f"Event id {e.external_id!r} appears twice in the batch with different bodies.",
                    code="idempotency_conflict",
                    field="id",
                )
            continue
        seen[e.external_id] = e
        fresh.append(e)
    return stored, fresh


def runs_for(project: Project, session: AgentSession, events: list[EventInput]) -> dict[str, Run]:
    """The runs the batch names, creating (as running) those not reported yet."""
    wanted = {e.run_external_id for e in events if e.run_external_id}
    if not wanted:
        return {}
    runs = {r.external_id: r for r in Run.objects.filter(project=project, external_id__in=wanted)}
    missing = [
        Run(
            project=project,
            session=session,
            external_id=run_id,
            status=Run.Status.RUNNING,
            started_at=min(
                (e.timestamp for e in events if e.run_external_id == run_id and e.timestamp),
                default=timezone.now(),
            ),
        )
        for run_id in sorted(wanted - set(runs))
    ]
    for run in Run.objects.bulk_create(missing):
        runs[run.external_id] = run
    return runs


def stored_parents(
    session: AgentSession, events: list[EventInput]
) -> tuple[dict[str, int], dict[str, int]]:
    """Parents that are already stored: by event id (project-wide) and by tool call id."""
    by_id: dict[str, int] = {}
    by_call: dict[str, int] = {}
    ids = {e.parent_external_id for e in events if e.parent_external_id}
    calls = {e.parent_tool_call_id for e in events if e.parent_tool_call_id}
    if ids:
        by_id = dict(
            Event.objects.filter(
                project_id=session.project_id, external_id__in=ids, removed_at__isnull=True
            ).values_list("external_id", "id")
        )
    if calls:
        # In seq order, so a call id reused within a session (branches) maps to its latest call.
        by_call = dict(
            Event.objects.filter(session=session, tool_call_id__in=calls, type=Event.Type.TOOL_CALL)
            .order_by("seq")
            .values_list("tool_call_id", "id")
        )
    return by_id, by_call
