"""Infinite conversations: a session over its project's token threshold or turn limit is
summarized and continues in a `segment` child; the agent keeps posting to the old id.

`segments_after_append` runs at the end of every ingest transaction (one hook line in
services/events/append.py). It costs no query unless the project has thresholds, and queues at most
one segmentation at a time per session: the summary row is created in the ingest transaction
and its task is enqueued on commit.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from ..models import AgentSession, Event, Project, Summary
from ..selectors.sessions import chain_base

ACTIVE = (Summary.Status.QUEUED, Summary.Status.RUNNING)
SEGMENT_SUFFIX = "~seg-"


def session_over_thresholds(*, project: Project, session: AgentSession) -> bool:
    """Whether the session reached the project's token threshold or turn limit.

    Tokens are the session's usage rollup (spent stays spent); turns are its live `message`
    events (a2a counts messages; popped or cleared ones left the conversation), counted only
    once the event count could reach the limit.
    """
    tokens, turns = project.segment_token_threshold, project.segment_turn_limit
    if tokens and session.total_tokens >= tokens:
        return True
    if turns and session.event_count >= turns:
        # What the agent popped or cleared is no longer in its conversation.
        messages = Event.objects.filter(
            session_id=session.pk, type=Event.Type.MESSAGE, removed_at__isnull=True
        ).count()
        return messages >= turns
    return False


def segments_after_append(*, project: Project, session: AgentSession) -> Summary | None:
    """Queue a segmentation when an ingest pushed the session over its thresholds.

    Must run inside the ingest transaction (the session row is locked there). Returns the
    queued summary, or None when nothing is to be done.
    """
    if not (project.segment_token_threshold or project.segment_turn_limit):
        return None
    if session.continued_in_id or not session_over_thresholds(project=project, session=session):
        return None
    if Summary.objects.filter(session_id=session.pk, status__in=ACTIVE).exists():
        # A summary in flight (a segmentation, or one a user asked for) finishes first; the
        # next ingest checks again.
        return None
    from ..tasks.summaries import session_segment_task
    from .summaries import summary_create

    summary = summary_create(
        session=session, strategy=Summary.Strategy.BASIC, model=settings.SUMMARY_MODEL
    )
    from .outbox import task_send_on_commit

    task_send_on_commit(task=session_segment_task, args=[summary.pk])
    return summary


def segment_external_id(base: AgentSession, summary: Summary) -> str:
    """The segment's id: the base conversation's id and the summary's, so ids stay short however
    long the chain grows, and a re-run opens the same segment."""
    return f"{base.external_id[:200]}{SEGMENT_SUFFIX}{summary.pk}"


@transaction.atomic
def segment_open(*, summary_id: int) -> AgentSession | None:
    """Open the segment a succeeded segmentation summary starts, once; later events posted to
    the old id go there. Returns the segment, or None if the summary did not succeed or the
    session already continues elsewhere."""
    from .sessions import session_continue_in, session_upsert

    summary = Summary.objects.select_for_update().filter(pk=summary_id).first()
    if summary is None or summary.status != Summary.Status.SUCCEEDED:
        return None
    if summary.segment_id:
        return AgentSession.objects.get(pk=summary.segment_id)
    session = AgentSession.objects.select_for_update().get(pk=summary.session_id)
    if session.continued_in_id:
        return None
    project = Project.objects.get(pk=session.project_id)
    base = chain_base(session)
    part = session.depth - base.depth + 2  # the base conversation is part 1
    segment, _ = session_upsert(
        project=project,
        external_id=segment_external_id(base, summary),
        fields={
            "title": f"{base.display_title[:460]} (continued, part {part})",
            "agent_name": session.agent_name,
            "user_ref": session.user_ref,
        },
        parent_external_id=session.external_id,
        kind=AgentSession.Kind.SEGMENT,
    )
    session_continue_in(session=session, segment=segment)
    summary.segment = segment
    summary.save(update_fields=["segment"])
    return segment


def session_current(session: AgentSession) -> AgentSession:
    """The newest segment of the chain a session continues in (itself if not continued)."""
    hops = 0
    while session.continued_in_id and hops < 1000:
        session = AgentSession.objects.get(pk=session.continued_in_id)
        hops += 1
    return session
