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


# -- the agent's view everywhere: search, find, segmentation, summaries ----------------------


def test_the_list_search_finds_and_counts_only_what_the_agent_kept(project):
    from sessions_app.selectors.search import search_scope, session_ids_matching

    kept = conversation(project, "kept")
    popped = conversation(project, "popped")
    event_pop_last(session=popped)  # "Second answer" leaves popped's conversation
    found = [r["session_id"] for r in session_ids_matching(project, "Second answer")]
    assert found == [kept.pk]
    assert search_scope(project, "Second answer").session_ids == [kept.pk]
    events_clear(session=kept)
    assert list(session_ids_matching(project, "answer")) == [{"session_id": popped.pk}]


def test_find_in_a_session_shows_removed_hits_only_with_the_removed_events(project):
    from sessions_app.selectors import transcript

    session = conversation(project)
    event_pop_last(session=session)
    hits, _ = transcript.find_in_session(session, "answer")
    assert [h.seq for h in hits] == [2]
    hits, _ = transcript.find_in_session(session, "answer", show_removed=True)
    assert [h.seq for h in hits] == [2, 4]
    assert transcript.hit_seq_after(session, "answer", 2) is None
    assert transcript.hit_seq_after(session, "answer", 2, show_removed=True) == 4
    assert transcript.hit_seq_before(session, "Second answer", 5) is None
    assert transcript.hit_seq_before(session, "Second answer", 5, show_removed=True) == 4


def test_popped_messages_do_not_count_towards_the_segmentation_turn_limit(project):
    from sessions_app.services.segments import session_over_thresholds

    project.segment_turn_limit = 4
    project.save()
    session = conversation(project)
    assert session_over_thresholds(project=project, session=session)
    event_pop_last(session=session)
    session.refresh_from_db()
    assert not session_over_thresholds(project=project, session=session)


def test_a_summary_reads_the_conversation_the_agent_kept(project):
    from sessions_app.models import Summary
    from sessions_app.services.summaries import _lines

    session = conversation(project)
    event_pop_last(session=session)
    summary = Summary.objects.create(
        project=project, session=session, model="gpt-4o", covers_up_to_seq=4
    )
    said = " ".join(str(line) for line in _lines(summary))
    assert "Second question" in said
    assert "Second answer" not in said
