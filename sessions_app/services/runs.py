"""Runs: created idempotently by external id, status changes validated."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..errors import Conflict, InvalidInput
from ..models import AgentSession, Project, Run
from .sessions import session_get_or_create

ALLOWED: dict[str, set[str]] = {
    Run.Status.PENDING: {Run.Status.RUNNING, *Run.TERMINAL},
    Run.Status.RUNNING: set(Run.TERMINAL),
}


def _check_status(status: str) -> None:
    if status not in Run.Status.values:
        raise InvalidInput(f"status must be one of {', '.join(Run.Status.values)}.", field="status")


@transaction.atomic
def run_create(
    *,
    session: AgentSession,
    external_id: str,
    status: str = Run.Status.PENDING,
    agent_name: str = "",
    started_at: datetime | None = None,
    metadata: dict[str, Any] | None = None,
) -> tuple[Run, bool]:
    """Create a run in a session; a retry with the same id returns the stored run."""
    _check_status(status)
    existing = Run.objects.filter(project_id=session.project_id, external_id=external_id).first()
    if existing is not None:
        if existing.session_id != session.pk:
            raise Conflict(
                f"Run id {external_id!r} belongs to another session.", code="run_exists", field="id"
            )
        return existing, False
    if started_at is None and status != Run.Status.PENDING:
        started_at = timezone.now()
    try:
        with transaction.atomic():
            run = Run.objects.create(
                project_id=session.project_id,
                session=session,
                external_id=external_id,
                status=status,
                agent_name=agent_name or session.agent_name,
                started_at=started_at,
                ended_at=timezone.now() if status in Run.TERMINAL else None,
                metadata=metadata or {},
            )
    except IntegrityError:
        return Run.objects.get(project_id=session.project_id, external_id=external_id), False
    return run, True


@transaction.atomic
def run_update(
    *,
    run: Run,
    status: str | None = None,
    reason: str | None = None,
    ended_at: datetime | None = None,
    metadata: dict[str, Any] | None = None,
) -> Run:
    """Change a run's status (forward only: a finished run cannot start again), its reason or
    its metadata (merged)."""
    run = Run.objects.select_for_update().get(pk=run.pk)
    now = timezone.now()
    fields = ["updated_at"]
    if status is not None and status != run.status:
        _check_status(status)
        if status not in ALLOWED.get(run.status, set()):
            raise Conflict(
                f"A {run.status} run cannot become {status}.",
                code="invalid_transition",
                field="status",
            )
        run.status = status
        fields.append("status")
        if status == Run.Status.RUNNING and run.started_at is None:
            run.started_at = now
            fields.append("started_at")
        if status in Run.TERMINAL:
            run.ended_at = ended_at or now
            fields.append("ended_at")
            if run.started_at is None:
                run.started_at = run.ended_at
                fields.append("started_at")
    if reason is not None:
        run.reason = reason
        fields.append("reason")
    if metadata:
        run.metadata = {**run.metadata, **metadata}
        fields.append("metadata")
    run.updated_at = now
    run.save(update_fields=fields)
    return run


@transaction.atomic
def run_create_in_session(
    *,
    project: Project,
    session_external_id: str,
    external_id: str,
    status: str = Run.Status.PENDING,
    agent_name: str = "",
    started_at: datetime | None = None,
    metadata: dict[str, Any] | None = None,
) -> tuple[Run, bool]:
    """Create a run in a session addressed by external id (created if missing)."""
    session, _ = session_get_or_create(project=project, external_id=session_external_id)
    return run_create(
        session=session,
        external_id=external_id,
        status=status,
        agent_name=agent_name,
        started_at=started_at,
        metadata=metadata,
    )
