"""Reads of annotation queues: the project's queues with progress, a queue's items, and the
next item a reviewer gets."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.db.models import Count, Q
from django.utils import timezone

from ..errors import NotFound
from ..models import AgentSession, AnnotationQueue, Project, QueueItem, ScoreConfig


@dataclass
class Progress:
    """How far a queue is: items to do, done and skipped, and done per reviewer."""

    pending: int = 0
    completed: int = 0
    skipped: int = 0
    by_reviewer: list[tuple[str, int, int]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.pending + self.completed + self.skipped

    @property
    def percent(self) -> int:
        return round(100 * (self.completed + self.skipped) / self.total) if self.total else 0


def project_queues(project: Project) -> list[tuple[AnnotationQueue, Progress]]:
    """The project's queues, each with its progress (two queries)."""
    queues = list(AnnotationQueue.objects.filter(project=project))
    counts: dict[int, Progress] = {q.pk: Progress() for q in queues}
    rows = (
        QueueItem.objects.filter(queue__project=project)
        .values("queue_id", "status")
        .annotate(n=Count("id"))
    )
    for row in rows:
        setattr(counts[row["queue_id"]], row["status"], row["n"])
    return [(q, counts[q.pk]) for q in queues]


def queue_choices(project: Project) -> list[AnnotationQueue]:
    """The project's queues by name, for a picker (one query, no progress)."""
    return list(AnnotationQueue.objects.filter(project=project).only("id", "project_id", "name"))


def queue_of(project: Project, pk: int) -> AnnotationQueue:
    """A queue of the project, or NotFound."""
    queue = AnnotationQueue.objects.filter(project=project, pk=pk).first()
    if queue is None:
        raise NotFound("No such queue.")
    return queue


def queue_progress(queue: AnnotationQueue) -> Progress:
    """A queue's progress, per status and per reviewer (two queries)."""
    progress = Progress()
    for row in QueueItem.objects.filter(queue=queue).values("status").annotate(n=Count("id")):
        setattr(progress, row["status"], row["n"])
    per = (
        QueueItem.objects.filter(queue=queue, done_by__isnull=False)
        .values("done_by__username")
        .annotate(
            done=Count("id", filter=Q(status=QueueItem.Status.COMPLETED)),
            skipped=Count("id", filter=Q(status=QueueItem.Status.SKIPPED)),
        )
        .order_by("done_by__username")
    )
    progress.by_reviewer = [(r["done_by__username"], r["done"], r["skipped"]) for r in per]
    return progress


def queue_items(queue: AnnotationQueue, *, limit: int = 200) -> list[QueueItem]:
    """A queue's items in order, with their sessions' titles and who did them."""
    return list(
        QueueItem.objects.filter(queue=queue)
        .select_related("session", "done_by", "locked_by")
        .only(
            "id",
            "status",
            "done_at",
            "locked_until",
            "queue_id",
            "session__id",
            "session__title",
            "session__preview",
            "session__external_id",
            "done_by__username",
            "locked_by__username",
        )[:limit]
    )


def queue_item_of(queue: AnnotationQueue, pk: int) -> QueueItem:
    """One item of the queue with its session, or NotFound."""
    item = QueueItem.objects.filter(queue=queue, pk=pk).select_related("session").first()
    if item is None:
        raise NotFound("No such item in this queue.")
    item.queue = queue
    return item


def queue_items_of_session(session: AgentSession) -> list[QueueItem]:
    """The queues a session is in, with its item's status there."""
    return list(QueueItem.objects.filter(session=session).select_related("queue"))


def queue_next_item(queue: AnnotationQueue, user: User, *, after: int = 0) -> QueueItem | None:
    """The first item to do after item `after` that nobody else holds (wrapping round)."""
    now = timezone.now()
    free = QueueItem.objects.filter(queue=queue, status=QueueItem.Status.PENDING).filter(
        Q(locked_by__isnull=True) | Q(locked_by=user.pk) | Q(locked_until__lt=now)
    )
    return free.filter(pk__gt=after).order_by("pk").first() or free.order_by("pk").first()


def queue_neighbour(queue: AnnotationQueue, item: QueueItem, *, forward: bool) -> QueueItem | None:
    """The item just after (or before) this one in the queue, whatever its status."""
    qs = QueueItem.objects.filter(queue=queue)
    if forward:
        return qs.filter(pk__gt=item.pk).order_by("pk").first()
    return qs.filter(pk__lt=item.pk).order_by("-pk").first()


def review_queues_of(project: Project) -> list[AnnotationQueue]:
    """The project's queues by name (for "add to queue" menus)."""
    return list(AnnotationQueue.objects.filter(project=project).only("id", "name"))


def queue_configs(queue: AnnotationQueue) -> list[ScoreConfig]:
    """The score configs a queue's reviewers fill in, by name."""
    return list(queue.score_configs.order_by("name"))


def queue_member_ids(queue: AnnotationQueue) -> list[int]:
    """The user ids of a queue's members."""
    return list(queue.members.values_list("pk", flat=True))


def latest_session_id(project: Project) -> int:
    """The largest session id of the project (0 when it has none)."""
    last = AgentSession.objects.filter(project=project).order_by("-pk").values_list("pk").first()
    return last[0] if last else 0
