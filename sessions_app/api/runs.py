"""Runs: created in a session (idempotent by id), updated with validated status transitions."""

from __future__ import annotations

from typing import Any

from ninja import Router, Status

from ..selectors.events import run_by_external_id
from ..services.runs import run_create_in_session, run_update
from .auth import ApiRequest
from .convert import check_path_id, run_dict
from .schemas import ERRORS, RunIn, RunOut, RunPatchIn

router = Router(tags=["runs"])


@router.post(
    "/sessions/{external_id}/runs",
    response={200: RunOut, 201: RunOut, **ERRORS},
    summary="Create a run",
)
def post_run(request: ApiRequest, external_id: str, payload: RunIn) -> Status:
    """Create a run (201; the session is created if missing); a retry with the same id returns
    the stored run (200); the same id in another session is a 409."""
    external_id = check_path_id(external_id)
    run, created = run_create_in_session(
        project=request.auth.project,
        session_external_id=external_id,
        external_id=payload.id,
        status=payload.status,
        agent_name=payload.agent_name,
        started_at=payload.started_at,
        metadata=payload.metadata,
    )
    return Status(201 if created else 200, run_dict(run, external_id))


@router.patch("/runs/{external_id}", response={200: RunOut, **ERRORS}, summary="Update a run")
def patch_run(request: ApiRequest, external_id: str, payload: RunPatchIn) -> dict[str, Any]:
    """Change status (forward only: pending → running → completed|failed|cancelled; a finished
    run cannot change status again: 409), reason, ended_at or metadata (merged)."""
    run, session_external_id = run_by_external_id(request.auth.project, check_path_id(external_id))
    updated = run_update(
        run=run,
        status=payload.status,
        reason=payload.reason,
        ended_at=payload.ended_at,
        metadata=payload.metadata,
    )
    return run_dict(updated, session_external_id)
