"""Storing a mapped batch of spans: sessions, runs, then each session's new events.

Writes go through the existing services (`sessions_create`, `session_upsert`,
`events_append_many`), so an OTLP conversation is stored, priced and rolled up exactly as one
sent through the JSON API. A batch is one transaction of a constant number of statements,
however many sessions it touches (an exporter's batch holds every conversation its process
served meanwhile): reads that decide what is new are bulk, the sessions are locked in one
query, the missing ones created in one insert, and every session's events appended together.
A session that cannot be written (its tree too deep, an event id reused with another body) has
its spans rejected in `partial_success`; the rest of the batch is stored.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F

from .. import normalize
from ..errors import DomainError
from ..inputs import MAX_ID, EventInput, UsageInput
from ..jsontext import body_hash
from ..models import AgentSession, Event, Project, Run
from ..selectors import otel as selectors

# usage_store_many is the append path's own pricing (usage rows and the daily aggregate),
# reused so a late span's usage is priced exactly as an appended event's.
from ..services.events import events_append_many
from ..services.events.store import usage_store_many
from ..services.sessions import session_upsert, sessions_create, sessions_lock
from .decode import Span
from .mapping import Plan, RunPlan, SessionPlan, Unit, plan_spans

# The metadata key of a session whose id the spans named could not be its own (control
# characters, or longer than 255 characters: mapping.addressable_id).
ORIGINAL_ID_KEY = "otel_original_id"


@dataclass
class TracesOutcome:
    """What the batch did: spans stored (or already stored) and spans refused, with reasons."""

    accepted: int
    rejected: int
    message: str


def event_id_for(session_external_id: str, key: str) -> str:
    """The event id of a conversation item: the same item in the same session, the same id."""
    digest = hashlib.sha256(f"{session_external_id}\x00{key}".encode()).hexdigest()
    return f"otel-{digest[:40]}"


def _usage(unit: Unit) -> UsageInput | None:
    if not unit.usage or not unit.model:
        return None
    return UsageInput(model=unit.model, **unit.usage)


def _inputs(sp: SessionPlan, unit: Unit, event_id: str) -> list[EventInput]:
    """The events of one unit: a chat message (with its tool calls) or an error."""
    if unit.message is None:
        produced = [
            EventInput(
                external_id=event_id,
                source=Event.Source.SYSTEM,
                type=Event.Type.ERROR,
                content=unit.error[:10_000],
                is_error=True,
            )
        ]
        produced[0].body_hash = body_hash({"error": unit.error})
    else:
        produced = normalize.from_openai_chat(unit.message, event_id=event_id)
        produced[0].body_hash = body_hash(unit.message)
    for event in produced:
        # Tool names and call ids come from the spans as they are: cut to their columns, as
        # the JSON API cuts those of the items it converts (the event ids use the whole id).
        event.name = event.name[:MAX_ID]
        event.tool_call_id = event.tool_call_id[:MAX_ID]
        if event.parent_tool_call_id:
            event.parent_tool_call_id = event.parent_tool_call_id[:MAX_ID]
    first = produced[0]
    first.usage = _usage(unit)
    first.duration_ms = unit.duration_ms
    first.span_id = unit.span_id
    for event in produced:
        event.timestamp = unit.timestamp
        event.run_external_id = unit.run
        event.trace_id = unit.trace_id
    return produced


def _conflicting_spans(project: Project, plan: Plan, ids: dict[int, str]) -> set[str]:
    """Spans already stored under another body: their id was reused for different content."""
    mine: dict[str, set[str]] = {}
    for sp in plan.sessions.values():
        for unit in sp.units:
            if unit.span_id:
                mine.setdefault(unit.span_id, set()).add(ids[id(unit)])
    stored = selectors.events_by_span(project, list(mine))
    return {span for span, external_id in stored if external_id not in mine[span]}


def _original(sp: SessionPlan) -> dict[str, Any]:
    """A new session's metadata: the id its spans named, when it could not be the session's own
    (control characters, or too long), so `GET /sessions?metadata.otel_original_id=` still finds
    it. Up to 255 characters, the most a metadata filter compares: a longer id keeps its start."""
    return {"metadata": {ORIGINAL_ID_KEY: sp.original_id[:MAX_ID]}} if sp.original_id else {}


def _upsert_sessions(project: Project, plan: Plan) -> tuple[dict[str, AgentSession], set[str]]:
    """Lock the batch's sessions and create the missing roots, whatever their number, in
    constant statements; returns them locked, and those that could not be written."""
    sessions = sessions_lock(project=project, external_ids=list(plan.sessions))
    # Only fields the spans name: a session a racing export created keeps what it was given.
    new_roots = {
        sp.external_id: {
            **{
                name: value
                for name, value in (("agent_name", sp.agent_name), ("user_ref", sp.user_ref[:255]))
                if value
            },
            **_original(sp),
        }
        for sp in plan.sessions.values()
        if sp.parent is None and sp.external_id not in sessions
    }
    failed: set[str] = set()
    try:
        with transaction.atomic():
            sessions.update(sessions_create(project=project, fields=new_roots))
    except DomainError:
        failed.update(new_roots)
    # One by one, what only the first sighting needs: a child session's place in the tree, and
    # an agent or user filled in on a stored session (its usage moves in the daily aggregate).
    # Parents first: a child session's parent must exist before it.
    for sp in sorted(plan.sessions.values(), key=lambda s: s.parent is not None):
        if sp.external_id in failed:
            continue
        row = sessions.get(sp.external_id)
        fields = _original(sp) if row is None else {}
        if sp.agent_name and (row is None or not row.agent_name):
            fields["agent_name"] = sp.agent_name
        if sp.user_ref and (row is None or not row.user_ref):
            fields["user_ref"] = sp.user_ref[:255]
        parent_moves = sp.parent is not None and (row is None or row.parent_id is None)
        if row is not None and not fields and not parent_moves:
            continue
        kwargs = {"parent_external_id": sp.parent} if parent_moves else {}
        try:
            with transaction.atomic():
                sessions[sp.external_id], _ = session_upsert(
                    project=project, external_id=sp.external_id, fields=fields, **kwargs
                )
        except DomainError:
            failed.add(sp.external_id)
            sessions.pop(sp.external_id, None)
    return sessions, failed


def _store_runs(project: Project, runs: list[RunPlan], locked: dict[str, AgentSession]) -> None:
    """Agent spans as runs, with their final status: one read, one insert, one update."""
    if not runs:
        return
    stored = {r.external_id: r for r in Run.objects.filter(
        project=project, external_id__in=[r.external_id for r in runs])}  # fmt: skip
    sessions = {external_id: s.pk for external_id, s in locked.items()}
    new, changed = [], []
    for r in runs:
        status = Run.Status.FAILED if r.failed else Run.Status.COMPLETED
        if r.ended_at is None:
            status = Run.Status.RUNNING
        row = stored.get(r.external_id)
        if row is None and r.session in sessions:
            new.append(Run(project=project, session_id=sessions[r.session],
                           external_id=r.external_id, status=status, agent_name=r.agent_name,
                           started_at=r.started_at, ended_at=r.ended_at, reason=r.reason,
                           metadata={"span_id": r.span_id}))  # fmt: skip
        elif row is not None and row.status not in Run.TERMINAL:
            row.status, row.ended_at, row.reason = status, r.ended_at, r.reason
            row.started_at = min(row.started_at or r.started_at, r.started_at)
            changed.append(row)
    Run.objects.bulk_create(new, ignore_conflicts=True)
    if changed:
        Run.objects.bulk_update(changed, ["status", "ended_at", "reason", "started_at"])


def _attach_calls(
    project: Project, sessions: dict[str, AgentSession], late: dict[str, Unit]
) -> None:
    """Give stored messages the call details a late span brings (latency, span, usage).

    A later turn's input may have stored a model's answer before the span of the call that
    produced it arrived; that span then adds no event, but its latency and usage belong on
    the answer. Only live events without a span yet are touched, so a retry changes nothing
    (and costs one query, whatever the number of sessions, on the live ids' unique index).
    """
    rows = list(
        Event.objects.filter(
            project=project, external_id__in=list(late), span_id="", removed_at__isnull=True
        )
        .exclude(usage__isnull=False)
        .only("id", "external_id", "timestamp", "run_id", "source", "type", "session_id")
    )
    if not rows:
        return
    priced_rows, priced_inputs = [], []
    for row in rows:
        unit = late[row.external_id]
        row.duration_ms, row.span_id, row.trace_id = unit.duration_ms, unit.span_id, unit.trace_id
        usage = _usage(unit)
        if usage is not None:
            priced_rows.append(row)
            priced_inputs.append(
                EventInput(row.external_id, source=row.source, type=row.type, usage=usage)
            )
    Event.objects.bulk_update(rows, ["duration_ms", "span_id", "trace_id"])
    if not priced_rows:
        return
    by_pk = {s.pk: s for s in sessions.values()}
    # A segment's rows belong to a session the batch did not name: lock it too.
    missing = {row.session_id for row in priced_rows} - set(by_pk)
    by_pk.update(AgentSession.objects.select_for_update().in_bulk(missing))
    for session_id, usages in usage_store_many(project, by_pk, priced_rows, priced_inputs).items():
        AgentSession.objects.filter(pk=session_id).update(
            prompt_tokens=F("prompt_tokens") + sum(u.prompt_tokens for u in usages),
            completion_tokens=F("completion_tokens") + sum(u.completion_tokens for u in usages),
            total_tokens=F("total_tokens") + sum(u.total_tokens for u in usages),
            cost_usd=F("cost_usd") + sum((u.cost_usd for u in usages), Decimal(0)),
        )


def otel_spans_store(*, project: Project, spans: list[Span]) -> TracesOutcome:
    """Store a batch of decoded spans; unusable spans are counted and explained, not fatal."""
    plan = plan_spans(spans)
    for attempt in range(2):
        try:
            rejected = _store_plan(project, plan)
            break
        except IntegrityError:
            # Another export stored some of these events between our read and our insert (an
            # exporter's retry racing the original): the second attempt reads them as stored.
            if attempt:
                raise
    reasons = sorted(set(rejected.values()))
    message = "; ".join([*reasons, *plan.notes])[:1000]
    return TracesOutcome(
        accepted=len(spans) - len(rejected), rejected=len(rejected), message=message
    )


@transaction.atomic
def _store_plan(project: Project, plan: Plan) -> dict[str, str]:
    """One transaction: the batch's sessions, runs and events; returns the rejected spans."""
    rejected = dict(plan.rejected)
    ids = {
        id(unit): event_id_for(sp.external_id, unit.key)
        for sp in plan.sessions.values()
        for unit in sp.units
    }
    stored = selectors.stored_event_ids(project, list(ids.values()))
    for span in _conflicting_spans(project, plan, ids):
        rejected[span] = "span id already stored with another body"
    sessions, failed_sessions = _upsert_sessions(project, plan)
    # Runs after sessions (they name them), before events (events name runs).
    _store_runs(project, [r for r in plan.runs if r.session not in failed_sessions], sessions)
    batches: dict[str, list[EventInput]] = {}
    late: dict[str, Unit] = {}
    for sp in plan.sessions.values():
        if sp.external_id in failed_sessions:
            rejected.update(dict.fromkeys(sp.spans, "its session could not be written"))
            continue
        events: list[EventInput] = []
        for unit in sp.units:
            if unit.span_id in rejected:
                continue
            if ids[id(unit)] in stored:
                if unit.span_id:
                    late[ids[id(unit)]] = unit
                continue
            events.extend(_inputs(sp, unit, ids[id(unit)]))
        if events:
            batches[sp.external_id] = events
    try:
        # `stored` was read in this transaction: the append need not read it again.
        refused = events_append_many(
            project=project, sessions=sessions, batches=batches, checked=True
        )
    except DomainError as exc:
        refused = dict.fromkeys(batches, exc.detail)
    for external_id, reason in refused.items():
        rejected.update(dict.fromkeys(plan.sessions[external_id].spans, reason))
    if late:
        _attach_calls(project, sessions, late)
    return rejected
