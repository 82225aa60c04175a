"""Reads of the review workflow: comments, scores, score configs, a session's review history,
and the review columns of the sessions list."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import CharField, Count, Exists, F, FloatField, OuterRef, Q, QuerySet, Value

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
    SessionScore,
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
    """A filter on sessions: the session's value of this score (what its column shows, from
    SessionScore) is this label or true/false, or within [low, high]; with none of them, the
    session has a value of that name."""
    rows = SessionScore.objects.filter(session_id=OuterRef("pk"), name=name)
    if value:
        lowered = value.lower()
        if lowered in ("true", "false", "yes", "no"):
            flag = 1.0 if lowered in ("true", "yes") else 0.0
            rows = rows.filter(Q(data_type=DataType.BOOLEAN, value=flag) | Q(label=value))
        else:
            rows = rows.filter(label=value)
    if low is not None:
        rows = rows.filter(value__gte=low)
    if high is not None:
        rows = rows.filter(value__lte=high)
    return Exists(rows)


@dataclass(frozen=True)
class ScoreSort:
    """A score sort of the list in two parts: `scored`, the sessions with a value of the score
    (annotated `column`, read through the index (project, name, value|label, session)), and
    `unscored`, the others (by id, `column` null)."""

    column: str
    scored: QuerySet[AgentSession]
    unscored: QuerySet[AgentSession]


def score_sort(
    project: Project, name: str, sessions: QuerySet[AgentSession], *, agent: str = ""
) -> ScoreSort:
    """The two parts of `sessions` sorted by the value the score column shows: a categorical
    config by its label (`score_label`), anything else by number (`score_sort`). With the
    list's agent filter, the values are read through (project, name, agent_name, value)."""
    config = score_config_named(project, name)
    if config is not None and config.data_type == DataType.CATEGORICAL:
        # label > '' rather than a negation, which Django would make a subquery of its own.
        column, field, present = "score_label", "label", Q(score_values__label__gt="")
        has_value = Q(label__gt="")
    else:
        column, field, present = "score_sort", "value", Q(score_values__value__isnull=False)
        has_value = Q(value__isnull=False)
    # One filter() call: each call on a multi-valued relation would join it once more.
    row = Q(present, score_values__project_id=project.pk, score_values__name=name)
    valued = SessionScore.objects.filter(has_value, session_id=OuterRef("pk"), name=name)
    if agent:
        # Both parts ask the row's agent, so a session is in exactly one of them.
        row &= Q(score_values__agent_name=agent)
        valued = valued.filter(agent_name=agent)
    scored = sessions.filter(row).annotate(**{column: F(f"score_values__{field}")})
    unscored = sessions.filter(~Exists(valued)).annotate(
        **{column: Value(None, output_field=CharField() if field == "label" else FloatField())}
    )
    return ScoreSort(column=column, scored=scored, unscored=unscored)


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
    columns.values = {sid: {} for sid in ids}
    for row in SessionScore.objects.filter(session_id__in=ids, name__in=columns.names):
        columns.values[row.session_id][row.name] = row.display
    return columns


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
