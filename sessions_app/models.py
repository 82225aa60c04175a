"""The Sessionscope data model. `Project` is the tenant; every other row belongs to one project.

Deletion rules (docs/data-model.md): deleting a session deletes its whole subtree (sub-agent
children and summary segments have no meaning without the conversation that started them) along
with every event, run, token usage row and summary of those sessions. Foreign keys that point at
`Event` and `Run` are DO_NOTHING at the ORM level so that a session's events are deleted with one
`DELETE ... WHERE session_id IN (...)` instead of being loaded into memory by Django's collector;
the database still enforces them (deferred), and the services delete dependants first.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

MONEY = {"max_digits": 20, "decimal_places": 10, "default": Decimal("0")}
UNIT_PRICE = {"max_digits": 20, "decimal_places": 14, "null": True, "blank": True}


class Project(models.Model):
    """The tenant: every session, key and price belongs to exactly one project."""

    class RetentionAction(models.TextChoices):
        ARCHIVE = "archive", "Archive"
        DELETE = "delete", "Delete"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Infinite conversations: a session over either threshold is summarized into a segment.
    segment_token_threshold = models.PositiveIntegerField(null=True, blank=True)
    segment_turn_limit = models.PositiveIntegerField(null=True, blank=True)
    # Retention: sessions idle for this many days are archived or deleted by a beat task.
    retention_days = models.PositiveIntegerField(null=True, blank=True)
    retention_action = models.CharField(
        max_length=10, choices=RetentionAction.choices, default=RetentionAction.ARCHIVE
    )
    # Budget alerts are POSTed here as JSON when set.
    alert_webhook_url = models.URLField(blank=True, default="")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's role in one project."""

    class Role(models.TextChoices):
        VIEWER = "viewer", "Viewer"
        EDITOR = "editor", "Editor"
        ADMIN = "admin", "Admin"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "project"], name="membership_user_project")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.project} ({self.role})"


