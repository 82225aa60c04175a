"""What happened in a session: events in seq order, and the token usage of model calls."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils import timezone

from .projects import Project
from .sessions import AgentSession, Run

# The branch every session starts on (the Agents SDK's name for it).
MAIN_BRANCH = "main"


class Event(models.Model):
    """One thing that happened in a session, in server-assigned order (`seq`)."""

    class Source(models.TextChoices):
        USER = "user", "User"
        LLM = "llm", "LLM"
        SYSTEM = "system", "System"
        TOOL = "tool", "Tool"

    class Type(models.TextChoices):
        MESSAGE = "message", "Message"
        TOOL_CALL = "tool_call", "Tool call"
        TOOL_RESULT = "tool_result", "Tool result"
        SUMMARY = "summary", "Summary"
        REFERENCE = "reference", "Reference"
        CONTEXT_BRIDGE = "context_bridge", "Context bridge"
        ERROR = "error", "Error"

    class Role(models.TextChoices):
        NONE = "", "None"
        USER = "user", "User"
        ASSISTANT = "assistant", "Assistant"
        SYSTEM = "system", "System"
        TOOL = "tool", "Tool"
        DEVELOPER = "developer", "Developer"

    class Format(models.TextChoices):
        NATIVE = "native", "Sessionscope / a2a event"
        OPENAI_CHAT = "openai_chat", "OpenAI chat message"
        RESPONSES = "responses", "OpenAI Responses item"
        AGENT_FRAMEWORK = "agent_framework", "Agent Framework message"

    # The largest table and the hottest insert: foreign keys are indexed by the composite and
    # partial indexes in Meta, never twice (an event without a run, parent or tool call id
    # costs no entry in those indexes).
    # No database constraint on the project: an event's project is its session's, whose own
    # constraints hold it. Checking it cost a trigger per inserted row (a third of the
    # constraint checks of a batch) and a key-share lock on the one project row that every
    # concurrent writer of the project takes. Deleting a project still deletes its events (the
    # ORM cascades).
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    session = models.ForeignKey(
        AgentSession, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    run = models.ForeignKey(
        Run,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="events",
        db_index=False,
    )
    parent_event = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="children",
        db_index=False,
    )
    external_id = models.CharField(max_length=255)
    seq = models.PositiveIntegerField()
    timestamp = models.DateTimeField(default=timezone.now)
    received_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=10, choices=Source.choices)
    type = models.CharField(max_length=20, choices=Type.choices, default=Type.MESSAGE)
    role = models.CharField(max_length=10, choices=Role.choices, blank=True, default="")
    name = models.CharField(max_length=255, blank=True, default="")
    # Links a tool result to the call it answers (OpenAI `tool_call_id` / Responses `call_id`).
    tool_call_id = models.CharField(max_length=255, blank=True, default="")
    content = models.TextField(blank=True, default="")
    is_error = models.BooleanField(default=False)
    # The item exactly as the client sent it, and in which format; events derived from another
    # item (one tool_call per entry of a chat message's `tool_calls`) have no payload of their own.
    payload = models.JSONField(null=True, blank=True)
    payload_format = models.CharField(max_length=20, choices=Format.choices, default=Format.NATIVE)
    # SHA-256 of the event as sent: a retry with the same id must carry the same body.
    body_hash = models.CharField(max_length=64, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    # A model or tool call's latency (span end minus start, or as the client reported it).
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    # OpenTelemetry ids (hex) of the span the event came from, so a reviewer can find it in
    # their other tools.
    span_id = models.CharField(max_length=16, blank=True, default="")
    trace_id = models.CharField(max_length=32, blank=True, default="")
    # The branch the event was written on (Agents SDK `AdvancedSQLiteSession` branches). A
    # branch shares its parent's events up to its fork point (`SessionBranch`), stored once.
    branch = models.CharField(max_length=100, default=MAIN_BRANCH, db_default=MAIN_BRANCH)
    # An agent's pop or clear hides an event from the agent's reads but keeps it in the record
    # (and in the cost figures): when, and by which call (`pop`, `clear`).
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.CharField(max_length=20, blank=True, default="", db_default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "seq"], name="event_session_seq"),
            # Unique among live events only: an agent that clears and re-adds (compaction)
            # reuses its items' ids, and the removed rows keep theirs in the record.
            models.UniqueConstraint(
                fields=["project", "external_id"],
                name="event_project_external_id",
                condition=models.Q(removed_at__isnull=True),
            ),
        ]
        indexes = [
            models.Index(
                fields=["session", "tool_call_id"],
                name="event_tool_call",
                condition=~models.Q(tool_call_id=""),
            ),
            models.Index(
                fields=["parent_event"],
                name="event_parent",
                condition=models.Q(parent_event__isnull=False),
            ),
            models.Index(
                fields=["run", "seq"], name="event_run", condition=models.Q(run__isnull=False)
            ),
            # The OTLP receiver's check that a span id is not reused with another body, and a
            # reviewer's search by span id; only the events that carry a span have an entry.
            models.Index(
                fields=["project", "span_id"],
                name="event_span",
                condition=~models.Q(span_id=""),
            ),
            # Removed events by id (few): "does the project hold this id, removed or not?" is a
            # probe of the live ids' unique index, then of this one. Without it that question
            # (an OTLP retry's duplicate check, a jump to an event id) scanned every event of
            # the project. New events have no entry, so it costs ingest nothing.
            models.Index(
                fields=["project", "external_id"],
                name="event_removed_external_id",
                condition=models.Q(removed_at__isnull=False),
            ),
            # Next/previous error in a transcript: a few entries per session, read in seq order.
            models.Index(
                fields=["session", "seq"],
                name="event_session_error",
                condition=models.Q(is_error=True),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.type} ({self.source})"


class TokenUsage(models.Model):
    """Tokens and cost of one event that used a model, with the unit prices applied."""

    class CostSource(models.TextChoices):
        REPORTED = "reported", "Reported by the client"
        COMPUTED = "computed", "Computed from the price table"
        UNKNOWN = "unknown", "Unknown model price"

    # Indexed by the composites in Meta, not once more each. No constraint on the project, as
    # for events: the session's holds it.
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    session = models.ForeignKey(
        AgentSession, on_delete=models.CASCADE, related_name="usages", db_index=False
    )
    run = models.ForeignKey(
        Run, null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+", db_index=False
    )
    event = models.OneToOneField(Event, on_delete=models.DO_NOTHING, related_name="usage")
    # The event's timestamp, copied so analytics over time never join events.
    timestamp = models.DateTimeField(default=timezone.now)
    model = models.CharField(max_length=255)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    total_tokens = models.PositiveIntegerField(default=0)
    cached_tokens = models.PositiveIntegerField(default=0)
    reasoning_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=20, decimal_places=10, default=Decimal("0"))
    input_cost_per_token = models.DecimalField(
        max_digits=20, decimal_places=14, null=True, blank=True
    )
    output_cost_per_token = models.DecimalField(
        max_digits=20, decimal_places=14, null=True, blank=True
    )
    cached_cost_per_token = models.DecimalField(
        max_digits=20, decimal_places=14, null=True, blank=True
    )
    cost_source = models.CharField(max_length=10, choices=CostSource.choices)
    tokens_estimated = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["project", "timestamp"], name="usage_project_time"),
            models.Index(fields=["project", "model", "timestamp"], name="usage_project_model"),
            # A session's usage within a range of time: the sessions list's in-range figures
            # (spent_from/spent_to) and PostgreSQL's per-session probe of that filter read only
            # the range's rows. Also what usage_session (session) was: the foreign key's index.
            models.Index(fields=["session", "timestamp"], name="usage_session_time"),
        ]

    def __str__(self) -> str:
        return f"{self.model}: {self.total_tokens} tokens, ${self.cost_usd}"
