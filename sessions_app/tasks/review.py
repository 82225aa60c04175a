"""Review tasks: beat runs `queue_rules_apply_all` every few minutes to sample new sessions
into the annotation queues that have a rule."""

from celery import shared_task

from ..models import AnnotationQueue
from ..services.queues import queue_rule_apply


@shared_task(acks_late=True, reject_on_worker_lost=True)
def queue_rules_apply_all() -> int:
    """Apply every enabled queue rule (idempotent); returns how many sessions were added."""
    added = 0
    for queue in AnnotationQueue.objects.filter(rule_enabled=True):
        added += queue_rule_apply(queue=queue)
    return added
