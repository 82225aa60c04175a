"""Reads of the review workflow: comments, scores, score configs, a session's review history,
and the review columns of the sessions list."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Avg, Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import BaseExpression
from django.db.models.functions import Coalesce

from ..errors import NotFound
from ..models import (
    AgentSession,
    Comment,
    DataType,
    Event,
    Project,
    ReviewEvent,
    Score,
    ScoreConfig,
)

HISTORY_LIMIT = 200


def event_in_session(session: AgentSession, external_id: str) -> Event:
    """An event of the session by its external id, or NotFound naming `event_id`."""
    event = (
        Event.objects.filter(session=session, external_id=external_id)
        .only("id", "session_id", "seq", "external_id")
        .first()
    )
    if event is None:
        raise NotFound(f"No event {external_id!r} in this session.", field="event_id")
    return event


def event_by_seq(session: AgentSession, seq: int) -> Event:
    """An event of the session by its seq, or NotFound."""
    event = Event.objects.filter(session=session, seq=seq).only("id", "session_id", "seq").first()
    if event is None:
        raise NotFound(f"No event #{seq} in this session.", field="event")
    return event


def session_comments(session: AgentSession) -> list[Comment]:
    """A session's comments, its events' included, oldest first (with the event's seq)."""
    return list(
        Comment.objects.filter(session=session)
        .select_related("event")
        .only(*_COMMENT_COLUMNS, "event__seq", "event__external_id")
    )


_COMMENT_COLUMNS = (
    "id",
    "session_id",
    "event_id",
    "text",
    "author_id",
    "author_name",
    "created_at",
    "updated_at",
)


def comment_of(session: AgentSession, comment_id: int) -> Comment:
    """One comment of the session, or NotFound."""
    comment = Comment.objects.filter(session=session, pk=comment_id).first()
    if comment is None:
        raise NotFound("No such comment.")
    comment.session = session
    return comment


def session_scores(session: AgentSession) -> list[Score]:
    """A session's scores and its events' scores, oldest first (with the event's seq)."""
    return list(Score.objects.filter(session=session).select_related("event"))


def score_configs(project: Project) -> list[ScoreConfig]:
    """The project's score configs by name."""
    return list(ScoreConfig.objects.filter(project=project))


def score_config_named(project: Project, name: str) -> ScoreConfig | None:
    """The project's score config of this name, or None (an ad-hoc score)."""
    return ScoreConfig.objects.filter(project=project, name=name).first()


def score_config_of(project: Project, pk: int) -> ScoreConfig:
    """One score config of the project, or NotFound."""
    config = ScoreConfig.objects.filter(project=project, pk=pk).first()
    if config is None:
        raise NotFound("No such score config.")
    return config


@dataclass(frozen=True)
class ConfigUsage:
    """How many scores a config's name holds in its project, and the labels they use."""

    scores: int = 0
    labels: frozenset[str] = frozenset()


def score_config_usage(config: ScoreConfig) -> ConfigUsage:
    """The scores stored under a config's name (its own and ad-hoc ones of that name), counted
    per label (one query), for the edit form's refusals."""
    rows = (
        Score.objects.filter(project_id=config.project_id, name=config.name)
        .order_by()
        .values("value_label")
        .annotate(n=Count("id"))
        .values_list("value_label", "n")
    )
    counts = dict(rows)
    return ConfigUsage(
        scores=sum(counts.values()), labels=frozenset(label for label in counts if label)
    )


def session_history(session: AgentSession) -> list[ReviewEvent]:
    """The latest changes to a session's review, scores and comments, newest first."""
    return list(ReviewEvent.objects.filter(session=session).order_by("-created_at", "-id"))[
        :HISTORY_LIMIT
    ]


def score_matches(name: str, value: str, low: float | None, high: float | None) -> Exists:
    """A filter on sessions: a score of this name (on the session or one of its events) with
    this label or true/false, or within [low, high]."""
    scores = Score.objects.filter(session_id=OuterRef("pk"), name=name)
    if value:
        lowered = value.lower()
        if lowered in ("true", "false", "yes", "no"):
            flag = 1.0 if lowered in ("true", "yes") else 0.0
            scores = scores.filter(
                Q(data_type=DataType.BOOLEAN, value_number=flag) | Q(value_label=value)
            )
        else:
            scores = scores.filter(value_label=value)
    if low is not None:
        scores = scores.filter(value_number__gte=low)
    if high is not None:
        scores = scores.filter(value_number__lte=high)
    return Exists(scores)


def score_sort_key(project: Project, name: str) -> tuple[str, BaseExpression]:
    """The list's sort key for a score column, as (alias, expression) on sessions: what the
    column shows, so the session's own latest value, else the average of its events' values.
    A categorical config sorts by its label (`score_label`), anything else by number
    (`score_sort`); a session without one is null. Each row costs two probes of the
    score_session_name index (session, name)."""
    config = score_config_named(project, name)
    own = Score.objects.filter(session_id=OuterRef("pk"), name=name, event__isnull=True).order_by(
        "-created_at", "-id"
    )
    if config is not None and config.data_type == DataType.CATEGORICAL:
        return "score_label", Subquery(own.values("value_label")[:1])
    of_events = (
        Score.objects.filter(
            session_id=OuterRef("pk"), name=name, event__isnull=False, value_number__isnull=False
        )
        .order_by()
        .values("session_id")
        .annotate(mean=Avg("value_number"))
        .values("mean")
    )
    return "score_sort", Coalesce(
        Subquery(own.filter(value_number__isnull=False).values("value_number")[:1]),
        Subquery(of_events),
    )


@dataclass
class ReviewColumns:
    """What the list shows per row: comment counts and a value per score name. Each session
    also gets `score_cells` (its values in the order of `names`)."""

    names: list[str] = field(default_factory=list)
    comments: dict[int, int] = field(default_factory=dict)
    values: dict[int, dict[str, str]] = field(default_factory=dict)


def review_columns(project: Project, sessions: list[AgentSession]) -> ReviewColumns:
    """Comment counts (the sessions' own column) and score values of a page of sessions (two
    queries). A session's value of a score is its own (the latest), or else the average of its
    events' values."""
    columns = _review_columns(project, sessions)
    for s in sessions:
        row = columns.values.get(s.pk, {})
        s.score_cells = [row.get(n, "") for n in columns.names]  # type: ignore[attr-defined]
    return columns


def _review_columns(project: Project, sessions: list[AgentSession]) -> ReviewColumns:
    columns = ReviewColumns(names=[c.name for c in score_configs(project)])
    if not sessions:
        return columns
    ids = [s.pk for s in sessions]
    columns.comments = {s.pk: s.comment_count for s in sessions if s.comment_count}
    own: dict[tuple[int, str], Score] = {}
    of_events: dict[tuple[int, str], list[float]] = defaultdict(list)
    for score in _scores_of(ids, columns.names):
        key = (score.session_id, score.name)
        if score.event_id is None:
            own[key] = score
        elif score.value_number is not None:
            of_events[key].append(score.value_number)
    for sid in ids:
        row: dict[str, str] = {}
        for name in columns.names:
            if (sid, name) in own:
                row[name] = own[(sid, name)].display
            elif of_events.get((sid, name)):
                numbers = of_events[(sid, name)]
                row[name] = f"{sum(numbers) / len(numbers):.3g}"
        columns.values[sid] = row
    return columns


def _scores_of(ids: list[int], names: list[str]) -> QuerySet[Score]:
    return (
        Score.objects.filter(session_id__in=ids, name__in=names)
        .only("session_id", "event_id", "name", "data_type", "value_number", "value_label")
        .order_by("created_at", "id")
    )


def attach_event_review(events: list[Event]) -> None:
    """Set `review_comments` and `review_scores` on each event of a transcript page, for the
    event cards (two queries for the page, none when it is empty)."""
    if not events:
        return
    ids = [e.pk for e in events]
    comments: dict[int, list[Comment]] = defaultdict(list)
    scores: dict[int, list[Score]] = defaultdict(list)
    for comment in Comment.objects.filter(event_id__in=ids).only(*_COMMENT_COLUMNS):
        comments[comment.event_id or 0].append(comment)
    for score in Score.objects.filter(event_id__in=ids):
        scores[score.event_id or 0].append(score)
    for e in events:
        e.review_comments = comments.get(e.pk, [])  # type: ignore[attr-defined]
        e.review_scores = scores.get(e.pk, [])  # type: ignore[attr-defined]
