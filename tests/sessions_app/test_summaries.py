"""Summaries: model calls through litellm's mock_response, retries, failures, the extractive
fallback, and a summary written exactly once however often its task runs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sessions_app import llm
from sessions_app import summaries as text
from sessions_app.errors import InvalidInput
from sessions_app.models import Event, Summary
from sessions_app.services import summaries as service
from sessions_app.services.sessions import session_upsert

from .chat_format import append, assistant, call, result, user

MOCK = "The user asked about order 42; it ships Monday."


@pytest.fixture
def session(project):
    return append(
        project,
        "conv",
        user("conv-u1", "Where is my order 42? It was due Friday."),
        assistant("conv-a1", "Let me check."),
        call("conv-c1", "conv-a1", "call_1", "lookup_order", {"id": 42}),
        result("conv-r1", "call_1", "timeout", error=True, name="lookup_order"),
        assistant("conv-a2", "Order 42 ships Monday. Sorry for the delay."),
        user("conv-u2", "Can I change the address?"),
        assistant("conv-a3", "Yes, until it ships. Use the account page."),
    )


@pytest.fixture
def no_credentials(monkeypatch):
    for name in ("OPENAI_API_KEY", "AZURE_API_KEY", text.MOCK_RESPONSE_ENV):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def mock_model(monkeypatch):
    monkeypatch.setenv(text.MOCK_RESPONSE_ENV, MOCK)


def request(session, django_capture_on_commit_callbacks, **kw):
    with django_capture_on_commit_callbacks(execute=True):
        summary = service.summary_request(session=session, **kw)
    summary.refresh_from_db()
    return summary


def summary_events(session):
    return list(Event.objects.filter(session=session, type=Event.Type.SUMMARY))


def test_a_model_summary_is_stored_with_usage_cost_and_a_summary_event(
    session, mock_model, django_capture_on_commit_callbacks
):
    s = request(
        session, django_capture_on_commit_callbacks, strategy="key_points", model="gpt-4o-mini"
    )
    assert s.status == Summary.Status.SUCCEEDED and not s.extractive
    assert s.text == MOCK
    # litellm's mock always reports 10 prompt / 20 completion tokens.
    assert (s.prompt_tokens, s.completion_tokens, s.total_tokens) == (10, 20, 30)
    assert s.cost_usd > Decimal(0)
    assert s.covers_up_to_seq == 7 and s.attempts == 1
    [event] = summary_events(session)
    assert event.pk == s.event_id and event.external_id == f"summary-{s.pk}"
    assert event.content == MOCK and event.metadata["strategy"] == "key_points"
    assert event.usage.total_tokens == 30
    session.refresh_from_db()
    assert session.last_seq == 8


def test_the_prompt_carries_the_strategy_instruction_and_the_transcript(
    session, monkeypatch, mock_model
):
    seen = {}
    real = llm.completion

    def spy(**kw):
        seen.update(kw)
        return real(**kw)

    monkeypatch.setattr(llm, "completion", spy)
    s = service.summary_create(session=session, strategy="query_focused", query="address")
    service.summary_run(summary_id=s.pk)
    system, convo = seen["messages"]
    assert system["content"].startswith(text.INSTRUCTIONS["query_focused"])
    assert "address" in system["content"]
    assert "User: Where is my order 42?" in convo["content"]
    assert "Tool lookup_order (error): timeout" in convo["content"]


def test_a_transient_failure_is_retried_by_the_task_and_then_succeeds(
    session, monkeypatch, mock_model
):
    import litellm

    from sessions_app.tasks.summaries import summary_run_task

    real = llm.completion
    calls = []

    def flaky(**kw):
        calls.append(1)
        if len(calls) == 1:
            raise litellm.RateLimitError("slow down", llm_provider="openai", model="gpt-4o-mini")
        return real(**kw)

    monkeypatch.setattr(llm, "completion", flaky)
    s = service.summary_create(session=session, model="gpt-4o-mini")
    # apply() runs the task here; a Retry re-runs it eagerly (backoff is not waited for).
    summary_run_task.apply(args=[s.pk], throw=False)
    s.refresh_from_db()
    assert len(calls) == 2
    assert s.status == Summary.Status.SUCCEEDED and s.attempts == 2 and s.error == ""
    assert len(summary_events(session)) == 1


def test_a_permanent_failure_marks_the_summary_failed_with_the_reason(
    session, monkeypatch, mock_model, django_capture_on_commit_callbacks
):
    import litellm

    def denied(**kw):
        raise litellm.AuthenticationError("invalid api key", llm_provider="openai", model="x")

    monkeypatch.setattr(llm, "completion", denied)
    s = request(session, django_capture_on_commit_callbacks, model="gpt-4o-mini")
    assert s.status == Summary.Status.FAILED
    assert "AuthenticationError" in s.error and "invalid api key" in s.error
    assert s.finished_at is not None and s.attempts == 1
    assert summary_events(session) == []


def test_transient_failures_give_up_after_the_last_retry(session, monkeypatch, mock_model):
    import litellm

    def down(**kw):
        raise litellm.ServiceUnavailableError("503", llm_provider="openai", model="x")

    monkeypatch.setattr(llm, "completion", down)
    s = service.summary_create(session=session)
    with pytest.raises(service.TransientSummaryError):
        service.summary_run(summary_id=s.pk, final_attempt=False)
    s.refresh_from_db()
    assert s.status == Summary.Status.RUNNING and "Retrying after" in s.error
    service.summary_run(summary_id=s.pk, final_attempt=True)
    s.refresh_from_db()
    assert s.status == Summary.Status.FAILED and s.error.startswith("Gave up after 2 attempts")


def test_without_credentials_the_extractive_summarizer_runs_and_says_so(
    session, no_credentials, django_capture_on_commit_callbacks
):
    assert not text.credentials_available("gpt-4o-mini")
    s = request(session, django_capture_on_commit_callbacks, strategy="query_focused")
    assert s.status == Summary.Status.SUCCEEDED and s.extractive
    assert s.text.startswith("Q: Where is my order 42?")
    assert "A: Order 42 ships Monday." in s.text
    assert s.total_tokens == 0 and s.cost_usd == 0
    [event] = summary_events(session)
    assert event.metadata["extractive"] is True and event.metadata["model"] == "extractive"
    assert not hasattr(event, "usage") or Event.objects.filter(pk=event.pk, usage__isnull=False)


def test_credentials_in_the_environment_enable_the_model(monkeypatch, no_credentials):
    assert not text.credentials_available("gpt-4o-mini")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-used")
    assert text.credentials_available("gpt-4o-mini")


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("basic", "The user asked: Where is my order 42?"),
        ("key_points", "- Where is my order 42?"),
        ("topic_based", "Can I change the address?\n- Yes, until it ships."),
        ("query_focused", "Q: Can I change the address?\nA: Yes, until it ships."),
    ],
)
def test_each_extractive_strategy_takes_sentences_from_the_conversation(
    session, strategy, expected
):
    lines = text.lines_of(session.events.order_by("seq"))
    assert expected in text.extractive_summary(strategy, lines)


def test_a_rerun_after_success_writes_nothing_again(session, mock_model):
    s = service.summary_create(session=session)
    service.summary_run(summary_id=s.pk)
    assert service.summary_run(summary_id=s.pk) is None
    s.refresh_from_db()
    assert s.attempts == 1 and len(summary_events(session)) == 1


def test_a_worker_dying_mid_task_is_finished_once_by_the_rerun(session, mock_model):
    s = service.summary_create(session=session)
    # The first worker marked it running and died before writing anything.
    Summary.objects.filter(pk=s.pk).update(status=Summary.Status.RUNNING, attempts=1)
    service.summary_run(summary_id=s.pk)
    s.refresh_from_db()
    assert s.status == Summary.Status.SUCCEEDED and s.attempts == 2
    assert len(summary_events(session)) == 1


def test_a_crash_between_the_event_and_the_status_leaves_neither(session, mock_model, monkeypatch):
    s = service.summary_create(session=session)
    real_save = Summary.save

    def crash(self, *a, **kw):
        if self.status == Summary.Status.SUCCEEDED:
            raise RuntimeError("worker lost")
        return real_save(self, *a, **kw)

    monkeypatch.setattr(Summary, "save", crash)
    with pytest.raises(RuntimeError):
        service.summary_run(summary_id=s.pk)
    assert summary_events(session) == []
    monkeypatch.setattr(Summary, "save", real_save)
    service.summary_run(summary_id=s.pk)
    assert len(summary_events(session)) == 1


def test_two_runs_racing_store_one_event(session, mock_model):
    s = service.summary_create(session=session)
    first = service._start(s.pk)
    assert first is not None
    result_a = service._generate(first, text.mock_options())
    result_b = service._generate(first, text.mock_options())
    assert service._finish(s.pk, result_a) is not None
    assert service._finish(s.pk, result_b) is None
    assert len(summary_events(session)) == 1


def test_bad_requests_are_refused_and_store_nothing(session, project):
    with pytest.raises(InvalidInput) as err:
        service.summary_request(session=session, strategy="haiku")
    assert err.value.field == "strategy"
    with pytest.raises(InvalidInput) as err:
        service.summary_request(session=session, query="x" * 3000)
    assert err.value.field == "query"
    empty, _ = session_upsert(project=project, external_id="empty", fields={})
    with pytest.raises(InvalidInput) as err:
        service.summary_request(session=empty)
    assert err.value.field == "session"
    assert not Summary.objects.exists()
