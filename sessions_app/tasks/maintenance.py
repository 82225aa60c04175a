"""Maintenance tasks."""

from celery import shared_task

from ..models import AgentSession
from ..services.events import session_recompute_rollups


@shared_task(acks_late=True, reject_on_worker_lost=True)
def session_recompute_rollups_task(session_id: int) -> None:
    """Recompute a session's rollups from its stored events and usage (idempotent)."""
    session = AgentSession.objects.filter(pk=session_id).first()
    if session is not None:
        session_recompute_rollups(session=session)
