"""Removing items from an agent's view of a session: the latest item (pop) or all (clear).

Nothing is erased: removed events are marked with when and by which call, disappear from the
agent's reads (`format=` reads, prompts, the next pop) and stay in the record, the transcript
and the cost figures. Money spent stays spent. Retention and the dashboard's delete
(`services.sessions.delete_events_of`) still remove them for good.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ...models import MAIN_BRANCH, AgentSession, Event, SessionBranch
from ...selectors.branches import latest_branch_item

POP = "pop"
CLEAR = "clear"


@transaction.atomic
def event_pop_last(
    *, session: AgentSession, fmt: str | None = None, branch: str | None = None
) -> Event | None:
    """Mark the latest live item of a session (with the events derived from it) removed and
    return it as it was before the pop; with `fmt`, the latest item written in that format
    (an SDK session pops its own items, never a usage event); with `branch`, the latest item
    written on that branch; when the branch has none of its own left, the latest item it shares
    with its parent leaves the branch (its fork point moves before it) and stays the parent's.

    An OpenAI chat message with `tool_calls` is stored as the message plus one tool_call event
    per call; popping removes all of them, as an SDK session's `pop_item` removes one item.
    """
    session = AgentSession.objects.select_for_update().get(pk=session.pk)
    live = Event.objects.filter(session=session, removed_at__isnull=True)
    if branch is not None:
        live = live.filter(branch=branch)
    # Loaded with its usage and its parent's and run's ids: the caller shows what was removed.
    events = (
        live.select_related("usage")
        .annotate(
            parent_external_id=F("parent_event__external_id"),
            run_external_id=F("run__external_id"),
        )
        .order_by("-seq")
    )
    items = events.filter(payload__isnull=False)
    if fmt is not None:
        last = items.filter(payload_format=fmt).first()
    else:
        last = items.first() or events.first()
    if last is None:
        if branch is not None and branch != MAIN_BRANCH:
            return _unshare_last(session, branch, fmt)
        return None
    # The item and what was derived from it (the events after it up to the next item).
    following = live.filter(seq__gt=last.seq, payload__isnull=False).order_by("seq").first()
    taken = live.filter(seq__gte=last.seq)
    if following is not None:
        taken = taken.filter(seq__lt=following.seq)
    taken.update(removed_at=timezone.now(), removed_by=POP)
    return last


def _unshare_last(session: AgentSession, branch: str, fmt: str | None) -> Event | None:
    # The SDK copies a branch's shared items, so a pop takes the copy and leaves the parent's
    # item; here the branch reads its parent's events up to `fork_seq`: lowering it is the pop.
    # Branches forked from this one read the parent's events through that same fork point, so
    # while any exists nothing is popped (they keep what they read; the SDK would pop a copy).
    if SessionBranch.objects.filter(session=session, parent=branch).exists():
        return None
    shared = latest_branch_item(session, branch, fmt)
    if shared is None:
        return None
    SessionBranch.objects.filter(session=session, name=branch).update(fork_seq=shared.seq - 1)
    return (
        Event.objects.select_related("usage")
        .annotate(
            parent_external_id=F("parent_event__external_id"),
            run_external_id=F("run__external_id"),
        )
        .get(pk=shared.pk)
    )


@transaction.atomic
def events_clear(*, session: AgentSession) -> int:
    """Mark every live event of a session removed (every branch, as the SDK's
    `clear_session`); returns how many were."""
    session = AgentSession.objects.select_for_update().get(pk=session.pk)
    return Event.objects.filter(session=session, removed_at__isnull=True).update(
        removed_at=timezone.now(), removed_by=CLEAR
    )
