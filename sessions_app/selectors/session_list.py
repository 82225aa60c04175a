"""The sessions list: the dashboard's filters and sorts, and the API's `GET /sessions`, both
paged by keyset (never OFFSET)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    Expression,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.utils import timezone

from ..errors import InvalidInput
from ..models import AgentSession, DailyUsage, Project, TokenUsage
from .costs import money
from .pagination import KeysetPage, decode_cursor, keyset_page, keyset_page_parts
from .review import score_matches, score_sort
from .search import SearchScope, Snippet, search_scope, search_snippets
from .sessions import LIST_COLUMNS, sessions_annotated, unpriced_expression

# Sorts of the sessions list: each is backed by an index on (project, <column>, id) in the model,
# so a page is an index range scan whatever the table size. Ascending sorts scan those indexes
# backwards.
SESSION_SORTS = {
    "last_event_at": "Last activity",
    "created_at": "Started",
    "cost_usd": "Cost",
    "total_tokens": "Tokens",
    "event_count": "Events",
    "duration_seconds": "Duration",
    "children_count": "Children",
    "error_count": "Errors",
    "comment_count": "Comments",
}
DEFAULT_SORT = "-last_event_at"
# A score column sorts as `score:<name>` (or `-score:<name>`): by the session's value of it
# (SessionScore, kept by the score services), read in two keyset parts (selectors/review.
# score_sort): the sessions with a value through the index (project, name, value, session),
# then the others by id, so sessions without that score come last either way.
SCORE_SORT_PREFIX = "score:"
# How the sessions of a spent range are found (_spent_strategy, docs/costs.md). A range that
# ended over SPENT_RECENT_DAYS ago and is at most 1/SPENT_READ_AGE of the days since it ended:
# the range's usage rows are read first. Else a range of up to SPENT_SCAN_DAYS days: a DISTINCT
# semi-join, which PostgreSQL answers by hashing the range's ids and the sessions active since.
# Else (a long range ending recently) the plan is the database's. In bench/costs_drilldown.py
# (12 usage rows a session) reading costs about twice as much per day of range as walking per
# day since the range ended: at a third, reading is clearly the cheaper.
SPENT_SCAN_DAYS = 2
SPENT_RECENT_DAYS = 7
SPENT_READ_AGE = 3


@dataclass(frozen=True)
class SessionFilters:
    """The sessions list's filters, as parsed from the query string (see docs/dashboard.md)."""

    agent: str = ""
    user: str = ""
    status: str = ""
    kind: str = ""
    model: str = ""
    date_from: date | None = None
    date_to: date | None = None
    # UTC days on which the session used tokens (its usage rows' times), whatever its last
    # activity: what the costs page's figures link to, so the listed sessions make them up.
    spent_from: date | None = None
    spent_to: date | None = None
    min_cost: Decimal | None = None
    # Exclusive: cost < max_cost (the costs page's buckets are low <= cost < high).
    max_cost: Decimal | None = None
    has_errors: bool = False
    meta_key: str = ""
    meta_value: str = ""
    q: str = ""
    review: str = ""
    # A score (by name): its label or true/false, or a numeric range (selectors/review.py).
    score: str = ""
    score_value: str = ""
    score_min: float | None = None
    score_max: float | None = None
    sort: str = DEFAULT_SORT

    @property
    def spent(self) -> bool:
        return self.spent_from is not None or self.spent_to is not None


def spent_usage(filters: SessionFilters) -> QuerySet[TokenUsage]:
    """The usage rows of the filters' spent days, of their model when they name one (what a
    session must have to be listed, and what its in-range figures sum)."""
    qs = TokenUsage.objects.all()
    if filters.spent_from:
        qs = qs.filter(timestamp__gte=_day_start(filters.spent_from))
    if filters.spent_to:
        qs = qs.filter(timestamp__lt=_day_start(filters.spent_to + timedelta(days=1)))
    if filters.model:
        qs = qs.filter(model=filters.model)
    return qs


