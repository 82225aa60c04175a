"""Summaries: request (queued, enqueued on commit) and run (idempotent, safe to re-run).

A run may be repeated: Celery re-delivers a task whose worker died (`acks_late`), and transient
LLM errors are retried. So a run first checks the row under a lock and does nothing for a
finished summary; the finished text, the `summary` event and the status are then written in ONE
transaction, and the event's id is derived from the summary (`summary-<pk>`), so even two runs
racing each other store one event: the loser's append comes back `duplicate`, and it finds the
row already succeeded.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from .. import llm
from .. import summaries as text
from ..errors import InvalidInput
from ..inputs import EventInput, UsageInput
from ..models import AgentSession, Event, Summary
from .events import events_append
from .outbox import task_send_on_commit

logger = logging.getLogger(__name__)

# A running summary with no worker recorded is taken as orphaned after this long.
ORPHAN_WITHOUT_WORKER = timedelta(hours=1)

MAX_QUERY = 2000
# Message events read for one summary: the newest ones (the transcript is clipped anyway).
MAX_EVENTS = 4000
ACTIVE = (Summary.Status.QUEUED, Summary.Status.RUNNING)


class TransientSummaryError(Exception):
    """The model call failed in a way worth retrying (rate limit, timeout, 5xx)."""


def summary_event_id(summary: Summary) -> str:
    """The idempotency key of the `summary` event a summary writes."""
    return f"summary-{summary.pk}"


def _validated(strategy: str, model: str | None, query: str) -> tuple[str, str, str]:
    if strategy not in Summary.Strategy.values:
        raise InvalidInput(
            f"strategy must be one of {', '.join(Summary.Strategy.values)}.", field="strategy"
        )
    model = (model or settings.SUMMARY_MODEL).strip()
    if not model or len(model) > 255:
        raise InvalidInput("model must be 1 to 255 characters.", field="model")
    query = (query or "").strip()
    if len(query) > MAX_QUERY:
        raise InvalidInput(f"query must be at most {MAX_QUERY} characters.", field="query")
    return strategy, model, query


def summary_create(
    *,
    session: AgentSession,
    strategy: str = Summary.Strategy.BASIC,
    model: str | None = None,
    query: str = "",
    requested_by: User | None = None,
) -> Summary:
    """Store a queued summary of the session's events so far (no task is enqueued)."""
    strategy, model, query = _validated(strategy, model, query)
    last_seq = AgentSession.objects.filter(pk=session.pk).values_list("last_seq", flat=True)[0]
    if not last_seq:
        raise InvalidInput("The session has no events to summarize.", field="session")
    return Summary.objects.create(
        project_id=session.project_id,
        session=session,
        strategy=strategy,
        model=model,
        query=query,
        covers_up_to_seq=last_seq,
        requested_by=requested_by if requested_by and requested_by.is_authenticated else None,
    )


@transaction.atomic
def summary_request(
    *,
    session: AgentSession,
    strategy: str = Summary.Strategy.BASIC,
    model: str | None = None,
    query: str = "",
    requested_by: User | None = None,
) -> Summary:
    """Queue a summary of the session and enqueue its task once the row is committed."""
    from ..tasks.summaries import summary_run_task

    summary = summary_create(
        session=session, strategy=strategy, model=model, query=query, requested_by=requested_by
    )
    task_send_on_commit(task=summary_run_task, args=[summary.pk])
    return summary


def _start(summary_id: int, worker: str = "", task_name: str = "") -> Summary | None:
    """Mark the summary running (again, if a previous worker died); None if already finished."""
    with transaction.atomic():
        summary = Summary.objects.select_for_update().filter(pk=summary_id).first()
        if summary is None or summary.status not in ACTIVE:
            return None
        summary.status = Summary.Status.RUNNING
        summary.attempts += 1
        summary.started_at = summary.started_at or timezone.now()
        summary.worker = worker
        summary.task_name = task_name or summary.task_name
        summary.save(update_fields=["status", "attempts", "started_at", "worker", "task_name"])
        return summary


def _lines(summary: Summary) -> list[text.Line]:
    events = (
        Event.objects.filter(
            session_id=summary.session_id,
            seq__lte=summary.covers_up_to_seq,
            type__in=[Event.Type.MESSAGE, Event.Type.TOOL_RESULT, Event.Type.SUMMARY],
            # A summary covers the conversation the agent kept, not what it popped or cleared.
            removed_at__isnull=True,
        )
        .only("seq", "source", "type", "name", "content", "is_error")
        .order_by("-seq")[:MAX_EVENTS]
    )
    return text.lines_of(reversed(list(events)))


def _generate(summary: Summary, options: dict[str, Any]) -> dict[str, Any]:
    """The summary text and its usage: from the model, or extractive without credentials."""
    lines = _lines(summary)
    if not text.credentials_available(summary.model, options):
        return {
            "text": text.extractive_summary(summary.strategy, lines, summary.query),
            "extractive": True,
        }
    try:
        response = llm.completion(
            model=summary.model,
            messages=text.summary_messages(summary.strategy, lines, summary.query),
            **options,
        )
    except Exception as exc:
        if text.is_transient(exc):
            raise TransientSummaryError(f"{type(exc).__name__}: {exc}") from exc
        raise
    usage = getattr(response, "usage", None)
    return {
        "text": (response.choices[0].message.content or "").strip(),
        "extractive": False,
        "prompt_tokens": int(getattr(usage, "prompt_tokens", 0) or 0),
        "completion_tokens": int(getattr(usage, "completion_tokens", 0) or 0),
        "total_tokens": int(getattr(usage, "total_tokens", 0) or 0),
        "cost_usd": llm.completion_cost(response),
    }


