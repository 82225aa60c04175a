"""Retention: archive or delete a project's sessions idle for longer than its policy allows."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from ..errors import InvalidInput
from ..models import AgentSession, Project, RetentionRun
from .sessions import session_delete

# The run record keeps this many external ids; the counts are always complete.
RECORDED_IDS = 1000
MAX_RETENTION_DAYS = 36_500


def project_retention_set(*, project: Project, days: int | None, action: str) -> Project:
    """Set (or clear, with days=None) a project's retention policy."""
    if action not in Project.RetentionAction.values:
        raise InvalidInput("action must be archive or delete.", field="retention_action")
    if days is not None and not 1 <= days <= MAX_RETENTION_DAYS:
        raise InvalidInput(
            f"retention days must be between 1 and {MAX_RETENTION_DAYS}.", field="retention_days"
        )
    project.retention_days, project.retention_action = days, action
    project.save(update_fields=["retention_days", "retention_action"])
    return project


def retention_apply(*, project: Project, now: datetime | None = None) -> RetentionRun | None:
    """Apply the project's policy once and record what it did (None when it has no policy).

    Archive marks every idle session archived. Delete removes whole trees whose every session
    is idle: deleting a root deletes its subtree, so a tree with any recent activity stays.
    """
    if not project.retention_days:
        return None
    now = now or timezone.now()
    cutoff = now - timedelta(days=project.retention_days)
    sessions = AgentSession.objects.filter(project=project)
    if project.retention_action == Project.RetentionAction.ARCHIVE:
        with transaction.atomic():
            idle = sessions.filter(last_event_at__lt=cutoff).exclude(
                status=AgentSession.Status.ARCHIVED
            )
            ids = list(idle.values_list("external_id", flat=True)[:RECORDED_IDS])
            affected = idle.update(status=AgentSession.Status.ARCHIVED, updated_at=now)
            return RetentionRun.objects.create(
                project=project,
                ran_at=now,
                action=project.retention_action,
                idle_days=project.retention_days,
                sessions_affected=affected,
                external_ids=ids,
            )
    recent_roots = sessions.filter(last_event_at__gte=cutoff).values("root_id")
    roots = list(
        sessions.filter(parent__isnull=True, last_event_at__lt=cutoff)
        .exclude(pk__in=recent_roots)
        .only("pk", "project_id", "path", "parent_id", "external_id")
    )
    affected = events = 0
    ids = []
    for root in roots:
        # One transaction per tree: a failure part way keeps what was already deleted consistent.
        with transaction.atomic():
            tree = sessions.filter(root_id=root.pk)
            events += tree.aggregate(n=Sum("event_count"))["n"] or 0
            if len(ids) < RECORDED_IDS:
                ids.extend(tree.values_list("external_id", flat=True)[: RECORDED_IDS - len(ids)])
            affected += session_delete(session=root)
    return RetentionRun.objects.create(
        project=project,
        ran_at=now,
        action=project.retention_action,
        idle_days=project.retention_days,
        sessions_affected=affected,
        events_deleted=events,
        external_ids=ids,
    )