def sessions_filtered(
    project: Project, filters: SessionFilters, *, scope: SearchScope | None = None
) -> QuerySet[AgentSession]:
    """The project's sessions matching the list's filters (unordered, all columns deferred
    except those the list shows); `scope` is the search's result when the caller has it."""
    qs = AgentSession.objects.filter(project=project).only(*LIST_COLUMNS)
    f = filters
    if f.agent:
        qs = qs.filter(agent_name=f.agent)
    if f.user:
        qs = qs.filter(user_ref=f.user)
    if f.status == "all":
        pass
    elif f.status:
        qs = qs.filter(status=f.status)
    else:
        # Archiving is how reviewers put sessions out of sight; they come back with a filter.
        qs = qs.exclude(status=AgentSession.Status.ARCHIVED)
    if f.kind:
        qs = qs.filter(kind=f.kind)
    if f.spent:
        # Sessions that used tokens in the range. Two ways to find them: read the range's usage
        # rows (usage_project_time, usage_project_model with a model), or walk the list's sort
        # index from the top and probe usage_session_time per session. The walk suits a long
        # range ending recently (its sessions are most of the newest; reading a month of usage
        # rows takes half a second) but not a range that ended weeks ago: it probes every
        # session active since before it reaches one that spent in the range. The planner
        # cannot tell the two apart (it takes the matches as spread evenly over the walk), so
        # _spent_strategy decides.
        used = spent_usage(f).filter(project=project).values("session_id")
        strategy = _spent_strategy(f)
        if strategy == "read":
            qs = qs.filter(_InIds("pk", used.distinct()))
        elif strategy == "distinct":
            # DISTINCT rules the walk out: PostgreSQL hashes the range's ids against the
            # sessions active since it began, few when it ended recently, from the index alone.
            qs = qs.filter(pk__in=used.distinct())
        else:
            qs = qs.filter(pk__in=used)
        if f.spent_from:
            # Implied, since last activity is the latest event time (services/events/rollups.py)
            # and a usage row has its event's time; it bounds the sessions read by the
            # session_last_activity index to those active since the range began.
            qs = qs.filter(last_event_at__gte=_day_start(f.spent_from))
    elif f.model:
        qs = qs.filter(Exists(TokenUsage.objects.filter(session_id=OuterRef("pk"), model=f.model)))
    if f.date_from:
        qs = qs.filter(last_event_at__gte=_day_start(f.date_from))
    if f.date_to:
        qs = qs.filter(last_event_at__lt=_day_start(f.date_to + timedelta(days=1)))
    # Plain comparisons on the column: a range of the session_cost index (project, cost, id),
    # which the sort by cost reads too.
    if f.min_cost is not None:
        qs = qs.filter(cost_usd__gte=f.min_cost)
    if f.max_cost is not None:
        qs = qs.filter(cost_usd__lt=f.max_cost)
    if f.has_errors:
        qs = qs.filter(error_count__gt=0)
    if f.meta_key:
        qs = qs.filter(**{f"metadata__{f.meta_key}": f.meta_value})
    if f.review == "none":
        qs = qs.filter(review_status="")
    elif f.review:
        qs = qs.filter(review_status=f.review)
    if f.score:
        qs = qs.filter(score_matches(f.score, f.score_value, f.score_min, f.score_max))
    if f.q:
        # Only the transcript, through a bounded read of the latest matching events (see
        # search.SEARCH_HITS): the sessions found are a short list of ids.
        if scope is None:
            scope = search_scope(project, f.q)
        qs = qs.filter(pk__in=scope.session_ids)
    return qs


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _spent_strategy(f: SessionFilters) -> str:
    """How a spent range's sessions are found (see SPENT_SCAN_DAYS): "read" (its usage rows
    first, then the sessions by key), "distinct" (a DISTINCT semi-join) or "plan" (the
    database's choice, the walk for a long range ending recently)."""
    if not (f.spent_from and f.spent_to):
        return "plan"
    days = (f.spent_to - f.spent_from).days + 1
    ended = (timezone.now().date() - f.spent_to).days
    if ended > SPENT_RECENT_DAYS and days * SPENT_READ_AGE <= ended:
        return "read"
    return "distinct" if days <= SPENT_SCAN_DAYS else "plan"


