"""Sending Celery tasks so that a broker outage loses no work and fails no request.

A task is sent when the transaction that asked for it commits. If the broker cannot take it
(down, unreachable), the task is written to the outbox (`OutboxTask`) instead of raising into the
request; `outbox_flush`, run by beat every minute, sends what waits there once the broker is
back. The tasks are idempotent, so a task sent twice (a sweep racing a late first send) does no
harm.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from celery import Task
from django.db import connection, transaction

from ..models import OutboxTask

logger = logging.getLogger(__name__)

# A sweep sends at most this many; the next sweep takes the rest.
FLUSH_BATCH = 500
# One quick retry covers a stale connection (the broker restarted); a broker that is down fails
# at once (settings: max_retries 0 to connect), and the outbox is the retry.
RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


def _eager(task: Task) -> bool:
    return bool(task.app.conf.task_always_eager)


def task_send(*, task: Task, args: Sequence[Any] = (), robust: bool = True) -> bool:
    """Send `task` now; when the broker cannot take it, keep it in the outbox. True if sent.

    Without a broker (tasks run in-process), a failing task is logged, not raised, when
    `robust` (the request that asked for it has already committed).
    """
    if _eager(task):
        try:
            task.apply_async(args=tuple(args))
        except Exception:
            if not robust:
                raise
            logger.exception("in-process task %s%s failed", task.name, tuple(args))
        return True
    try:
        task.apply_async(args=tuple(args), retry=True, retry_policy=RETRY_POLICY)
    except Exception as exc:
        logger.warning("broker refused %s%s, kept in the outbox: %s", task.name, tuple(args), exc)
        OutboxTask.objects.create(task_name=task.name, args=list(args), last_error=str(exc)[:1000])
        return False
    return True


def task_send_on_commit(*, task: Task, args: Sequence[Any] = (), robust: bool = True) -> None:
    """Send `task` once the current transaction commits (task_send: the outbox on failure)."""
    args = list(args)

    # A named function, not a functools.partial: Django's on_commit logs a failure by the
    # callback's __qualname__, which a partial has not.
    def send() -> None:
        task_send(task=task, args=args, robust=robust)

    transaction.on_commit(send)


def outbox_flush(*, limit: int = FLUSH_BATCH) -> int:
    """Send the tasks waiting in the outbox, oldest first; stop at the first the broker refuses.
    Returns how many were sent."""
    # The project's app by name: `current_app` is per thread, and another Celery app created
    # in this thread (a library, a test) would take its place.
    from config.celery import app

    sent = 0
    with transaction.atomic():
        rows = OutboxTask.objects.order_by("pk")
        if connection.features.has_select_for_update_skip_locked:
            # Two sweeps at once (two beats, a slow sweep) never send the same row twice.
            rows = rows.select_for_update(skip_locked=True)
        for row in rows[:limit]:
            task = app.tasks.get(row.task_name)
            if task is None:
                logger.error("outbox: unknown task %s, dropped", row.task_name)
                row.delete()
                continue
            try:
                task.apply_async(args=row.args, retry=True, retry_policy=RETRY_POLICY)
            except Exception as exc:
                OutboxTask.objects.filter(pk=row.pk).update(
                    attempts=row.attempts + 1, last_error=str(exc)[:1000]
                )
                logger.warning("outbox: the broker still refuses tasks: %s", exc)
                break
            row.delete()
            sent += 1
    return sent