class ApiKey(models.Model):
    """An agent's credential for one project. Only a SHA-256 of the secret is stored."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=200)
    # The visible part of the key ("ss_<prefix>_<secret>"); unique so a lookup is one index probe.
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} (ss_{self.prefix}_…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AgentSession(models.Model):
    """One conversation of an agent, a node of a tree of sub-agents and segments."""

    class Kind(models.TextChoices):
        ROOT = "root", "Root"
        CHILD = "child", "Child (sub-agent or handoff)"
        SEGMENT = "segment", "Segment (continuation after a summary)"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Completed"
        ARCHIVED = "archived", "Archived"

    class Review(models.TextChoices):
        NONE = "", "Not reviewed"
        REVIEWED = "reviewed", "Reviewed"
        FLAGGED = "flagged", "Flagged"

    # Every ingest updates its session row, and a non-HOT update writes an entry into every
    # index of the table: no foreign key gets an index of its own where a composite index
    # (listed in Meta) already starts with it.
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="sessions", db_index=False
    )
    external_id = models.CharField(max_length=255)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="children",
        db_index=False,
    )
    # Roots point at themselves, so `root=X` selects a whole tree, root included, in one query.
    root = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    # Materialised path of ancestor ids ("/1/5/9/"): a subtree is one indexed prefix scan
    # (session_path, with varchar_pattern_ops on PostgreSQL, which LIKE 'prefix%' needs).
    path = models.CharField(max_length=2000, default="", blank=True)
    depth = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.ROOT)
    title = models.CharField(max_length=500, blank=True, default="")
    # The first user message, clipped: what the list shows when there is no title.
    preview = models.CharField(max_length=300, blank=True, default="")
    agent_name = models.CharField(max_length=200, blank=True, default="")
    user_ref = models.CharField(max_length=255, blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    metadata = models.JSONField(default=dict, blank=True)
    state = models.JSONField(default=dict, blank=True)
    service_session_id = models.CharField(max_length=255, blank=True, default="")
    # Set when this session was summarized and the conversation continues in a segment.
    continued_in = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # Last activity: creation time until the first event, then the latest event timestamp.
    last_event_at = models.DateTimeField(default=timezone.now)

    # Rollups, kept current by the event services in the same transaction as the events.
    event_count = models.PositiveIntegerField(default=0)
    last_seq = models.PositiveIntegerField(default=0)
    prompt_tokens = models.BigIntegerField(default=0)
    completion_tokens = models.BigIntegerField(default=0)
    total_tokens = models.BigIntegerField(default=0)
    cost_usd = models.DecimalField(**MONEY)
    error_count = models.PositiveIntegerField(default=0)
    children_count = models.PositiveIntegerField(default=0)
    # last_event_at - created_at, stored so the list can sort by it through an index.
    duration_seconds = models.BigIntegerField(default=0)

    review_status = models.CharField(
        max_length=10, choices=Review.choices, default=Review.NONE, blank=True
    )
    review_note = models.TextField(blank=True, default="")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "external_id"], name="session_project_external_id"
            ),
        ]
        indexes = [
            # One index per sort of the sessions list; `id` breaks ties for keyset pagination.
            models.Index(fields=["project", "-last_event_at", "-id"], name="session_last_activity"),
            models.Index(fields=["project", "-created_at", "-id"], name="session_created"),
            models.Index(fields=["project", "-cost_usd", "-id"], name="session_cost"),
            models.Index(fields=["project", "-total_tokens", "-id"], name="session_tokens"),
            models.Index(fields=["project", "-event_count", "-id"], name="session_events"),
            models.Index(fields=["project", "-duration_seconds", "-id"], name="session_duration"),
            models.Index(fields=["project", "-children_count", "-id"], name="session_children_n"),
            models.Index(fields=["project", "-error_count", "-id"], name="session_errors"),
            models.Index(fields=["root", "depth", "id"], name="session_tree"),
            models.Index(fields=["parent", "created_at", "id"], name="session_children"),
            models.Index(fields=["path"], name="session_path", opclasses=["varchar_pattern_ops"]),
            # Partial: only segmented or reviewed sessions have these, and ingest skips them.
            models.Index(
                fields=["continued_in"],
                name="session_continued_in",
                condition=models.Q(continued_in__isnull=False),
            ),
            models.Index(
                fields=["reviewed_by"],
                name="session_reviewed_by",
                condition=models.Q(reviewed_by__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.title or self.external_id

    @property
    def display_title(self) -> str:
        return self.title or self.preview or self.external_id

    @property
    def duration(self):
        return self.last_event_at - self.created_at


class Run(models.Model):
    """An agent run inside a session (a2a `SessionRun`)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    TERMINAL = frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELLED})

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    session = models.ForeignKey(AgentSession, on_delete=models.CASCADE, related_name="runs")
    external_id = models.CharField(max_length=255)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    agent_name = models.CharField(max_length=200, blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "external_id"], name="run_project_external_id"
            )
        ]
        indexes = [models.Index(fields=["session", "created_at"], name="run_session")]

    def __str__(self) -> str:
        return f"{self.external_id} ({self.status})"


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
    # their other tools. Not indexed: nothing here looks an event up by them.
    span_id = models.CharField(max_length=16, blank=True, default="")
    trace_id = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "seq"], name="event_session_seq"),
            models.UniqueConstraint(
                fields=["project", "external_id"], name="event_project_external_id"
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
    cost_usd = models.DecimalField(**MONEY)
    input_cost_per_token = models.DecimalField(**UNIT_PRICE)
    output_cost_per_token = models.DecimalField(**UNIT_PRICE)
    cached_cost_per_token = models.DecimalField(**UNIT_PRICE)
    cost_source = models.CharField(max_length=10, choices=CostSource.choices)
    tokens_estimated = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["project", "timestamp"], name="usage_project_time"),
            models.Index(fields=["project", "model", "timestamp"], name="usage_project_model"),
            models.Index(fields=["session"], name="usage_session"),
        ]

    def __str__(self) -> str:
        return f"{self.model}: {self.total_tokens} tokens, ${self.cost_usd}"


class ModelPrice(models.Model):
    """A project's price for a model, used before litellm's table from `effective_from` on.

    `pattern` is an exact model name or a shell-style glob (`my-llama-*`); the most recent
    effective row whose pattern matches wins, exact names before globs.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="model_prices")
    pattern = models.CharField(max_length=255)
    input_cost_per_token = models.DecimalField(max_digits=20, decimal_places=14)
    output_cost_per_token = models.DecimalField(max_digits=20, decimal_places=14)
    cached_cost_per_token = models.DecimalField(
        max_digits=20, decimal_places=14, null=True, blank=True
    )
    effective_from = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["project", "-effective_from"], name="price_project_time")]

    def __str__(self) -> str:
        return f"{self.pattern} from {self.effective_from:%Y-%m-%d}"


class Summary(models.Model):
    """A summary of a session's events up to `covers_up_to_seq`, computed by a Celery task."""

    class Strategy(models.TextChoices):
        BASIC = "basic", "Basic"
        KEY_POINTS = "key_points", "Key points"
        TOPIC_BASED = "topic_based", "Topic based"
        QUERY_FOCUSED = "query_focused", "Query focused"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    session = models.ForeignKey(AgentSession, on_delete=models.CASCADE, related_name="summaries")
    strategy = models.CharField(max_length=20, choices=Strategy.choices, default=Strategy.BASIC)
    query = models.TextField(blank=True, default="")
    model = models.CharField(max_length=255)
    # True when no model credentials were configured and the extractive summarizer ran.
    extractive = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    text = models.TextField(blank=True, default="")
    covers_up_to_seq = models.PositiveIntegerField(default=0)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    total_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(**MONEY)
    error = models.TextField(blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    # The `summary` event written into the session, and the segment it opened, if any.
    event = models.OneToOneField(
        Event, null=True, blank=True, on_delete=models.DO_NOTHING, related_name="summary_record"
    )
    segment = models.ForeignKey(
        AgentSession, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["session", "-created_at"], name="summary_session")]
        verbose_name_plural = "summaries"

    def __str__(self) -> str:
        return f"{self.strategy} summary of {self.session_id} ({self.status})"


