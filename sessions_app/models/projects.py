"""Tenants and access: projects, memberships, API keys, and the retention runs a project keeps."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


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
    # Review: viewers may score, comment and work queues when an admin allows it.
    viewers_may_review = models.BooleanField(default=False)

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
