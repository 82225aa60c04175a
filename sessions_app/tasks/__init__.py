"""Celery tasks, one module per area; imported here so `autodiscover_tasks` finds them all.

Tasks take ids, load rows and call a service: no business logic lives in a task.
"""

from .maintenance import session_recompute_rollups_task
from .pricing import budget_alert_webhook_task, budgets_check_task, usage_reprice_task
from .retention import retention_apply_all, retention_apply_project
from .review import queue_rules_apply_all
from .summaries import session_segment_task, summary_run_task

__all__ = [
    "budget_alert_webhook_task",
    "budgets_check_task",
    "queue_rules_apply_all",
    "retention_apply_all",
    "retention_apply_project",
    "session_recompute_rollups_task",
    "session_segment_task",
    "summary_run_task",
    "usage_reprice_task",
]
