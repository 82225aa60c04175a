"""Infinite conversations: crossing a project's threshold summarizes the session into a
segment; the agent keeps posting to the old id and its events land in the segment."""

from __future__ import annotations

import pytest

from sessions_app import prompts
from sessions_app import summaries as text
from sessions_app.inputs import EventInput, UsageInput
from sessions_app.models import AgentSession, Event, Summary
from sessions_app.services.events import events_append
from sessions_app.services.segments import segment_open, session_current

from .chat_format import assistant, user, validate_chat


@pytest.fixture(autouse=True)
def extractive(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv(text.MOCK_RESPONSE_ENV, raising=False)


def post(project, sid, *events, capture):
    with capture(execute=True):
        session, results = events_append(
            project=project, session_external_id=sid, events=list(events)
        )
    return session, results


def turns(prefix, n, start=0):
    return [
        user(f"{prefix}-{i}", f"question {i}")
        if i % 2 == 0
        else assistant(f"{prefix}-{i}", f"answer {i}.")
        for i in range(start, start + n)
    ]


def test_crossing_the_turn_limit_summarizes_and_opens_a_segment(
    project, django_capture_on_commit_callbacks
):
    project.segment_turn_limit = 4
    project.save()
    session, _ = post(project, "chat", *turns("a", 3), capture=django_capture_on_commit_callbacks)
    assert not Summary.objects.exists() and session.continued_in_id is None

    post(project, "chat", *turns("a", 1, start=3), capture=django_capture_on_commit_callbacks)

    session = AgentSession.objects.get(external_id="chat")
    summary = Summary.objects.get()
    assert summary.status == Summary.Status.SUCCEEDED and summary.extractive
    assert summary.covers_up_to_seq == 4
    segment = session.continued_in
    assert segment is not None and summary.segment_id == segment.pk
    assert segment.kind == AgentSession.Kind.SEGMENT and segment.parent_id == session.pk
    summary_event = Event.objects.get(session=session, type=Event.Type.SUMMARY)
    assert summary_event.seq == 5 and summary.event_id == summary_event.pk


def test_posting_to_the_old_id_afterwards_lands_in_the_segment(
    project, django_capture_on_commit_callbacks
):
    project.segment_turn_limit = 2
    project.save()
    post(project, "chat", *turns("a", 2), capture=django_capture_on_commit_callbacks)
    segment = AgentSession.objects.get(external_id="chat").continued_in

    landed, results = post(
        project, "chat", user("b-0", "next question"), capture=django_capture_on_commit_callbacks
    )

    assert landed.pk == segment.pk and results[0].seq == 1
    assert Event.objects.get(external_id="b-0").session_id == segment.pk
    assert session_current(AgentSession.objects.get(external_id="chat")).pk == segment.pk


def test_the_token_threshold_triggers_segmentation_too(project, django_capture_on_commit_callbacks):
    project.segment_token_threshold = 1000
    project.save()
    big = EventInput(
        external_id="big",
        source="llm",
        role="assistant",
        content="long answer.",
        usage=UsageInput(model="gpt-4o", prompt_tokens=900, completion_tokens=200),
    )
    post(project, "chat", user("u", "hi"), big, capture=django_capture_on_commit_callbacks)
    assert AgentSession.objects.get(external_id="chat").continued_in_id is not None


def test_without_thresholds_nothing_is_segmented(project, django_capture_on_commit_callbacks):
    post(project, "chat", *turns("a", 30), capture=django_capture_on_commit_callbacks)
    assert not Summary.objects.exists()
    assert AgentSession.objects.get(external_id="chat").continued_in_id is None


def test_a_chain_of_segments_gives_context_oldest_first(
    project, django_capture_on_commit_callbacks
):
    project.segment_turn_limit = 2
    project.save()
    post(
        project,
        "chat",
        user("a-0", "first topic"),
        assistant("a-1", "first answer."),
        capture=django_capture_on_commit_callbacks,
    )
    post(
        project,
        "chat",
        user("b-0", "second topic"),
        assistant("b-1", "second answer."),
        capture=django_capture_on_commit_callbacks,
    )
    post(project, "chat", user("c-0", "third topic"), capture=django_capture_on_commit_callbacks)

    root = AgentSession.objects.get(external_id="chat")
    current = session_current(root)
    assert current.depth == 2
    p = prompts.build_context(current, model="gpt-4o")
    validate_chat(p.messages)
    system = p.messages[0]["content"]
    assert system.startswith(prompts.CONTEXT_PREFIX)
    assert system.index("first topic") < system.index("second topic")
    assert p.messages[-1] == {"role": "user", "content": "third topic"}


def test_opening_the_segment_again_is_a_no_op(project, django_capture_on_commit_callbacks):
    project.segment_turn_limit = 2
    project.save()
    post(project, "chat", *turns("a", 2), capture=django_capture_on_commit_callbacks)
    summary = Summary.objects.get()
    first = AgentSession.objects.get(external_id="chat").continued_in_id
    assert segment_open(summary_id=summary.pk).pk == first
    assert AgentSession.objects.filter(kind=AgentSession.Kind.SEGMENT).count() == 1


def test_a_long_chain_keeps_short_ids_and_numbered_titles(
    project, django_capture_on_commit_callbacks
):
    project.segment_turn_limit = 2
    project.save()
    for round_ in range(4):
        post(project, "chat", *turns(f"r{round_}", 2), capture=django_capture_on_commit_callbacks)

    chain = list(AgentSession.objects.filter(external_id__startswith="chat").order_by("depth"))
    assert len(chain) == 5
    base = chain[0]
    for part, segment in enumerate(chain[1:], start=2):
        assert segment.external_id.startswith("chat~seg-")
        assert segment.external_id.count("~seg-") == 1
        assert segment.title == f"{base.display_title} (continued, part {part})"
