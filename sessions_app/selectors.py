"""Read-side queries (HackSoft style): views and API operations read through these."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import (
    Case,
    Count,
    Exists,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.shortcuts import get_object_or_404

from .models import (
    AgentSession,
    DailyUsage,
    Event,
    Membership,
    Project,
    Run,
    TokenUsage,
)


def projects_for_user(user: AbstractBaseUser) -> QuerySet[Project]:
    """Projects a user may see: all for a superuser, else those they are a member of."""
    if user.is_superuser:
        return Project.objects.all()
    return Project.objects.filter(memberships__user=user)


def role_of(user: AbstractBaseUser, project: Project) -> str | None:
    """The user's role in a project (superusers are admins everywhere), or None."""
    if user.is_superuser:
        return Membership.Role.ADMIN
    return (
        Membership.objects.filter(user=user, project=project).values_list("role", flat=True).first()
    )


def session_subtree(session: AgentSession) -> QuerySet[AgentSession]:
    """The session and all its descendants (one indexed prefix scan on the materialised path)."""
    return AgentSession.objects.filter(project_id=session.project_id, path__startswith=session.path)


def session_subtree_totals(session: AgentSession) -> dict:
    """Rollups summed over a session's subtree: sessions, events, tokens, cost, last activity,
    and `unpriced` ("all", "some" or "") for how much of its usage has no known price."""
    totals = session_subtree(session).aggregate(
        sessions=Count("id"),
        events=Sum("event_count"),
        prompt_tokens=Sum("prompt_tokens"),
        completion_tokens=Sum("completion_tokens"),
        total_tokens=Sum("total_tokens"),
        cost_usd=Sum("cost_usd"),
        errors=Sum("error_count"),
        last_event_at=Max("last_event_at"),
    )
    totals["unpriced"] = ""
    if not totals["cost_usd"] and totals["total_tokens"]:
        totals["unpriced"] = _subtree_coverage([session]).get(session.pk, "")
    return totals


def session_ancestors(session: AgentSession) -> list[AgentSession]:
    """Ancestors from the root down to the parent, in one query (ids come from the path)."""
    ids = [int(part) for part in session.path.strip("/").split("/")[:-1] if part]
    by_id = AgentSession.objects.in_bulk(ids)
    return [by_id[i] for i in ids if i in by_id]


# -- dashboard reads --------------------------------------------------------------------------

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
}
DEFAULT_SORT = "-last_event_at"
LIST_COLUMNS = (
    "id",
    "project_id",
    "external_id",
    "parent_id",
    "root_id",
    "depth",
    "kind",
    "title",
    "preview",
    "agent_name",
    "user_ref",
    "status",
    "created_at",
    "last_event_at",
    "event_count",
    "total_tokens",
    "cost_usd",
    "error_count",
    "children_count",
    "duration_seconds",
    "review_status",
    "review_note",
)


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
    min_cost: Decimal | None = None
    has_errors: bool = False
    meta_key: str = ""
    meta_value: str = ""
    q: str = ""
    review: str = ""
    sort: str = DEFAULT_SORT


@dataclass
class SessionPage:
    """One keyset page of sessions and the cursor of the next page, if any."""

    items: list[AgentSession]
    next_cursor: str | None


