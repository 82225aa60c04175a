"""What people keep and hand out from the list and session pages: saved views of the sessions
list, and read-only share links to one session."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from .projects import Project
from .sessions import AgentSession

SHARE_LINK_DEFAULT_DAYS = 7


class SavedView(models.Model):
    """A named set of the sessions list's filters and sort: the owner's alone, or the project's."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="saved_views")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    name = models.CharField(max_length=100)
    # The list's query string (validated fields only, no cursor, keys sorted): applying a view
    # is opening the list at this address, so a view means what a bookmark of it would.
    query = models.CharField(max_length=2000, blank=True, default="")
    shared = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "owner", "name"], name="saved_view_owner_name"
            )
        ]
        indexes = [models.Index(fields=["project", "shared"], name="saved_view_project_shared")]

    def __str__(self) -> str:
        return f"{self.name} ({self.project})"


def _default_expiry() -> datetime:
    return timezone.now() + timedelta(days=SHARE_LINK_DEFAULT_DAYS)


class ShareLink(models.Model):
    """A read-only link to one session for someone without an account. Only a SHA-256 of the
    token is stored: the link is shown once, when it is made."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="share_links")
    session = models.ForeignKey(AgentSession, on_delete=models.CASCADE, related_name="share_links")
    token_hash = models.CharField(max_length=64, unique=True)
    # The token's first characters, so people can tell their links apart in the list.
    hint = models.CharField(max_length=8)
    note = models.CharField(max_length=200, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(default=_default_expiry)
    revoked_at = models.DateTimeField(null=True, blank=True)
    open_count = models.PositiveIntegerField(default=0)
    last_opened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["project", "-created_at"], name="share_link_project")]

    def __str__(self) -> str:
        return f"share link {self.hint}… to {self.session_id}"

    def state_at(self, now: datetime) -> str:
        """active, expired or revoked at `now`."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= now else "active"

    @property
    def state(self) -> str:
        return self.state_at(timezone.now())
