"""The mixed `/ingest` batch: session upserts, event batches, run creations and run updates
across sessions, each applied in its own transaction (all or nothing per item)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import DataError, IntegrityError, transaction

from ..errors import DomainError, InvalidInput, NotFound
from ..inputs import EventInput
from ..models import Project, Run
from .events import events_append
from .runs import run_create_in_session, run_update
from .sessions import UNSET, session_upsert


@dataclass
class SessionOp:
    external_id: str
    fields: dict[str, Any]
    parent_external_id: Any = UNSET
    kind: str | None = None


@dataclass
class EventsOp:
    session_external_id: str
    events: list[EventInput]
    # For each event sent, the index of the input answering for it (see api.convert).
    primary: list[int] = field(default_factory=list)


@dataclass
class RunOp:
    session_external_id: str
    external_id: str
    status: str = Run.Status.PENDING
    agent_name: str = ""
    started_at: datetime | None = None
    metadata: dict[str, Any] | None = None


@dataclass
class RunUpdateOp:
    external_id: str
    status: str | None = None
    reason: str | None = None
    ended_at: datetime | None = None
    metadata: dict[str, Any] | None = None


logger = logging.getLogger(__name__)

IngestOp = SessionOp | EventsOp | RunOp | RunUpdateOp


@dataclass
class IngestOutcome:
    """What one item did: its status as a single request would have had it, and the stored
    object (or the error)."""

    status: int
    value: Any = None
    error: DomainError | None = None


def _apply(project: Project, op: IngestOp) -> IngestOutcome:
    if isinstance(op, SessionOp):
        session, created = session_upsert(
            project=project,
            external_id=op.external_id,
            fields=op.fields,
            parent_external_id=op.parent_external_id,
            kind=op.kind,
        )
        return IngestOutcome(201 if created else 200, session)
    if isinstance(op, EventsOp):
        session, results = events_append(
            project=project, session_external_id=op.session_external_id, events=op.events
        )
        answers = [results[i] for i in op.primary] if op.primary else results
        created = any(r.status == "created" for r in answers)
        return IngestOutcome(201 if created else 200, (session, answers))
    if isinstance(op, RunOp):
        run, created = run_create_in_session(
            project=project,
            session_external_id=op.session_external_id,
            external_id=op.external_id,
            status=op.status,
            agent_name=op.agent_name,
            started_at=op.started_at,
            metadata=op.metadata,
        )
        return IngestOutcome(201 if created else 200, run)
    stored = Run.objects.filter(project=project, external_id=op.external_id).first()
    if stored is None:
        raise NotFound(f"No run {op.external_id!r}.", field="id")
    return IngestOutcome(
        200,
        run_update(
            run=stored,
            status=op.status,
            reason=op.reason,
            ended_at=op.ended_at,
            metadata=op.metadata,
        ),
    )


def ingest_apply(
    *,
    project: Project,
    ops: list[IngestOp | DomainError],
    render: Callable[[IngestOp, Any], Any] | None = None,
) -> list[IngestOutcome]:
    """Apply each item in its own transaction, in order; an item that fails (or arrived
    invalid, as a DomainError) is rolled back alone and reported with its status.

    `render(op, value)` runs right after an item commits, so what it reads is the state that
    item left, not the state at the end of the batch.
    """
    outcomes: list[IngestOutcome] = []
    for op in ops:
        if isinstance(op, DomainError):
            outcomes.append(IngestOutcome(op.status, error=op))
            continue
        try:
            with transaction.atomic():
                outcome = _apply(project, op)
        except DomainError as exc:
            outcomes.append(IngestOutcome(exc.status, error=exc))
            continue
        except (DataError, IntegrityError) as exc:
            # A value the database refuses that validation let through: this item's fault.
            logger.warning("ingest item refused by the database: %s", exc)
            error = InvalidInput("The database refused a value of this item.", code="invalid")
            outcomes.append(IngestOutcome(error.status, error=error))
            continue
        except Exception:
            # The items before this one are committed: answering 500 for the whole batch would
            # hide that, so the failure is this item's result and the batch goes on.
            logger.exception("ingest item failed")
            failure = DomainError("This item could not be applied.", code="server_error")
            failure.status = 500
            outcomes.append(IngestOutcome(500, error=failure))
            continue
        if render is not None:
            outcome.value = render(op, outcome.value)
        outcomes.append(outcome)
    return outcomes
