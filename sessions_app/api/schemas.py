"""Input and output schemas of the agents' API.

Inputs forbid unknown fields, so a typo is a 422 that names the field instead of silently lost
data. Two things are taken as they are: an a2a `SessionEvent` dict (its own fields are ours) and
a foreign `item`, which is stored verbatim as the event's payload.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PlainSerializer,
    PrivateAttr,
    StrictBool,
    model_validator,
)

from ..money import MAX_COST, cost_rounded, money_text
from ..storable import id_problem

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def _clean_text(value: str) -> str:
    # Query strings and path segments are not seen by the body parser's text check.
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid text") from exc
    return value


def _clean_id(value: str) -> str:
    problem = id_problem(value)
    if problem:
        raise ValueError(problem)
    return value


# PostgreSQL refuses a time-zone offset of 16 hours or more; Python takes up to 23:59.
MAX_OFFSET = timedelta(hours=15, minutes=59)


def _sane_moment(value: datetime) -> datetime:
    """Aware (UTC when no offset is given) and within 1970..9000, so no database overflows."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    offset = value.utcoffset()
    if offset is not None and abs(offset) > MAX_OFFSET:
        raise ValueError("must have a time-zone offset between -15:59 and +15:59")
    if not EARLIEST <= value <= LATEST:
        raise ValueError("must be between 1970 and 9000")
    return value


CleanStr = Annotated[str, AfterValidator(_clean_text)]
Moment = Annotated[datetime, AfterValidator(_sane_moment)]
# An id in a body: what a path id may be too (convert.py check_path_id).
CleanId = Annotated[str, AfterValidator(_clean_id)]
ExternalId = Annotated[CleanId, Field(min_length=1, max_length=255)]
SessionKind = Literal["root", "child", "segment"]
SessionStatus = Literal["active", "completed", "archived"]
RunStatus = Literal["pending", "running", "completed", "failed", "cancelled"]
EventSource = Literal["user", "llm", "system", "tool"]
EventType = Literal[
    "message", "tool_call", "tool_result", "summary", "reference", "context_bridge", "error"
]
EventRole = Literal["user", "assistant", "system", "tool", "developer"]
ItemFormat = Literal["openai_chat", "responses", "agent_framework"]


# Money in every response: a decimal string without trailing zeros ("0.00125").
Money = Annotated[Decimal, PlainSerializer(money_text, return_type=str)]


class StrictIn(BaseModel):
    """Plain pydantic, not ninja's Schema: its wrapper hides the dict as sent, which the body
    hash and the single-event form need."""

    model_config = ConfigDict(extra="forbid")


# --- sessions ---------------------------------------------------------------------------------


class SessionIn(StrictIn):
    """Fields of a session; only those sent are changed on update."""

    parent_id: Annotated[CleanId, Field(max_length=255)] | None = Field(
        None, description="External id of the parent session; null or empty makes it a root."
    )
    kind: SessionKind | None = None
    title: Annotated[str, Field(max_length=500)] | None = None
    agent_name: Annotated[str, Field(max_length=200)] | None = None
    user_ref: Annotated[str, Field(max_length=255)] | None = None
    status: SessionStatus | None = None
    metadata: dict[str, Any] | None = None
    state: dict[str, Any] | None = None
    service_session_id: Annotated[str, Field(max_length=255)] | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "Refund for order 1042",
                    "agent_name": "support-bot",
                    "user_ref": "customer-881",
                    "metadata": {"env": "prod", "channel": "chat"},
                },
                {"parent_id": "conv-1", "kind": "child", "agent_name": "refund-subagent"},
            ]
        },
    )


class SessionOut(BaseModel):
    id: str
    parent_id: str | None
    continued_in: str | None
    kind: str
    depth: int
    title: str
    preview: str
    agent_name: str
    user_ref: str
    status: str
    metadata: dict[str, Any]
    state: dict[str, Any]
    service_session_id: str
    created_at: datetime
    updated_at: datetime
    last_event_at: datetime
    event_count: int
    last_seq: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_usd: Money
    error_count: int
    children_count: int


class SessionListOut(BaseModel):
    items: list[SessionOut]
    next_cursor: str | None


class DeletedOut(Schema):
    deleted: int


# --- events -----------------------------------------------------------------------------------


def _reported_cost(value: Decimal) -> Decimal:
    """A reported cost rounded to the 10 places it is stored with, as the OTLP receiver does: a
    client's float (0.1 + 0.2 = 0.30000000000000004) is not an error."""
    if value < MAX_COST and (value := cost_rounded(value)) < MAX_COST:
        return value
    raise ValueError(f"must be less than {MAX_COST:f} USD")


