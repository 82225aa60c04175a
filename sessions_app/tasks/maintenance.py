"""Maintenance tasks."""

from __future__ import annotations

from celery import shared_task

from config.celery import app

from ..models import AgentSession
from ..services.events import session_recompute_rollups
from ..services.outbox import outbox_flush
from ..services.summaries import summaries_reap


@shared_task(acks_late=True, reject_on_worker_lost=True)
def session_recompute_rollups_task(session_id: int) -> None:
    """Recompute a session's rollups from its stored events and usage (idempotent)."""
    session = AgentSession.objects.filter(pk=session_id).first()
    if session is not None:
        session_recompute_rollups(session=session)


@shared_task
def outbox_flush_task() -> int:
    """Send the tasks the broker could not take when they were asked for (beat, every minute)."""
    return outbox_flush()


def _live_workers() -> dict[str, set[int]]:
    """Each worker that answers: its hostname and the pids of its main and pool processes."""
    stats = app.control.inspect(timeout=2.0).stats() or {}
    alive: dict[str, set[int]] = {}
    for hostname, info in stats.items():
        pool = info.get("pool") or {}
        processes = pool.get("processes") if isinstance(pool, dict) else None
        alive[hostname] = {int(info.get("pid") or 0), *(int(p) for p in processes or [])}
    return alive


@shared_task
def summaries_reap_task() -> list[int]:
    """Re-queue the running summaries whose worker is gone (beat, every minute)."""
    return summaries_reap(alive=_live_workers())
