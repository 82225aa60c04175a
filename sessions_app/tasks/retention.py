"""Retention tasks: beat runs `retention_apply_all` daily; it fans out one task per project."""

from celery import shared_task

from ..models import Project
from ..services.retention import retention_apply


@shared_task(acks_late=True, reject_on_worker_lost=True)
def retention_apply_all() -> int:
    """Queue the retention policy of every project that has one; returns how many."""
    ids = list(Project.objects.filter(retention_days__isnull=False).values_list("pk", flat=True))
    for pk in ids:
        retention_apply_project.delay(pk)
    return len(ids)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def retention_apply_project(project_id: int) -> None:
    """Apply one project's retention policy (idempotent: a re-run finds nothing left to do)."""
    project = Project.objects.filter(pk=project_id).first()
    if project is not None:
        retention_apply(project=project)
