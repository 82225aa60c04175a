"""Tasks waiting for the broker."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class OutboxTask(models.Model):
    """A Celery task the broker could not take when it was sent: kept here and sent again by
    the beat-scheduled sweep (sessions_app.services.outbox), so no work is lost to an outage."""

    task_name = models.CharField(max_length=255)
    args = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return (
            f"{self.task_name}{tuple(self.args)} (waiting since {self.created_at:%Y-%m-%d %H:%M})"
        )
