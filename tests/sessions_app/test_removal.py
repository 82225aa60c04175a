"""An agent's pop and clear: gone from its reads and prompts, kept in the record until a
person or retention deletes the session."""

from __future__ import annotations

import pytest

from sessions_app import prompts
from sessions_app.models import AgentSession, Event, TokenUsage
from sessions_app.selectors.events import events_page, items_page
from sessions_app.services.events import event_pop_last, events_clear
from sessions_app.services.sessions import session_delete

from .chat_format import append, assistant, user

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:a2a_session_manager.*")


def conversation(project, sid="conv") -> AgentSession:
    return append(
        project,
        sid,
        user(f"{sid}-u1", "First question"),
        assistant(f"{sid}-a1", "First answer"),
        user(f"{sid}-u2", "Second question"),
        assistant(f"{sid}-a2", "Second answer"),
    )


def texts(prompt) -> list[str]:
    return [m.get("content") or "" for m in prompt.messages]


def test_popped_and_cleared_events_are_left_out_of_every_prompt_strategy(project):
    session = conversation(project)
    event_pop_last(session=session)
    for strategy in prompts.STRATEGIES:
        built = prompts.build_prompt(session, strategy, model="gpt-4o")
        assert "Second answer" not in texts(built), strategy
    events_clear(session=session)
    for strategy in prompts.STRATEGIES:
        assert prompts.build_prompt(session, strategy, model="gpt-4o").messages == []


def test_native_reads_include_removed_events_only_when_asked(project):
    session = conversation(project)
    event_pop_last(session=session)
    live, _ = events_page(session, after_seq=0, limit=10)
    everything, _ = events_page(session, after_seq=0, limit=10, include_removed=True)
    assert len(live) == 3
    assert len(everything) == 4
    assert everything[-1].removed_by == "pop"


def test_format_reads_never_include_removed_items(project):
    session = conversation(project)
    events_clear(session=session)
    for fmt in ("openai_chat", "responses", "native"):
        assert items_page(session, fmt=fmt, after_seq=0, limit=10) == ([], None)


def test_removal_keeps_the_sessions_rollups_and_usage(project):
    session = conversation(project)
    before = AgentSession.objects.get(pk=session.pk)
    usage_rows = TokenUsage.objects.count()
    event_pop_last(session=session)
    events_clear(session=session)
    after = AgentSession.objects.get(pk=session.pk)
    assert (after.total_tokens, after.cost_usd, after.event_count, after.last_seq) == (
        before.total_tokens,
        before.cost_usd,
        before.event_count,
        before.last_seq,
    )
    assert TokenUsage.objects.count() == usage_rows


def test_deleting_the_session_deletes_removed_events_for_good(project):
    session = conversation(project)
    events_clear(session=session)
    session_delete(session=session)
    assert not Event.objects.exists()
    assert not TokenUsage.objects.exists()