class TokenUsageIn(BaseModel):
    """Usage as the client reports it. Extra keys (a2a's `estimated_cost_usd`) are ignored:
    a2a's estimate uses a flat default rate, so only `cost_usd` counts as a reported cost."""

    model_config = ConfigDict(extra="ignore")

    model: Annotated[str, Field(max_length=255)] = ""
    prompt_tokens: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = None
    completion_tokens: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = None
    total_tokens: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = None
    cached_tokens: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0
    reasoning_tokens: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0
    cost_usd: (
        Annotated[Decimal, Field(ge=0, allow_inf_nan=False), AfterValidator(_reported_cost)] | None
    ) = None


class EventIn(StrictIn):
    """One event: either our/a2a fields (`source`, `type`, `message`, ...) or `item`, a foreign
    message that a normalizer maps (`format` names it; detected when omitted)."""

    id: ExternalId | None = Field(None, description="Idempotency key, unique per project.")
    timestamp: Moment | None = None
    source: EventSource | None = None
    type: EventType | None = None
    role: EventRole | None = None
    name: Annotated[str, Field(max_length=255)] | None = None
    message: Any = Field(None, description="Text, or an object (a2a's SessionEvent.message).")
    model: Annotated[str, Field(max_length=255)] | None = Field(
        None, description="Model of an LLM message: its tokens are counted when no usage is sent."
    )
    run_id: ExternalId | None = None
    task_id: ExternalId | None = Field(None, description="a2a's name for run_id.")
    parent_event_id: ExternalId | None = None
    tool_call_id: Annotated[str, Field(max_length=255)] | None = None
    is_error: StrictBool | None = None
    metadata: dict[str, Any] | None = None
    token_usage: TokenUsageIn | None = None
    duration_ms: int | None = Field(
        None, ge=0, le=2**31 - 1, description="A model or tool call's latency in milliseconds."
    )
    item: dict[str, Any] | None = Field(
        None, description="An OpenAI chat message, Responses item or Agent Framework Message."
    )
    format: ItemFormat | None = None
    branch: Annotated[str, Field(min_length=1, max_length=100)] | None = Field(
        None,
        description="The branch the event is written on (Agents SDK branches; default `main`): "
        "one the session has (`POST /sessions/{id}/branches`), else 422; a deleted one: 409.",
    )

    @model_validator(mode="after")
    def _one_shape(self) -> EventIn:
        if self.item is not None:
            for name in ("source", "type", "role", "name", "message", "tool_call_id", "is_error"):
                if getattr(self, name) is not None:
                    raise ValueError(
                        f"{name} cannot be combined with item (it comes from the item)"
                    )
        else:
            if self.format is not None:
                raise ValueError("format applies only to an item")
            # An explicit `"message": null` is an a2a event without a message (kept as sent);
            # only an event that names neither message nor item is malformed.
            if self.message is None and "message" not in self.model_fields_set:
                raise ValueError("an event needs message (our/a2a fields) or item (a foreign item)")
        if self.run_id and self.task_id and self.run_id != self.task_id:
            raise ValueError("run_id and task_id disagree")
        return self


EVENT_EXAMPLES: list[Any] = [
    {
        "events": [
            {
                "id": "evt-1",
                "source": "user",
                "type": "message",
                "message": "Where is my refund?",
                "timestamp": "2026-01-05T10:00:00Z",
            },
            {
                "id": "evt-2",
                "source": "llm",
                "type": "message",
                "message": "Let me check order 1042.",
                "run_id": "run-1",
                "token_usage": {
                    "model": "gpt-4o-mini",
                    "prompt_tokens": 120,
                    "completion_tokens": 12,
                },
            },
        ]
    },
    {
        "events": [
            {"id": "m-1", "format": "openai_chat", "item": {"role": "user", "content": "Hi"}},
            {
                "id": "m-2",
                "format": "openai_chat",
                "item": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "lookup_order", "arguments": '{"id": 1042}'},
                        }
                    ],
                },
            },
            {
                "id": "m-3",
                "format": "openai_chat",
                "item": {"role": "tool", "tool_call_id": "call_1", "content": "shipped"},
            },
        ]
    },
    {"id": "evt-9", "source": "system", "type": "message", "message": "A single event."},
]


