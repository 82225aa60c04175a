"""`POST /ingest`: a mixed batch answered 207 with a result per item."""

from __future__ import annotations

from typing import Any

from ninja import Router, Status
from pydantic import TypeAdapter, ValidationError

from ..errors import DomainError, InvalidFields
from ..selectors.sessions import session_by_external_id
from ..services.ingest import EventsOp, IngestOp, RunOp, RunUpdateOp, SessionOp, ingest_apply
from .auth import ApiRequest
from .convert import check_batch_size, event_inputs, run_dict, session_dict
from .ingest_schemas import (
    IngestEventsItem,
    IngestIn,
    IngestItem,
    IngestOut,
    IngestRunItem,
    IngestSessionItem,
)
from .schemas import ERRORS
from .sessions import upsert_fields

router = Router(tags=["ingest"])
_item_adapter: TypeAdapter = TypeAdapter(IngestItem)


def _invalid(index: int, exc: ValidationError) -> InvalidFields:
    """An item's schema errors, as a single request's 422 lists them, each field prefixed with
    the item's place (`items.<index>.`)."""
    errors = []
    for error in exc.errors(include_url=False, include_context=False, include_input=False):
        loc = [str(p) for p in error.get("loc", ())]
        # Drop the discriminator tag pydantic puts in the location ("events", "session", ...).
        if loc and loc[0] in {"session", "events", "run", "run_update"}:
            loc = loc[1:]
        field = ".".join(["items", str(index), *loc])
        errors.append({"field": field, "msg": error.get("msg", "invalid"), "type": error["type"]})
    return InvalidFields(errors)


def _to_op(index: int, raw: dict[str, Any]) -> IngestOp | DomainError:
    try:
        item = _item_adapter.validate_python(raw)
    except ValidationError as exc:
        return _invalid(index, exc)
    try:
        if isinstance(item, IngestSessionItem):
            fields, parent, kind = upsert_fields(item)
            return SessionOp(item.id, fields, parent, kind)
        if isinstance(item, IngestEventsItem):
            inputs, primary = event_inputs(item.events, raw["events"])
            return EventsOp(item.session_id, inputs, primary)
        if isinstance(item, IngestRunItem):
            return RunOp(
                item.session_id,
                item.id,
                item.status,
                item.agent_name,
                item.started_at,
                item.metadata,
            )
        return RunUpdateOp(item.id, item.status, item.reason, item.ended_at, item.metadata)
    except DomainError as exc:
        exc.field = f"items.{index}.{exc.field}" if exc.field else f"items.{index}"
        return exc


def _body(op: IngestOp, value: Any) -> Any:
    if isinstance(op, SessionOp):
        return session_dict(session_by_external_id(value.project, value.external_id))
    if isinstance(op, EventsOp):
        session, answers = value
        return {
            "session_id": session.external_id,
            "results": [{"id": r.external_id, "seq": r.seq, "status": r.status} for r in answers],
        }
    if isinstance(op, RunOp):
        return run_dict(value, op.session_external_id)
    return run_dict(value, value.session.external_id)


@router.post("/ingest", response={207: IngestOut, **ERRORS}, summary="Mixed batch")
def ingest(request: ApiRequest, payload: IngestIn) -> Status:
    """Session upserts, event batches, runs and run updates across sessions, applied in order,
    each all or nothing on its own. Always 207: each result carries the status the item would
    have had as a single request, and its body or error."""
    check_batch_size(len(payload.items), field="items")
    ops = [_to_op(i, raw) for i, raw in enumerate(payload.items)]
    check_batch_size(sum(len(op.events) for op in ops if isinstance(op, EventsOp)), field="items")
    outcomes = ingest_apply(project=request.auth.project, ops=ops, render=_body)
    results = []
    for index, (raw, outcome) in enumerate(zip(payload.items, outcomes, strict=True)):
        if outcome.error is not None:
            error = outcome.error
            detail = error.errors if isinstance(error, InvalidFields) else error.detail
            body: Any = {"detail": detail, "code": error.code}
            if error.field:
                # A service names the item's own field ("id", "events.2.id"): as the docs say,
                # the answer names it in the batch.
                prefix = f"items.{index}"
                within = error.field == prefix or error.field.startswith(f"{prefix}.")
                body["field"] = error.field if within else f"{prefix}.{error.field}"
        else:
            body = outcome.value
        results.append(
            {
                "index": index,
                "op": raw.get("op") if isinstance(raw.get("op"), str) else None,
                "status": outcome.status,
                "body": body,
            }
        )
    return Status(207, {"results": results})
