"""Reads of annotation queues: the project's queues with progress, a queue's items, and the
next item a reviewer gets."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import DecimalValidator
from django.db.models import Count, Q
from django.http import QueryDict
from django.utils import timezone

from ..errors import NotFound
from ..models import AgentSession, AnnotationQueue, Project, QueueItem, ScoreConfig
from .costs import FIRST_DAY, LAST_DAY
from .session_list import SessionFilters


def rule_filters(query: str) -> SessionFilters:
    """The list filters a queue's rule names, from a sessions-list query string: what the list
    shows for the same query string. Unknown or malformed parameters are ignored, as the list
    ignores them, so that a rule saved with one never fails each fill."""
    q = QueryDict(query)
    meta_key, _, meta_value = _text(q, "meta").partition("=")
    min_cost, max_cost = _cost(q.get("min_cost", "")), _cost(q.get("max_cost", ""))
    if min_cost is not None and max_cost is not None and max_cost <= min_cost:
        max_cost = None  # as the list's form: an empty range is reported there, ignored here
    return SessionFilters(
        agent=_text(q, "agent"),
        user=_text(q, "user"),
        status=q.get("status", "") if q.get("status", "") in _STATUSES else "",
        kind=q.get("kind", "") if q.get("kind", "") in AgentSession.Kind.values else "",
        model=_text(q, "model"),
        date_from=_date(q.get("from", "")),
        date_to=_date(q.get("to", "")),
        spent_from=_date(q.get("spent_from", "")),
        spent_to=_date(q.get("spent_to", "")),
        min_cost=min_cost,
        max_cost=max_cost,
        # As the list's checkbox reads it: any value but an empty one or "false" is on.
        has_errors=q.get("has_errors", "").lower() not in ("", "false"),
        meta_key=meta_key.strip() if "__" not in meta_key else "",
        meta_value=meta_value.strip(),
        q=_text(q, "q"),
        review=q.get("review", "") if q.get("review") in ("reviewed", "flagged", "none") else "",
        score=_text(q, "score"),
        score_value=_text(q, "score_value"),
        score_min=_float(q.get("score_min", "")),
        score_max=_float(q.get("score_max", "")),
    )


_STATUSES = {*AgentSession.Status.values, "all"}
# The list's form keeps a cost to the column's digits (10 before the point, 10 after).
_COST_DIGITS = DecimalValidator(max_digits=20, decimal_places=10)


def _text(q: QueryDict, name: str) -> str:
    """A rule's text parameter, stripped; empty when it holds a NUL character, which the
    list's form refuses and PostgreSQL cannot compare (each fill failed)."""
    value = q.get(name, "").strip()
    return "" if "\x00" in value else value


def _date(raw: str) -> date | None:
    """A rule's day, or None when it is not one the list's filters accept: YYYY-MM-DD (the
    form's one input format, so not ISO's 20240105 or 2024-W01-1) in 1970..9000 (as the form
    checks): a rule saved with `to=9999-12-31` must not fail each fill."""
    try:
        # A day, not a moment: the time zone plays no part (the form parses it the same way).
        day = datetime.strptime(raw.strip(), "%Y-%m-%d").date()  # noqa: DTZ007
    except ValueError:
        return None
    return day if FIRST_DAY <= day <= LAST_DAY else None


def _cost(raw: str) -> Decimal | None:
    """A rule's cost bound in USD, or None unless it is a number the list's form takes: finite
    (NaN or Infinity would fail each fill: the column's lookups refuse them), at least 0, and
    within the column's digits (the list ignores 1e30 or 0.00000000001; the rule must too)."""
    try:
        value = Decimal(raw) if raw else None
    except InvalidOperation:
        return None
    if value is None or not value.is_finite() or value < 0:
        return None
    try:
        _COST_DIGITS(value)
    except ValidationError:
        return None
    return value


def _float(raw: str) -> float | None:
    """A rule's score bound, or None unless it is a finite number, as the list's form asks:
    `nan`, `inf` or `1e400` (infinite once read) would match nothing or everything, and NaN
    differently on SQLite and PostgreSQL, where the list ignores them."""
    try:
        value = float(raw) if raw else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


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