def encode_cursor(value: Any, pk: int) -> str:
    """An opaque cursor for the row after (value, pk) in the current sort."""
    raw = json.dumps([str(value) if value is not None else None, pk])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, column: str) -> tuple[Any, int] | None:
    """(value, pk) from a cursor, or None when it is malformed (the list restarts)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if column in ("last_event_at", "created_at"):
            value: Any = datetime.fromisoformat(raw)
            if value.tzinfo is None:
                return None
        elif column == "cost_usd":
            value = Decimal(raw)
            if not value.is_finite():
                return None
        else:
            value = int(raw)
        pk = int(pk)
        # A forged cursor must not reach the database with a value its columns cannot hold.
        if (isinstance(value, int) and not 0 <= value < 2**63) or not 0 <= pk < 2**63:
            return None
        return value, pk
    except (ValueError, TypeError, ArithmeticError, binascii.Error, json.JSONDecodeError):
        return None


# The indexed document of an event (migration 0005): its first 65,536 characters, since a
# tsvector holds at most 1 MB and larger outputs made the insert fail. The expression must match
# the index's exactly for the planner to use it.
FTS_DOCUMENT = "to_tsvector('simple', left(content, 65536))"


def _fts_session_ids(project: Project, q: str) -> QuerySet:
    """Ids of sessions with an event matching `q`: PostgreSQL full-text search (GIN index
    event_content_fts, over each event's first 65,536 characters), or a case-insensitive
    substring match on other databases."""
    events = Event.objects.filter(project=project)
    if connection.vendor == "postgresql":
        events = events.extra(
            where=[f"{FTS_DOCUMENT} @@ plainto_tsquery('simple', %s)"], params=[q]
        )
    else:
        events = events.filter(content__icontains=q)
    return events.values("session_id")


def sessions_filtered(project: Project, filters: SessionFilters) -> QuerySet[AgentSession]:
    """The project's sessions matching the list's filters (unordered, all columns deferred
    except those the list shows)."""
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
    if f.model:
        qs = qs.filter(Exists(TokenUsage.objects.filter(session_id=OuterRef("pk"), model=f.model)))
    if f.date_from:
        qs = qs.filter(last_event_at__gte=_day_start(f.date_from))
    if f.date_to:
        qs = qs.filter(last_event_at__lt=_day_start(f.date_to + timedelta(days=1)))
    if f.min_cost is not None:
        qs = qs.filter(cost_usd__gte=f.min_cost)
    if f.has_errors:
        qs = qs.filter(error_count__gt=0)
    if f.meta_key:
        qs = qs.filter(**{f"metadata__{f.meta_key}": f.meta_value})
    if f.review == "none":
        qs = qs.filter(review_status="")
    elif f.review:
        qs = qs.filter(review_status=f.review)
    if f.q:
        # Only the transcript: OR-ing a title match in would turn the semi-join on the GIN
        # index's hits into a scan of every session of the project.
        qs = qs.filter(pk__in=_fts_session_ids(project, f.q))
    return qs


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def sessions_page(
    project: Project, filters: SessionFilters, *, cursor: str = "", limit: int = 50
) -> SessionPage:
    """A keyset page of the sessions list in the filters' sort order (never OFFSET)."""
    descending = filters.sort.startswith("-")
    column = filters.sort.lstrip("-")
    if column not in SESSION_SORTS:
        column, descending = DEFAULT_SORT.lstrip("-"), True
    qs = sessions_filtered(project, filters)
    after = decode_cursor(cursor, column) if cursor else None
    if after is not None:
        value, pk = after
        op = "lt" if descending else "gt"
        qs = qs.filter(Q(**{f"{column}__{op}": value}) | Q(**{column: value, f"pk__{op}": pk}))
    order = [f"-{column}", "-pk"] if descending else [column, "pk"]
    items = list(qs.order_by(*order)[: limit + 1])
    next_cursor = None
    if len(items) > limit:
        items = items[:limit]
        last = items[-1]
        next_cursor = encode_cursor(getattr(last, column), last.pk)
    _attach_unpriced(items)
    return SessionPage(items=items, next_cursor=next_cursor)


def _attach_unpriced(sessions: list[AgentSession]) -> None:
    """Set `unpriced` on each session: "all" when every usage row has an unknown price (its
    cost_usd of 0 means nothing), "some" when only part of it has, "" otherwise.

    One query for the page. It is not folded into the list's own query: there the subqueries
    would run for every matching session before the sort and LIMIT, here for at most a page.
    """
    for s in sessions:
        s.unpriced = ""
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
        s.unpriced = coverage.get(s.pk, "")


def session_filter_choices(project: Project) -> dict[str, list[str]]:
    """Values offered by the list's filter dropdowns, read from the daily usage aggregate (a few
    rows per day) rather than from the sessions table."""
    rows = DailyUsage.objects.filter(project=project)
    return {
        "agents": sorted(set(rows.values_list("agent_name", flat=True).distinct()) - {""}),
        "models": sorted(set(rows.values_list("model", flat=True).distinct()) - {""}),
    }


def _has_usage(*, unknown: bool) -> Exists:
    usage = TokenUsage.objects.filter(session_id=OuterRef("pk"))
    if unknown:
        return Exists(usage.filter(cost_source=TokenUsage.CostSource.UNKNOWN))
    return Exists(usage.exclude(cost_source=TokenUsage.CostSource.UNKNOWN))


def unpriced_expression() -> Case:
    """A session's `unpriced` ("all", "some" or ""), as `_attach_unpriced` sets it."""
    # For reads of one session or a keyset page of children: two index probes a row, in the
    # row's own query (the list keeps its separate query, see `_attach_unpriced`).
    # CASE stops at the first match: a session without unpriced usage costs one probe.
    return Case(
        When(~_has_usage(unknown=True), then=Value("")),
        When(_has_usage(unknown=False), then=Value("some")),
        default=Value("all"),
    )


def _subtree_coverage(nodes: list[AgentSession]) -> dict[int, str]:
    """`unpriced` of each node's whole subtree, by node pk, in one grouped query.

    It probes the usage of every session of the subtrees (two index probes each: ~85 ms for a
    tree of 9,001 sessions), so it is asked only for subtrees whose cost is 0 although they
    used tokens, the one case where the figure alone would mislead: $0 that is not free.
    """
    owner = Case(
        *[When(path__startswith=n.path, then=Value(n.pk)) for n in nodes], default=Value(0)
    )
    under_any = Q()
    for n in nodes:
        under_any |= Q(path__startswith=n.path)
    rows = (
        AgentSession.objects.filter(under_any, project_id=nodes[0].project_id)
        .annotate(owner=owner)
        .values("owner")
        .annotate(
            unpriced=Count("id", filter=Q(_has_usage(unknown=True))),
            priced=Count("id", filter=Q(_has_usage(unknown=False))),
        )
        .order_by()
    )
    return {
        row["owner"]: ("some" if row["priced"] else "all") if row["unpriced"] else ""
        for row in rows
    }


def session_for_page(project: Project, pk: int) -> AgentSession:
    """A session of the project, or 404; deferring the JSON state, which can be large. Its
    `unpriced` says whether its cost is known, as on the list."""
    return get_object_or_404(
        AgentSession.objects.defer("state").annotate(unpriced=unpriced_expression()),
        project=project,
        pk=pk,
    )


def session_children_page(
    session: AgentSession, *, after: str = "", limit: int = 50, subtree_totals: bool = True
) -> tuple[list[AgentSession], str | None]:
    """A keyset page of a session's direct children in creation order, each annotated with the
    totals of its own subtree (sessions, events, tokens, cost) when asked."""
    qs = (
        AgentSession.objects.filter(parent=session)
        .only(*LIST_COLUMNS, "path")
        .annotate(unpriced=unpriced_expression())
    )
    position = decode_cursor(after, "created_at") if after else None
    if position is not None:
        created_at, last_pk = position
        qs = qs.filter(Q(created_at__gt=created_at) | Q(created_at=created_at, pk__gt=last_pk))
    items = list(qs.order_by("created_at", "pk")[: limit + 1])
    next_after = None
    if len(items) > limit:
        items = items[:limit]
        next_after = encode_cursor(items[-1].created_at.isoformat(), items[-1].pk)
    if subtree_totals:
        _attach_subtree_totals(items)
    return items, next_after


def _attach_subtree_totals(nodes: list[AgentSession]) -> None:
    """Set sub_sessions/sub_events/sub_tokens/sub_cost on each node, in one grouped query.

    A leaf's totals are its own. The other nodes' subtrees are read with one constant-prefix
    range scan each on the materialised path's index (OR-ed together), and a CASE names the
    node each descendant belongs to, so a page of 50 nodes costs one query whatever the tree.
    """
    branches = [n for n in nodes if n.children_count]
    totals: dict[int, dict[str, Any]] = {}
    if branches:
        owner = Case(
            *[When(path__startswith=n.path, then=Value(n.pk)) for n in branches],
            default=Value(0),
        )
        under_any = Q()
        for n in branches:
            under_any |= Q(path__startswith=n.path)
        rows = (
            AgentSession.objects.filter(under_any, project_id=branches[0].project_id)
            .annotate(owner=owner)
            .values("owner")
            .annotate(
                sessions=Count("id"),
                events=Sum("event_count"),
                tokens=Sum("total_tokens"),
                cost=Sum("cost_usd"),
            )
            .order_by()
        )
        totals = {row["owner"]: row for row in rows}
    free = [n for n in branches if not totals[n.pk]["cost"] and totals[n.pk]["tokens"]]
    coverage = _subtree_coverage(free) if free else {}
    for n in nodes:
        row = totals.get(n.pk)
        if row is None:
            n.sub_sessions, n.sub_events, n.sub_tokens, n.sub_cost = (
                1,
                n.event_count,
                n.total_tokens,
                n.cost_usd,
            )
            n.sub_unpriced = getattr(n, "unpriced", "")
        else:
            n.sub_sessions, n.sub_events = row["sessions"], row["events"]
            n.sub_tokens, n.sub_cost = row["tokens"], row["cost"]
            n.sub_unpriced = coverage.get(n.pk, "")


def session_runs(session: AgentSession, *, limit: int = 200) -> list[Run]:
    """The session's runs, oldest first (a session has a handful; capped for safety)."""
    return list(Run.objects.filter(session=session).order_by("created_at", "pk")[:limit])


def transcript_page(
    session: AgentSession, *, after_seq: int = 0, limit: int = 50, run_id: int | None = None
) -> tuple[list[Event], Event | None, bool]:
    """A keyset page of the transcript: events after `after_seq` (the payload and metadata
    deferred until someone clicks), the event just before the page (for the idle-gap marker),
    and whether more follow. Each event comes with its usage and summary record (one join)."""
    qs = (
        Event.objects.filter(session=session)
        .defer("payload", "metadata", "body_hash")
        .select_related("usage", "summary_record")
        # The branch an imported message belongs to (Agents SDK branches), read in SQL so the
        # metadata itself stays unloaded.
        .annotate(branch=KeyTextTransform("branch_id", "metadata"))
    )
    if run_id is not None:
        qs = qs.filter(run_id=run_id)
    # Fetch the previous event too (seq >= after_seq) so the first row can show an idle gap.
    rows = list(qs.filter(seq__gte=max(after_seq, 1)).order_by("seq")[: limit + 2])
    previous = None
    if rows and after_seq and rows[0].seq == after_seq:
        previous = rows.pop(0)
    has_more = len(rows) > limit
    return rows[:limit], previous, has_more


def event_detail(session: AgentSession, seq: int) -> Event:
    """One event with its payload and metadata (loaded only when someone opens it), or 404."""
    return get_object_or_404(Event.objects.select_related("usage"), session=session, seq=seq)
