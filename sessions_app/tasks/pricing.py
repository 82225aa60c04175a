"""Cost tasks: budget checks after ingest, budget alert webhooks, re-pricing stored usage."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from celery import shared_task

from ..models import AgentSession, BudgetAlert, Project
from ..services.budgets import budget_alert_notify, budgets_check
from ..services.repricing import usage_reprice


@shared_task(acks_late=True, reject_on_worker_lost=True)
def budgets_check_task(project_id: int, session_id: int | None = None) -> int:
    """Record alerts for the budgets a session's usage counts against (idempotent)."""
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return 0
    session = (
        AgentSession.objects.filter(pk=session_id, project=project).first() if session_id else None
    )
    return len(budgets_check(project=project, session=session))


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=3)
def budget_alert_webhook_task(self: Any, alert_id: int) -> str:
    """POST one budget alert to its project's webhook (skipped once sent); a failure is
    retried with backoff on a worker (not in-process, where it would hold up a request)."""
    alert = BudgetAlert.objects.select_related("project", "budget").filter(pk=alert_id).first()
    if alert is None:
        return ""
    status = budget_alert_notify(alert=alert)
    if status.startswith("failed") and not self.request.is_eager:
        raise self.retry(countdown=30 * 2**self.request.retries)
    return status


@shared_task(acks_late=True, reject_on_worker_lost=True)
def usage_reprice_task(
    project_id: int, since: str | None = None, model: str = ""
) -> dict[str, Any]:
    """Rewrite a project's computed usage costs with the prices now on record (idempotent)."""
    project = Project.objects.get(pk=project_id)
    result = usage_reprice(
        project=project, since=datetime.fromisoformat(since) if since else None, model=model
    )
    return {**result, "delta_usd": str(result["delta_usd"])}
