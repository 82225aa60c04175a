"""The `/ingest` operation's schemas: a mixed batch of session upserts, events, runs and run
updates, each item validated on its own against the schemas of its kind."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field

from .schemas import EventIn, ExternalId, RunIn, RunPatchIn, SessionIn, StrictIn


class IngestSessionItem(SessionIn):
    op: Literal["session"]
    id: ExternalId


class IngestEventsItem(StrictIn):
    op: Literal["events"]
    session_id: ExternalId
    events: Annotated[list[EventIn], Field(min_length=1)]


class IngestRunItem(RunIn):
    op: Literal["run"]
    session_id: ExternalId


class IngestRunUpdateItem(RunPatchIn):
    op: Literal["run_update"]
    id: ExternalId


IngestItem = Annotated[
    IngestSessionItem | IngestEventsItem | IngestRunItem | IngestRunUpdateItem,
    Field(discriminator="op"),
]


class IngestIn(StrictIn):
    """A mixed batch; each item is validated and applied on its own (all or nothing per item)."""

    items: Annotated[list[dict[str, Any]], Field(min_length=1)] = Field(
        description="Objects with `op`: `session` (SessionIn + id), `events` (session_id, "
        "events), `run` (RunIn + session_id) or `run_update` (RunPatchIn + id)."
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {"op": "session", "id": "conv-1", "agent_name": "support-bot"},
                        {"op": "run", "session_id": "conv-1", "id": "run-1", "status": "running"},
                        {
                            "op": "events",
                            "session_id": "conv-1",
                            "events": [
                                {
                                    "id": "e-1",
                                    "source": "user",
                                    "message": "Hello",
                                    "run_id": "run-1",
                                }
                            ],
                        },
                        {"op": "run_update", "id": "run-1", "status": "completed"},
                    ]
                }
            ]
        },
    )


class IngestResultOut(Schema):
    index: int
    op: str | None
    status: int = Field(description="The HTTP status this item alone would have had.")
    body: Any = Field(None, description="The item's response body, or its error.")


class IngestOut(Schema):
    results: list[IngestResultOut]