class DailyUsage(models.Model):
    """Usage summed per project, day, model, agent, end user and cost source.

    Kept current by the event services in the ingest transaction, so cost rollups read a few
    rows per day instead of scanning token usage.
    """

    # Indexed by the unique key, which starts with it.
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    model = models.CharField(max_length=255)
    agent_name = models.CharField(max_length=200, blank=True, default="")
    user_ref = models.CharField(max_length=255, blank=True, default="")
    cost_source = models.CharField(max_length=10, choices=TokenUsage.CostSource.choices)
    # Signed on purpose: deletions subtract through the same upsert, and a CHECK (>= 0) would be
    # evaluated on the proposed insert row before the conflict turns it into an update.
    events = models.BigIntegerField(default=0)
    prompt_tokens = models.BigIntegerField(default=0)
    completion_tokens = models.BigIntegerField(default=0)
    total_tokens = models.BigIntegerField(default=0)
    cached_tokens = models.BigIntegerField(default=0)
    reasoning_tokens = models.BigIntegerField(default=0)
    cost_usd = models.DecimalField(**MONEY)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "day", "model", "agent_name", "user_ref", "cost_source"],
                name="daily_usage_key",
            )
        ]
        verbose_name_plural = "daily usage"

    def __str__(self) -> str:
        return f"{self.day} {self.model}: ${self.cost_usd}"


class Budget(models.Model):
    """A spending limit for a project, an end user or a session over a period."""

    class Scope(models.TextChoices):
        PROJECT = "project", "Project"
        USER = "user", "End user"
        SESSION = "session", "Session"

    class Period(models.TextChoices):
        DAY = "day", "Day"
        WEEK = "week", "Week"
        MONTH = "month", "Month"
        TOTAL = "total", "All time"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="budgets")
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.PROJECT)
    # The end user's user_ref or the session's external_id; blank for a project budget.
    target = models.CharField(max_length=255, blank=True, default="")
    period = models.CharField(max_length=10, choices=Period.choices, default=Period.MONTH)
    amount_usd = models.DecimalField(max_digits=20, decimal_places=6)
    # Fraction of the amount at which "near" is reported (0.8 = 80 %).
    warn_ratio = models.DecimalField(max_digits=4, decimal_places=3, default=Decimal("0.8"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "scope", "target", "period"], name="budget_key"
            ),
            models.CheckConstraint(condition=Q(amount_usd__gt=0), name="budget_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.target} {self.period}: ${self.amount_usd}"


class BudgetAlert(models.Model):
    """A budget crossed its warning ratio or its amount in one period: recorded once."""

    class Level(models.TextChoices):
        NEAR = "near", "Near the budget"
        OVER = "over", "Over the budget"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    budget = models.ForeignKey(Budget, on_delete=models.CASCADE, related_name="alerts")
    period_start = models.DateTimeField()
    level = models.CharField(max_length=10, choices=Level.choices)
    spent_usd = models.DecimalField(**MONEY)
    created_at = models.DateTimeField(default=timezone.now)
    webhook_status = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["budget", "period_start", "level"], name="budget_alert_once"
            )
        ]
        indexes = [models.Index(fields=["project", "-created_at"], name="budget_alert_recent")]

    def __str__(self) -> str:
        return f"{self.budget}: {self.level} at ${self.spent_usd}"


class RetentionRun(models.Model):
    """What one application of a project's retention policy archived or deleted."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="retention_runs")
    ran_at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=10, choices=Project.RetentionAction.choices)
    idle_days = models.PositiveIntegerField()
    sessions_affected = models.PositiveIntegerField(default=0)
    events_deleted = models.PositiveIntegerField(default=0)
    # The external ids affected (clipped to the first 1,000), for the record.
    external_ids = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-ran_at"]

    def __str__(self) -> str:
        return f"{self.project} {self.action} {self.sessions_affected} at {self.ran_at:%Y-%m-%d}"