def _finish(summary_id: int, result: dict[str, Any]) -> Summary | None:
    """Write the event and the finished row together; None if another run finished first."""
    with transaction.atomic():
        summary = Summary.objects.select_for_update().filter(pk=summary_id).first()
        if summary is None or summary.status not in ACTIVE:
            return None
        session = AgentSession.objects.filter(pk=summary.session_id).only(
            "external_id", "continued_in_id"
        )[0]
        cost = result.get("cost_usd")
        extractive = result["extractive"]
        summary.text = result["text"]
        summary.extractive = extractive
        summary.prompt_tokens = result.get("prompt_tokens", 0)
        summary.completion_tokens = result.get("completion_tokens", 0)
        summary.total_tokens = result.get("total_tokens", 0)
        summary.cost_usd = cost if cost is not None else Decimal(0)
        summary.status = Summary.Status.SUCCEEDED
        summary.error = ""
        summary.finished_at = timezone.now()
        # An event sent to a continued session's id lands in its newest segment: a summary of
        # such a session is kept as a record only, never written into another session.
        if not session.continued_in_id:
            usage = None
            if not extractive:
                usage = UsageInput(
                    model=summary.model,
                    prompt_tokens=summary.prompt_tokens,
                    completion_tokens=summary.completion_tokens,
                    total_tokens=summary.total_tokens,
                    cost_usd=cost,
                )
            _, results = events_append(
                project=summary.project,
                session_external_id=session.external_id,
                events=[
                    EventInput(
                        external_id=summary_event_id(summary),
                        source=Event.Source.SYSTEM,
                        type=Event.Type.SUMMARY,
                        role=Event.Role.SYSTEM,
                        content=summary.text,
                        metadata={
                            "summary_id": summary.pk,
                            "strategy": summary.strategy,
                            "model": text.EXTRACTIVE_MODEL if extractive else summary.model,
                            "extractive": extractive,
                            "covers_up_to_seq": summary.covers_up_to_seq,
                        },
                        usage=usage,
                    )
                ],
            )
            summary.event_id = results[0].event_id
        summary.save()
        return summary


def summary_fail(*, summary_id: int, reason: str) -> None:
    """Mark an unfinished summary failed with the reason people will read."""
    Summary.objects.filter(pk=summary_id, status__in=ACTIVE).update(
        status=Summary.Status.FAILED, error=reason[:2000], finished_at=timezone.now()
    )


def summary_run(
    *,
    summary_id: int,
    final_attempt: bool = True,
    options: dict[str, Any] | None = None,
    worker: str = "",
    task_name: str = "",
) -> Summary | None:
    """Compute a queued summary and store it with its `summary` event, exactly once.

    Transient model errors raise `TransientSummaryError` for the task to retry, unless this is
    the final attempt; any other error marks the summary failed with its reason. Returns the
    summary, or None when there was nothing to do (unknown id or already finished).
    """
    summary = _start(summary_id, worker, task_name)
    if summary is None:
        return None
    options = {**text.mock_options(), **(options or {})}
    try:
        result = _generate(summary, options)
    except TransientSummaryError as exc:
        if not final_attempt:
            Summary.objects.filter(pk=summary_id).update(error=f"Retrying after: {exc}")
            raise
        reason = f"Gave up after {summary.attempts} attempts: {exc}"
        summary_fail(summary_id=summary_id, reason=reason)
        return Summary.objects.get(pk=summary_id)
    except Exception as exc:
        logger.warning("summary %s failed: %s", summary_id, exc)
        summary_fail(summary_id=summary_id, reason=f"{type(exc).__name__}: {exc}")
        return Summary.objects.get(pk=summary_id)
    return _finish(summary_id, result) or Summary.objects.get(pk=summary_id)


def summary_worker_alive(worker: str, alive: dict[str, set[int]]) -> bool:
    """Whether "<hostname> <pid>" names a process of a worker that answered (`alive`: each
    answering worker's hostname and the pids of its main and pool processes)."""
    hostname, _, pid = worker.rpartition(" ")
    return hostname in alive and pid.isdigit() and int(pid) in alive[hostname]


def summaries_reap(
    *, alive: dict[str, set[int]], now: datetime | None = None, grace: timedelta | None = None
) -> list[int]:
    """Re-queue the running summaries whose worker is gone (killed outright: the broker would
    redeliver their message only after its visibility timeout) and send their task again.

    Returns the reaped ids. A summary that a live worker still runs is left alone; a re-run of
    one that is in fact still running does no harm (`_finish` writes it once).
    """
    from config.celery import app

    from ..tasks.summaries import summary_run_task

    now = now or timezone.now()
    # A worker that has just started may not answer the reaper's broadcast yet.
    if grace is None:
        grace = timedelta(seconds=settings.SUMMARY_REAP_GRACE_SECONDS)
    reaped: list[int] = []
    with transaction.atomic():
        rows = Summary.objects.select_for_update().filter(
            status=Summary.Status.RUNNING, started_at__lt=now - grace
        )
        for summary in rows:
            if summary.worker and summary_worker_alive(summary.worker, alive):
                continue
            started = summary.started_at or now
            if not summary.worker and started > now - ORPHAN_WITHOUT_WORKER:
                continue  # started by a worker of a version that did not record itself
            summary.status = Summary.Status.QUEUED
            summary.worker = ""
            summary.save(update_fields=["status", "worker"])
            task = app.tasks.get(summary.task_name) or summary_run_task
            task_send_on_commit(task=task, args=[summary.pk])
            reaped.append(summary.pk)
    if reaped:
        logger.warning("re-queued summaries whose worker is gone: %s", reaped)
    return reaped