class EventsReadIn(StrictIn):
    """A read answered with a POST of events, after they are stored: the page a `GET` of the
    session's events with these parameters gives (an SDK session's flush-then-read in one round
    trip)."""

    format: Literal["openai_chat", "responses", "agent_framework", "native"] | None = None
    limit: int = Field(100, ge=1, le=1000)
    tail: StrictBool = False
    after_seq: int = Field(0, ge=0, le=2**31 - 1)
    branch: Annotated[str, Field(max_length=100)] | None = None


class EventsIn(StrictIn):
    """A batch of events (a single event object is accepted too)."""

    events: Annotated[list[EventIn], Field(min_length=1)]
    read: EventsReadIn | None = Field(
        None, description="Also answer with this page of the session's events (`read`)."
    )

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": EVENT_EXAMPLES})

    # The event objects exactly as sent: an event's hash is its idempotency body hash, and for
    # native events the object is the payload a reader gets back. Kept once per batch, not as a
    # private attribute of each event (which cost more than validating the event).
    _raw_events: list[dict[str, Any]] = PrivateAttr(default_factory=list)

    # pydantic 2.14's stubs leave the wrap validator's model type unsolved (mypy reads Never);
    # earlier releases check it cleanly, hence unused-ignore.
    @model_validator(mode="wrap")  # type: ignore[arg-type, unused-ignore]
    @classmethod
    def _keep_raw(cls, data: Any, handler: ModelWrapValidatorHandler[EventsIn]) -> EventsIn:
        if isinstance(data, dict) and "events" not in data:
            data = {"events": [data]}  # a single event object
        batch = handler(data)
        sent = data["events"] if isinstance(data, dict) else batch.events
        # An event built in code rather than parsed from JSON counts as what a client would send.
        batch._raw_events = [
            e if isinstance(e, dict) else e.model_dump(mode="json", exclude_unset=True)
            for e in sent
        ]
        return batch

    @property
    def raw_events(self) -> list[dict[str, Any]]:
        return self._raw_events


class EventResultOut(BaseModel):
    id: str
    seq: int
    status: Literal["created", "duplicate"]


class EventPageOut(BaseModel):
    items: list[Any] = Field(
        description="EventOut objects, or with `format=` the stored items exactly as written."
    )
    next_after_seq: int | None


class EventsPostOut(BaseModel):
    session_id: str = Field(
        description="The session the events were stored in (a segment when "
        "the addressed session continued in one)."
    )
    results: list[EventResultOut]
    read: EventPageOut | None = Field(
        None,
        description="With `read` in the request only: the page asked for, read after "
        "the events were stored.",
    )


class TokenUsageOut(BaseModel):
    model: str
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cached_tokens: int
    reasoning_tokens: int
    cost_usd: Money
    cost_source: str
    tokens_estimated: bool
    input_cost_per_token: Money | None
    output_cost_per_token: Money | None


class EventOut(BaseModel):
    id: str
    seq: int
    timestamp: datetime
    received_at: datetime
    source: str
    type: str
    role: str
    name: str
    content: str
    tool_call_id: str
    is_error: bool
    parent_event_id: str | None
    run_id: str | None
    metadata: dict[str, Any]
    payload: Any
    payload_format: str
    token_usage: TokenUsageOut | None
    duration_ms: int | None = None
    span_id: str = ""
    trace_id: str = ""
    branch: str = "main"
    # Set when an agent's pop or clear removed the event from its reads (kept in the record).
    removed_at: datetime | None = None
    removed_by: str = ""


class PoppedOut(Schema):
    item: EventOut | None


# --- runs -------------------------------------------------------------------------------------


class RunIn(StrictIn):
    id: ExternalId
    status: RunStatus = "pending"
    agent_name: Annotated[str, Field(max_length=200)] = ""
    started_at: Moment | None = None
    metadata: dict[str, Any] | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"id": "run-1", "status": "running", "agent_name": "support-bot"}]
        },
    )


class RunPatchIn(StrictIn):
    status: RunStatus | None = None
    reason: Annotated[str, Field(max_length=10_000)] | None = None
    ended_at: Moment | None = None
    metadata: dict[str, Any] | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"status": "completed"},
                {"status": "failed", "reason": "tool timeout", "metadata": {"retries": 3}},
            ]
        },
    )


class RunOut(Schema):
    id: str
    session_id: str
    status: str
    agent_name: str
    started_at: datetime | None
    ended_at: datetime | None
    reason: str
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class ErrorOut(Schema):
    """Every error: a message, a stable code and, for bad input, the field at fault."""

    detail: Any
    code: str
    field: str | None = None


ERRORS: dict[int, type[Schema]] = dict.fromkeys((401, 404, 409, 413, 422, 429), ErrorOut)
