"""a2a-session-manager `FileSessionStore` files: one `Session.model_dump()` JSON per session.

The session keeps its id, parent (the tree is rebuilt from `parent_id`), `state`, and its
metadata properties; runs keep their ids, status and times; events keep their ids (a2a's
`SessionEvent.id`), source, type, message, `task_id` as their run and token usage. a2a's own
`estimated_cost_usd` is not taken as a reported cost: it comes from a flat default rate table,
so the cost is computed from our price table instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import normalize
from ..errors import DomainError
from ..inputs import EventInput, UsageInput
from ..models import AgentSession, Project, Run
from ..services.runs import run_create, run_update
from .base import ImportReport, append, body_hash, parse_time, upsert_if_changed

RUN_STATUSES = set(Run.Status.values)


def is_a2a_session(data: Any) -> bool:
    """Whether parsed JSON looks like an a2a `Session` dump."""
    return (
        isinstance(data, dict)
        and isinstance(data.get("id"), str)
        and isinstance(data.get("events"), list)
        and isinstance(data.get("metadata"), dict)
    )


def _usage(raw: Any) -> UsageInput | None:
    if not isinstance(raw, dict) or not raw.get("model"):
        return None
    return UsageInput(
        model=str(raw["model"])[:255],
        prompt_tokens=int(raw.get("prompt_tokens") or 0),
        completion_tokens=int(raw.get("completion_tokens") or 0),
        total_tokens=int(raw.get("total_tokens") or 0),
    )


def _event(raw: dict[str, Any]) -> list[EventInput]:
    events = normalize.from_native(raw, event_id=str(raw["id"]))
    first = events[0]
    first.timestamp = parse_time(raw.get("timestamp"))
    first.run_external_id = raw.get("task_id") or None
    first.usage = _usage(raw.get("token_usage"))
    first.body_hash = body_hash(raw)
    return events


def _runs(session: AgentSession, runs: list[Any], *, where: str, report: ImportReport) -> None:
    for raw in runs:
        if not isinstance(raw, dict) or not raw.get("id"):
            report.skip(f"{where} run", "a run without id")
            continue
        status = raw.get("status") if raw.get("status") in RUN_STATUSES else Run.Status.PENDING
        try:
            run, created = run_create(
                session=session,
                external_id=str(raw["id"]),
                status=Run.Status.PENDING if status == Run.Status.PENDING else Run.Status.RUNNING,
                started_at=parse_time(raw.get("started_at")),
                metadata=raw.get("metadata") or {},
            )
            if created and status in Run.TERMINAL:
                run_update(run=run, status=status, ended_at=parse_time(raw.get("ended_at")))
        except DomainError as exc:
            report.skip(f"{where} run {raw['id']}", exc.detail)
            continue
        if created:
            report.runs_created += 1


def import_a2a(data: dict[str, Any], path: Path, *, project: Project, report: ImportReport) -> None:
    """Import one a2a session file."""
    sid = data["id"]
    meta = data.get("metadata") or {}
    metadata: dict[str, Any] = {"imported_from": "a2a-file-store"}
    if meta.get("properties"):
        metadata["properties"] = meta["properties"]
    if data.get("task_ids"):
        metadata["task_ids"] = data["task_ids"]
    fields: dict[str, Any] = {"metadata": metadata, "state": data.get("state") or {}}
    title = (meta.get("properties") or {}).get("title")
    if isinstance(title, str):
        fields["title"] = title[:500]
    session = upsert_if_changed(
        project=project,
        external_id=sid,
        fields=fields,
        parent_external_id=data.get("parent_id") or None,
        report=report,
    )
    _runs(session, data.get("runs") or [], where=path.name, report=report)
    batch: list[EventInput] = []
    for index, raw in enumerate(data["events"]):
        if not isinstance(raw, dict) or not raw.get("id"):
            report.skip(f"{path.name} event {index}", "an event without id")
            continue
        try:
            batch.extend(_event(raw))
        except (DomainError, ValueError, TypeError) as exc:
            report.skip(f"{path.name} event {raw.get('id')}", str(exc))
    append(project=project, session_id=sid, events=batch, report=report, where=path.name)
