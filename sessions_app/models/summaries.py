"""Summaries of a session, computed by a task."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from .events import Event
from .projects import Project
from .sessions import AgentSession


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
    cost_usd = models.DecimalField(max_digits=20, decimal_places=10, default=Decimal("0"))
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
    # "<celery hostname> <pid>" of the worker running it: the reaper re-queues a running summary
    # whose worker no longer answers (sessions_app.services.summaries.summaries_reap).
    worker = models.CharField(max_length=255, blank=True, default="")
    # The Celery task running it (a summary a user asked for, or a segmentation).
    task_name = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["session", "-created_at"], name="summary_session")]
        verbose_name_plural = "summaries"

    def __str__(self) -> str:
        return f"{self.strategy} summary of {self.session_id} ({self.status})"
