"""What the write path takes and gives back: plain dataclasses, no services.

The normalizers (`normalize/`), the importers and the API build `EventInput`s; the append
service (`services/events`) stores them and answers with `AppendResult`s. Kept below the
services so the purest modules depend on nothing that writes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from .models import MAIN_BRANCH, Event

# An event id's longest length (Event.external_id).
MAX_ID = 255


def bounded_id(text: str, *, keep: str) -> str:
    """An id derived from `text` (an item's origin), or, when that would pass 255 characters,
    `keep` (a prefix of it) and the SHA-256 of the whole text. Stored ids depend on the exact
    form: the normalizers and the importers each keep their own `text` and `keep`."""
    if len(text) <= MAX_ID:
        return text
    return f"{keep}#{hashlib.sha256(text.encode()).hexdigest()}"


@dataclass
class UsageInput:
    """Token usage as a client reported it; missing counts are filled in or estimated."""

    model: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: Decimal | None = None


@dataclass
class EventInput:
    """One event ready to store, as the normalizers produce it."""

    external_id: str
    source: str
    type: str = Event.Type.MESSAGE
    role: str = ""
    name: str = ""
    content: str = ""
    tool_call_id: str = ""
    is_error: bool = False
    payload: Any = None
    payload_format: str = Event.Format.NATIVE
    body_hash: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    timestamp: datetime | None = None
    run_external_id: str | None = None
    # The parent is named either by event id or, for tool results, by the tool call's id.
    parent_external_id: str | None = None
    parent_tool_call_id: str | None = None
    usage: UsageInput | None = None
    # An LLM message without usage gets its tokens counted for this model (tokens_estimated).
    model: str = ""
    # A model or tool call's latency; the OpenTelemetry span it came from (hex ids).
    duration_ms: int | None = None
    span_id: str = ""
    trace_id: str = ""
    # The branch the event is written on (Agents SDK branches; `main` by default).
    branch: str = MAIN_BRANCH


@dataclass(frozen=True)
class AppendResult:
    """What happened to one input event."""

    external_id: str
    seq: int
    status: str  # "created" or "duplicate"
    event_id: int
