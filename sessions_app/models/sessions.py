"""Sessions (a tree of sub-agents and segments) and their runs."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from .projects import Project


class AgentSession(models.Model):
    """One conversation of an agent, a node of a tree of sub-agents and segments."""

    # Not columns: what selectors attach to the rows they return for a page (declared so the
    # type checker knows them). `sub_*` are the totals of a tree node's subtree, `budget_*` the
    # level of the session's and its user's budgets. (`unpriced` is annotated by the query.)
    sub_sessions: int
    sub_events: int
    sub_tokens: int
    sub_cost: Decimal
    sub_unpriced: str
    budget_user: str | None
    budget_session: str | None

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
    # The status an archived session had, restored when it is unarchived.
    archived_from = models.CharField(max_length=10, blank=True, default="", db_default="")
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
    cost_usd = models.DecimalField(max_digits=20, decimal_places=10, default=Decimal("0"))
    error_count = models.PositiveIntegerField(default=0)
    children_count = models.PositiveIntegerField(default=0)
    # last_event_at - created_at, stored so the list can sort by it through an index.
    duration_seconds = models.BigIntegerField(default=0)
    # Kept by services/comments.py in the comment's transaction, so the list sorts by it
    # through an index instead of counting every matching session's comments.
    comment_count = models.PositiveIntegerField(default=0, db_default=0)

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
            models.Index(fields=["project", "-comment_count", "-id"], name="session_comments_n"),
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
