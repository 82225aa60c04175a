"""Review by people and programs: comments, score configs and scores, annotation queues and
their items, and the audit trail of a session's review (issue 18).

Foreign keys to `Event` carry no database constraint: a session's events are deleted with one
raw `DELETE` (see the package docstring), and a score or comment on a popped event keeps its
session and simply loses the event it pointed at. Rows go with their session (CASCADE).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from .events import Event
from .projects import Project
from .sessions import AgentSession


class DataType(models.TextChoices):
    NUMERIC = "numeric", "Numeric"
    CATEGORICAL = "categorical", "Categorical"
    BOOLEAN = "boolean", "Boolean"


class ScoreConfig(models.Model):
    """A named score a project collects: its type, its bounds or labels, what it means."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="score_configs")
    name = models.CharField(max_length=100)
    data_type = models.CharField(max_length=12, choices=DataType.choices)
    min_value = models.FloatField(null=True, blank=True)
    max_value = models.FloatField(null=True, blank=True)
    # Categorical: the labels a value must be one of.
    categories = models.JSONField(default=list, blank=True)
    description = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="score_config_project_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.data_type})"


class Score(models.Model):
    """One value of a named score on a session or one of its events, by a person or a
    program. `value_number` holds numbers and booleans (1/0); `value_label` categories."""

    class Source(models.TextChoices):
        PERSON = "person", "Person"
        API = "api", "API"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    session = models.ForeignKey(AgentSession, on_delete=models.CASCADE, related_name="scores")
    event = models.ForeignKey(
        Event,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    # The client's idempotency key (unique per project when given).
    external_id = models.CharField(max_length=255, null=True, blank=True)
    body_hash = models.CharField(max_length=64, blank=True, default="")
    name = models.CharField(max_length=100)
    config = models.ForeignKey(ScoreConfig, null=True, blank=True, on_delete=models.SET_NULL)
    data_type = models.CharField(max_length=12, choices=DataType.choices)
    value_number = models.FloatField(null=True, blank=True)
    value_label = models.CharField(max_length=200, blank=True, default="")
    comment = models.TextField(blank=True, default="")
    source = models.CharField(max_length=10, choices=Source.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_name = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="score_project_external_id",
            )
        ]
        indexes = [models.Index(fields=["session", "name"], name="score_session_name")]

    def __str__(self) -> str:
        return f"{self.name} = {self.display}"

    @property
    def display(self) -> str:
        """The value as people read it: 4 not 4.0, true/false, or the label."""
        value = self.value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float):
            return f"{value:g}"
        return str(value or "")

    @property
    def value(self) -> float | bool | str | None:
        if self.data_type == DataType.CATEGORICAL:
            return self.value_label
        if self.data_type == DataType.BOOLEAN:
            return None if self.value_number is None else bool(self.value_number)
        return self.value_number


class SessionScore(models.Model):
    """The value of one score name on one session as the sessions list shows, filters and sorts
    it: the session's own latest score (`has_own`), else the average of its events' numeric
    scores (`event_count`, `event_sum`, so a new one updates it without a rescan). `value` is
    the number shown (null for a label or nothing), `label` a categorical own score's label.
    Kept by services/scores.py in the score's transaction; a session without any such score
    has no row."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    session = models.ForeignKey(AgentSession, on_delete=models.CASCADE, related_name="score_values")
    name = models.CharField(max_length=100)
    data_type = models.CharField(max_length=12, blank=True, default="")
    has_own = models.BooleanField(default=False)
    own_number = models.FloatField(null=True, blank=True)
    own_label = models.CharField(max_length=200, blank=True, default="")
    event_count = models.PositiveIntegerField(default=0)
    event_sum = models.FloatField(default=0)
    value = models.FloatField(null=True, blank=True)
    label = models.CharField(max_length=200, blank=True, default="")
    # The session's agent (kept by session_upsert), so the list filtered by agent and sorted by
    # a score reads that agent's values alone through the index.
    agent_name = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "name"], name="session_score_unique")
        ]
        indexes = [
            models.Index(
                fields=["project", "name", "agent_name", "value", "session"],
                name="session_score_agent_sort",
            ),
            models.Index(fields=["project", "name", "value", "session"], name="session_score_sort"),
            models.Index(
                fields=["project", "name", "label", "session"], name="session_score_label"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.session_id}/{self.name} = {self.display}"

    @property
    def display(self) -> str:
        """What the list's cell shows: the own score as people read it, else the average."""
        if self.has_own:
            own = Score(
                data_type=self.data_type, value_number=self.own_number, value_label=self.own_label
            )
            return own.display
        return f"{self.value:.3g}" if self.value is not None else ""


class Comment(models.Model):
    """A remark on a session or one of its events, by a person or by a program's key."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    session = models.ForeignKey(AgentSession, on_delete=models.CASCADE, related_name="comments")
    event = models.ForeignKey(
        Event,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    text = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_name = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["session", "created_at"], name="comment_session_time")]

    def __str__(self) -> str:
        return f"{self.author_name}: {self.text[:50]}"


class AnnotationQueue(models.Model):
    """A list of sessions a team reviews item by item, filling in the queue's score configs.
    Sessions come in by hand or by a rule: list filters (as the list's query string) and a
    sample percentage of the new sessions that match."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="queues")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    score_configs = models.ManyToManyField(ScoreConfig, blank=True, related_name="queues")
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    rule_query = models.CharField(max_length=2000, blank=True, default="")
    rule_sample_percent = models.PositiveSmallIntegerField(null=True, blank=True)
    rule_enabled = models.BooleanField(default=False)
    # Sessions with a larger id are the rule's "new" sessions still to consider (ids, not
    # creation times: an import may create sessions with old timestamps).
    rule_after_id = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class QueueItem(models.Model):
    """One session in a queue: to do, done or skipped, and who holds it (for a few minutes)."""

    class Status(models.TextChoices):
        PENDING = "pending", "To do"
        COMPLETED = "completed", "Done"
        SKIPPED = "skipped", "Skipped"

    queue = models.ForeignKey(AnnotationQueue, on_delete=models.CASCADE, related_name="items")
    session = models.ForeignKey(AgentSession, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    locked_until = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    done_at = models.DateTimeField(null=True, blank=True)
    added_at = models.DateTimeField(default=timezone.now)
    added_by = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["queue", "session"], name="queue_item_unique")
        ]

    def __str__(self) -> str:
        return f"{self.queue_id}/{self.session_id} ({self.status})"


class ReviewEvent(models.Model):
    """One line of a session's review history: who changed its review, scores or comments."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    session = models.ForeignKey(
        AgentSession, on_delete=models.CASCADE, related_name="review_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=200, blank=True, default="")
    # review, score, comment, queue
    kind = models.CharField(max_length=20)
    summary = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["session", "created_at"], name="review_event_session")]

    def __str__(self) -> str:
        return f"{self.actor_name} {self.summary[:50]}"