class _InIds(Expression):
    """`column IN (ids)` where PostgreSQL must take the ids first: `= ANY(ARRAY(ids))` runs the
    subquery once, before the outer query (an InitPlan), and reads the sessions by primary key;
    a semi-join would let the planner walk a sort index and probe the subquery per row instead.
    Other databases get the plain IN."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, column: str, ids: QuerySet[Any]) -> None:
        super().__init__()
        self.column: Any = F(column)
        self.ids: Any = Subquery(ids)

    def get_source_expressions(self) -> list[Any]:
        return [self.column, self.ids]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        self.column, self.ids = exprs

    def _compile(self, compiler: Any, template: str) -> tuple[str, tuple[Any, ...]]:
        column, column_params = compiler.compile(self.column)
        ids, ids_params = compiler.compile(self.ids)
        return template.format(column=column, ids=ids), (*column_params, *ids_params)

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        return self._compile(compiler, "{column} IN {ids}")

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        return self._compile(compiler, "{column} = ANY(ARRAY{ids})")


def sessions_page(
    project: Project,
    filters: SessionFilters,
    *,
    cursor: str = "",
    before: str = "",
    limit: int = 50,
    scope: SearchScope | None = None,
) -> KeysetPage[AgentSession]:
    """A keyset page of the sessions list in the filters' sort order, after `cursor` or before
    `before` (a malformed cursor restarts the list)."""
    descending = filters.sort.startswith("-")
    column = filters.sort.lstrip("-")
    qs = sessions_filtered(project, filters, scope=scope)
    score_name = column.removeprefix(SCORE_SORT_PREFIX)
    after = before_at = None
    if column.startswith(SCORE_SORT_PREFIX) and score_name:
        parts = score_sort(project, score_name, qs, agent=filters.agent)
        if cursor and not before:
            after = decode_cursor(cursor, parts.column)
        if before:
            before_at = decode_cursor(before, parts.column)
        page = keyset_page_parts(
            parts.scored,
            parts.unscored,
            column=parts.column,
            descending=descending,
            after=after,
            before=before_at,
            limit=limit,
        )
        _attach_unpriced(page.items)
        _attach_spent(page.items, filters)
        return page
    if column not in SESSION_SORTS:
        column, descending = DEFAULT_SORT.lstrip("-"), True
    page = keyset_page(
        qs,
        column=column,
        descending=descending,
        after=decode_cursor(cursor, column) if cursor and not before else None,
        before=decode_cursor(before, column) if before else None,
        limit=limit,
    )
    _attach_unpriced(page.items)
    _attach_spent(page.items, filters)
    return page


# Counting every matching session of a large project costs a scan of them all; the list counts
# up to this many and says "more than" past it.
COUNT_CAP = 10_000


@dataclass
class SessionListPage:
    """A page of the list with what the page says about it: how many sessions match (exact up
    to COUNT_CAP, `total_capped` past it), whether a search saw all its matches, and each
    row's snippet when searching."""

    page: KeysetPage[AgentSession]
    total: int
    total_capped: bool
    search_complete: bool
    snippets: dict[int, Snippet]


def session_list_page(
    project: Project,
    filters: SessionFilters,
    *,
    cursor: str = "",
    before: str = "",
    limit: int = 50,
) -> SessionListPage:
    """The sessions list's page, its count and its search snippets (a search adds two
    queries: the bounded read of matching events and the page's snippets)."""
    scope = search_scope(project, filters.q) if filters.q else None
    page = sessions_page(project, filters, cursor=cursor, before=before, limit=limit, scope=scope)
    counted = (
        sessions_filtered(project, filters, scope=scope).order_by().values("pk")[: COUNT_CAP + 1]
    )
    total = counted.count()
    snippets = (
        search_snippets(scope, [s.pk for s in page.items], filters.q) if scope is not None else {}
    )
    for s in page.items:
        s.snippet = snippets.get(s.pk)  # type: ignore[attr-defined]
    return SessionListPage(
        page=page,
        total=min(total, COUNT_CAP),
        total_capped=total > COUNT_CAP,
        search_complete=scope.complete if scope is not None else True,
        snippets=snippets,
    )


def _attach_unpriced(sessions: list[AgentSession]) -> None:
    """Set `unpriced` on each session: "all" when every usage row has an unknown price (its
    cost_usd of 0 means nothing), "some" when only part of it has, "" otherwise.

    One query for the page. It is not folded into the list's own query: there the subqueries
    would run for every matching session before the sort and LIMIT, here for at most a page.
    """
    if not sessions:
        return
    rows = (
        AgentSession.objects.filter(pk__in=[s.pk for s in sessions])
        .annotate(coverage=unpriced_expression())
        .exclude(coverage="")
        .values_list("pk", "coverage")
    )
    coverage = dict(rows)
    for s in sessions:
        # The attribute the children page and the session page get from `unpriced_expression`.
        s.unpriced = coverage.get(s.pk, "")  # type: ignore[attr-defined]


