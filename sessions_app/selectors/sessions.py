"""Reads of one session and its tree: by id for the pages, by external id for the API, the
subtree's totals, ancestors and a keyset page of children."""

from __future__ import annotations

from typing import Any

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.shortcuts import get_object_or_404

from ..errors import NotFound
from ..models import AgentSession, Project, TokenUsage
from .pagination import decode_cursor, keyset_page

# Columns of a session shown in lists (the sessions list, tree nodes): the JSON columns stay
# unloaded.
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
    "comment_count",
    "review_status",
    "review_note",
)


def session_subtree(session: AgentSession) -> QuerySet[AgentSession]:
    """The session and all its descendants (one indexed prefix scan on the materialised path)."""
    return AgentSession.objects.filter(project_id=session.project_id, path__startswith=session.path)


def session_subtree_totals(session: AgentSession) -> dict:
    """Rollups summed over a session's subtree: sessions, events, tokens, cost, first and last
    activity (a sub-agent may report events older than its parent's first), and `unpriced`
    ("all", "some" or "") for how much of its usage has no known price."""
    totals = session_subtree(session).aggregate(
        sessions=Count("id"),
        events=Sum("event_count"),
        prompt_tokens=Sum("prompt_tokens"),
        completion_tokens=Sum("completion_tokens"),
        total_tokens=Sum("total_tokens"),
        cost_usd=Sum("cost_usd"),
        errors=Sum("error_count"),
        started_at=Min("created_at"),
        last_event_at=Max("last_event_at"),
    )
    totals["unpriced"] = ""
    if not totals["cost_usd"] and totals["total_tokens"]:
        totals["unpriced"] = _subtree_coverage([session]).get(session.pk, "")
    return totals


def session_subtree_size(session: AgentSession) -> dict:
    """How many sessions and events deleting the session would remove (its whole subtree)."""
    return session_subtree(session).aggregate(sessions=Count("id"), events=Sum("event_count"))


def session_ancestors(session: AgentSession) -> list[AgentSession]:
    """Ancestors from the root down to the parent, in one query (ids come from the path)."""
    ids = [int(part) for part in session.path.strip("/").split("/")[:-1] if part]
    by_id = AgentSession.objects.in_bulk(ids)
    return [by_id[i] for i in ids if i in by_id]


def chain_base(session: AgentSession) -> AgentSession:
    """The conversation a chain of segments continues: the nearest ancestor-or-self that is
    not a segment (one query, none for a session that is not a segment: the ancestors' ids are
    in the materialised path). Its branches are the whole chain's."""
    if session.kind != AgentSession.Kind.SEGMENT:
        return session
    for ancestor in reversed(session_ancestors(session)):
        if ancestor.kind != AgentSession.Kind.SEGMENT:
            return ancestor
    return session


def _has_usage(*, unknown: bool) -> Exists:
    usage = TokenUsage.objects.filter(session_id=OuterRef("pk"))
    if unknown:
        return Exists(usage.filter(cost_source=TokenUsage.CostSource.UNKNOWN))
    return Exists(usage.exclude(cost_source=TokenUsage.CostSource.UNKNOWN))


def unpriced_expression() -> Case:
    """A session's `unpriced` ("all", "some" or ""), as the list's `_attach_unpriced` sets it."""
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


def session_heading(project: Project, pk: int) -> AgentSession:
    """A session of the project with only what a heading shows (id, names, root), or 404."""
    return get_object_or_404(
        AgentSession.objects.only("id", "external_id", "title", "preview", "root_id", "project"),
        project=project,
        pk=pk,
    )


def session_external_ids(ids: set[int]) -> dict[int, str]:
    """{pk: external_id} of the given sessions (one query)."""
    return dict(AgentSession.objects.filter(pk__in=ids).values_list("pk", "external_id"))


# -- the API addresses sessions by their external id ---------------------------------------


def sessions_annotated(project: Project) -> QuerySet[AgentSession]:
    """A project's sessions with the external ids of parent and segment, joined not fetched."""
    return AgentSession.objects.filter(project=project).annotate(
        parent_external_id=F("parent__external_id"),
        continued_in_external_id=F("continued_in__external_id"),
    )


def session_by_external_id(project: Project, external_id: str) -> AgentSession:
    """One session of the project, or 404 (another project's session is not found either)."""
    session = sessions_annotated(project).filter(external_id=external_id).first()
    if session is None:
        raise NotFound(f"No session {external_id!r}.", field="external_id")
    return session


def session_or_none(project: Project, external_id: str) -> AgentSession | None:
    """The whole row of a session of the project, or None."""
    return AgentSession.objects.filter(project=project, external_id=external_id).first()


def session_pk(project: Project, external_id: str) -> AgentSession:
    """A session's bare row (no JSON columns) for writes that only need its id, or 404."""
    session = (
        AgentSession.objects.filter(project=project, external_id=external_id)
        .only("id", "project_id", "external_id", "kind", "path", "parent_id", "last_seq")
        .first()
    )
    if session is None:
        raise NotFound(f"No session {external_id!r}.", field="external_id")
    return session


# -- trees ---------------------------------------------------------------------------------


def session_children_page(
    session: AgentSession, *, after: str = "", limit: int = 50, subtree_totals: bool = True
) -> tuple[list[AgentSession], str | None]:
    """A keyset page of a session's direct children in creation order, each annotated with the
    totals of its own subtree (sessions, events, tokens, cost) when asked."""
    page = keyset_page(
        AgentSession.objects.filter(parent=session)
        .only(*LIST_COLUMNS, "path")
        .annotate(unpriced=unpriced_expression()),
        column="created_at",
        descending=False,
        after=decode_cursor(after, "created_at") if after else None,
        limit=limit,
    )
    children: list[AgentSession] = list(page.items)
    if subtree_totals:
        _attach_subtree_totals(children)
    return children, page.next_cursor


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
                event_sum=Sum("event_count"),
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
            n.sub_sessions, n.sub_events = row["sessions"], row["event_sum"]
            n.sub_tokens, n.sub_cost = row["tokens"], row["cost"]
            n.sub_unpriced = coverage.get(n.pk, "")


def session_main_model(session: AgentSession) -> str:
    """The model the session used most (by usage rows), or "" when it used none."""
    row = (
        TokenUsage.objects.filter(session=session)
        .exclude(model="")
        .values("model")
        .annotate(n=Count("pk"))
        .order_by("-n", "model")
        .values_list("model", flat=True)
        .first()
    )
    return row or ""
