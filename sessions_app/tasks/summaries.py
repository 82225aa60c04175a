"""Summary and segmentation tasks: thin wrappers that retry transient model errors.

`acks_late` + `reject_on_worker_lost`: a task whose worker dies is delivered again, and the
services it calls are idempotent, so the re-run finishes the work without writing it twice.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Task, shared_task

from ..services.segments import segment_open
from ..services.summaries import TransientSummaryError, summary_run


def worker_name(task: Task) -> str:
    """ "<hostname> <pid>" of the process running the task ("" in-process, without a worker)."""
    hostname = task.request.hostname
    return f"{hostname} {os.getpid()}" if hostname else ""


RETRY: dict[str, Any] = {
    "autoretry_for": (TransientSummaryError,),
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 4,
    "acks_late": True,
    "reject_on_worker_lost": True,
}


@shared_task(bind=True, **RETRY)
def summary_run_task(self, summary_id: int) -> None:
    """Compute a queued summary (retried with backoff on transient model errors)."""
    summary_run(
        summary_id=summary_id,
        final_attempt=self.request.retries >= self.max_retries,
        worker=worker_name(self),
        task_name=self.name,
    )


@shared_task(bind=True, **RETRY)
def session_segment_task(self, summary_id: int) -> None:
    """Summarize a session that passed its project's thresholds and open its next segment."""
    summary_run(
        summary_id=summary_id,
        final_attempt=self.request.retries >= self.max_retries,
        worker=worker_name(self),
        task_name=self.name,
    )
    segment_open(summary_id=summary_id)
