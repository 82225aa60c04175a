"""Annotation queues: set up, add sessions (by hand or by a sampling rule), and the reviewer's
lock, completion and skipping of items."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from ..errors import Conflict, InvalidInput
from ..list_query import query_filters
from ..models import AgentSession, AnnotationQueue, Project, QueueItem, ScoreConfig
from ..selectors.queues import latest_session_id
from ..selectors.session_list import sessions_filtered
from .comments import comment_add
from .history import review_event_add, review_events_add_bulk
from .scores import score_record, score_value_check

LOCK_MINUTES = 5


# Sessions per statement when adding many to a queue.
QUEUE_ADD_CHUNK = 1000


@transaction.atomic
def queue_save(
    *,
    project: Project,
    name: str,
    description: str = "",
    score_configs: Iterable[ScoreConfig] = (),
    members: Iterable[User] = (),
    rule_query: str = "",
    rule_sample_percent: int | None = None,
    rule_enabled: bool = False,
    queue: AnnotationQueue | None = None,
) -> AnnotationQueue:
    """Create a queue, or change `queue`: its name, score configs, members and rule."""
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("A queue's name is 1 to 200 characters.", field="name")
    if rule_sample_percent is not None and not 1 <= rule_sample_percent <= 100:
        raise InvalidInput("Sample between 1 and 100 percent.", field="rule_sample_percent")
    rule_query = rule_query.strip().lstrip("?")
    # A rule switched on considers the sessions that arrive from now on.
    switched_on = rule_enabled and (queue is None or not queue.rule_enabled)
    after_id = queue.rule_after_id if queue is not None else 0
    if switched_on:
        after_id = latest_session_id(project)
    fields = {
        "name": name,
        "description": description.strip(),
        "rule_query": rule_query,
        "rule_sample_percent": rule_sample_percent,
        "rule_enabled": rule_enabled,
        "rule_after_id": after_id,
    }
    if queue is None:
        queue = AnnotationQueue.objects.create(project=project, **fields)
    else:
        for key, value in fields.items():
            setattr(queue, key, value)
        queue.save()
    queue.score_configs.set([c for c in score_configs if c.project_id == project.pk])
    queue.members.set(list(members))
    return queue


@transaction.atomic
def queue_items_add(
    *, queue: AnnotationQueue, sessions: Iterable[AgentSession], added_by: str = ""
) -> int:
    """Put sessions of the queue's project into the queue (those already in it are left as
    they are); returns how many were added. The list's bulk action calls this."""
    now = timezone.now()
    wanted = list(dict.fromkeys(s.pk for s in sessions if s.project_id == queue.project_id))
    added = 0
    # In chunks: "all matching" may be a whole project, past SQLite's limit on bound variables.
    for start in range(0, len(wanted), QUEUE_ADD_CHUNK):
        chunk = wanted[start : start + QUEUE_ADD_CHUNK]
        present = set(
            QueueItem.objects.filter(queue=queue, session_id__in=chunk).values_list(
                "session_id", flat=True
            )
        )
        new = [pk for pk in chunk if pk not in present]
        QueueItem.objects.bulk_create(
            [QueueItem(queue=queue, session_id=pk, added_at=now, added_by=added_by) for pk in new],
            ignore_conflicts=True,
        )
        review_events_add_bulk(
            sessions=[(pk, queue.project_id) for pk in new],
            actor=None,
            actor_name=added_by,
            kind="queue",
            summary=f"added to queue {queue.name}",
        )
        added += len(new)
    return added


def sampled(queue: AnnotationQueue, session_pk: int) -> bool:
    """Whether the rule's sample takes this session: a stable hash, so re-runs agree."""
    percent = queue.rule_sample_percent or 100
    digest = hashlib.sha256(f"{queue.pk}:{session_pk}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < percent


@transaction.atomic
def queue_rule_apply(*, queue: AnnotationQueue) -> int:
    """Add the sampled share of the sessions that arrived since the rule last ran and match
    its filters; returns how many were added. Idempotent: a re-run adds nothing more."""
    queue = AnnotationQueue.objects.select_for_update().get(pk=queue.pk)
    if not queue.rule_enabled:
        return 0
    until_id = latest_session_id(queue.project)
    qs = sessions_filtered(queue.project, query_filters(queue.rule_query)).filter(
        pk__gt=queue.rule_after_id, pk__lte=until_id
    )
    chosen = [s for s in qs.only("id", "project_id") if sampled(queue, s.pk)]
    added = queue_items_add(queue=queue, sessions=chosen, added_by=f"rule of {queue.name}")
    queue.rule_after_id = until_id
    queue.save(update_fields=["rule_after_id"])
    return added


@transaction.atomic
def queue_item_open(*, item: QueueItem, user: User) -> QueueItem:
    """Lock an item to the reviewer for a few minutes; another reviewer's live lock is a
    Conflict."""
    item = QueueItem.objects.select_for_update().get(pk=item.pk)
    now = timezone.now()
    if item.locked_by_id not in (None, user.pk) and item.locked_until and item.locked_until > now:
        raise Conflict("Someone else is reviewing this session right now.", code="locked")
    item.locked_by_id = user.pk
    item.locked_until = now + timedelta(minutes=LOCK_MINUTES)
    item.save(update_fields=["locked_by", "locked_until"])
    return item


@transaction.atomic
def queue_item_finish(*, item: QueueItem, user: User, status: str) -> QueueItem:
    """Mark an item done or skipped by the reviewer, releasing its lock."""
    if status not in (QueueItem.Status.COMPLETED, QueueItem.Status.SKIPPED):
        raise InvalidInput("An item is completed or skipped.", field="status")
    item = queue_item_open(item=item, user=user)
    item.status = status
    item.done_by_id = user.pk
    item.done_at = timezone.now()
    item.locked_by_id = None
    item.locked_until = None
    item.save(update_fields=["status", "done_by", "done_at", "locked_by", "locked_until"])
    review_event_add(
        session=item.session,
        actor=user,
        actor_name="",
        kind="queue",
        summary=f"{'completed' if status == 'completed' else 'skipped'} in queue {item.queue.name}",
    )
    return item


@transaction.atomic
def queue_item_complete(
    *,
    item: QueueItem,
    user: User,
    values: list[tuple[ScoreConfig, Any]],
    comment: str = "",
) -> QueueItem:
    """Record a reviewer's scores and comment on the item's session and mark it done, all or
    nothing: a value that does not fit its config is an InvalidInput naming `score_<id>`."""
    for config, value in values:
        try:
            score_value_check(config, value)
        except InvalidInput as exc:
            raise InvalidInput(exc.detail, field=f"score_{config.pk}") from exc
    item = queue_item_open(item=item, user=user)
    for config, value in values:
        score_record(session=item.session, name=config.name, value=value, config=config, user=user)
    if comment.strip():
        comment_add(session=item.session, text=comment, user=user)
    return queue_item_finish(item=item, user=user, status=QueueItem.Status.COMPLETED)