def _attach_spent(sessions: list[AgentSession], filters: SessionFilters) -> None:
    """With a spent filter, set on each session its figures within it: `spent_cost`,
    `spent_tokens`, `spent_events` and `spent_unpriced` (as `unpriced`, over those rows only).

    What the list's rows add up to is then the costs page's figure. One query for the page,
    a range read of usage_session_time per session (its whole usage when the range is open)."""
    if not sessions or not filters.spent:
        return
    rows = (
        spent_usage(filters)
        .filter(session_id__in=[s.pk for s in sessions])
        .values("session_id")
        .annotate(
            cost=Sum("cost_usd"),
            tokens=Sum("total_tokens"),
            events=Count("id"),
            unknown=Count("id", filter=Q(cost_source=TokenUsage.CostSource.UNKNOWN)),
        )
        .order_by()
    )
    by_session = {row["session_id"]: row for row in rows}
    for s in sessions:
        row = by_session.get(s.pk, {})
        events, unknown = row.get("events", 0), row.get("unknown", 0)
        s.spent_cost = money(row.get("cost"))  # type: ignore[attr-defined]
        s.spent_tokens = row.get("tokens") or 0  # type: ignore[attr-defined]
        s.spent_events = events  # type: ignore[attr-defined]
        s.spent_unpriced = (  # type: ignore[attr-defined]
            ("all" if unknown == events else "some") if unknown else ""
        )


def session_filter_choices(project: Project) -> dict[str, list[str]]:
    """Values offered by the list's filter dropdowns, read from the daily usage aggregate (a few
    rows per day) rather than from the sessions table."""
    rows = DailyUsage.objects.filter(project=project)
    return {
        "agents": sorted(set(rows.values_list("agent_name", flat=True).distinct()) - {""}),
        "models": sorted(set(rows.values_list("model", flat=True).distinct()) - {""}),
    }


# -- the API's list ------------------------------------------------------------------------

# Metadata keys usable in `metadata.<key>=value` filters: plain names, so a key can never turn
# into a Django lookup (`__contains`) or a nested path.
METADATA_KEY = re.compile(r"^[A-Za-z0-9_\-]{1,100}$")
API_SORTS = {"last_activity": "last_event_at", "created": "created_at"}


@dataclass(frozen=True)
class ApiSessionFilters:
    """`GET /api/v1/sessions`'s filters (None: not filtered)."""

    parent: str | None = None
    kind: str | None = None
    agent: str | None = None
    user_ref: str | None = None
    status: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    active_after: datetime | None = None
    active_before: datetime | None = None


def api_sessions_page(
    project: Project,
    *,
    filters: ApiSessionFilters,
    metadata: dict[str, str],
    sort: str = "last_activity",
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[AgentSession], str | None]:
    """A page of sessions, newest first by last activity (or creation); a cursor this API did
    not give out is a 422 naming `cursor`."""
    column = API_SORTS[sort]
    qs = sessions_annotated(project)
    simple = {
        "parent__external_id": filters.parent,
        "kind": filters.kind,
        "agent_name": filters.agent,
        "user_ref": filters.user_ref,
        "status": filters.status,
        "created_at__gte": filters.created_after,
        "created_at__lt": filters.created_before,
        "last_event_at__gte": filters.active_after,
        "last_event_at__lt": filters.active_before,
    }
    qs = qs.filter(**{k: v for k, v in simple.items() if v is not None})
    for key, value in metadata.items():
        if not METADATA_KEY.match(key) or "__" in key:
            raise InvalidInput(
                "Metadata filter keys are letters, digits, '_' and '-'.", field=f"metadata.{key}"
            )
        qs = qs.filter(**{f"metadata__{key}": value})
    after = None
    if cursor:
        after = decode_cursor(cursor, column)
        if after is None:
            raise InvalidInput("The cursor is not one this API gave out.", field="cursor")
    page = keyset_page(qs, column=column, descending=True, after=after, limit=limit)
    return page.items, page.next_cursor
