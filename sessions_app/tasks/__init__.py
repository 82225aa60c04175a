"""Celery tasks, one module per area; imported here so `autodiscover_tasks` finds them all.

Tasks take ids, load rows and call a service: no business logic lives in a task.
"""

from .maintenance import session_recompute_rollups_task
from .retention import retention_apply_all, retention_apply_project

__all__ = [
    "retention_apply_all",
    "retention_apply_project",
    "session_recompute_rollups_task",
]
