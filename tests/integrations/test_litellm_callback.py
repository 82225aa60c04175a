"""The litellm callback records sync, async and streaming completions with usage and cost, and
never disturbs the caller when Sessionscope is down."""

from __future__ import annotations

import asyncio
import socket
import time
from decimal import Decimal

import pytest
from sessionscope_client import SessionscopeClient
from sessionscope_client.litellm_callback import SessionscopeLogger

from sessions_app.llm import _litellm
from sessions_app.models import AgentSession, Event, TokenUsage

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def litellm():
    module = _litellm()
    # litellm copies `callbacks` into its per-event lists on the first call and keeps one
    # logger per class there: reset them so each test's logger is the one called.
    module.logging_callback_manager._reset_all_callbacks()
    yield module
    module.logging_callback_manager._reset_all_callbacks()


@pytest.fixture
def recorder(litellm, client):
    logger = SessionscopeLogger(client=client, background=False)
    litellm.callbacks = [logger]
    yield logger
    logger.close(timeout=1)


def wait_for(condition, timeout: float = 5.0) -> None:
    """litellm calls success callbacks of streams and async calls from its own threads/tasks."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def ask(litellm, messages, session: str, **kwargs):
    return litellm.completion(
        model="gpt-4o-mini", messages=messages, metadata={"session_id": session}, **kwargs
    )


def test_sync_calls_record_messages_response_usage_and_cost(litellm, recorder):
    history = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hello"},
    ]
    first = ask(litellm, history, "chat-1", mock_response="Hi! How can I help?")
    # litellm runs success callbacks on a thread pool: with an instant mock response the second
    # call's callback could run before the first's, and the reply would be recorded twice (see
    # docs/integrations.md, "Limits"). A real model's latency keeps them in order.
    wait_for(lambda: recorder.batcher.pending >= 3)
    history += [
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": "Thanks"},
    ]
    ask(litellm, history, "chat-1", mock_response="You are welcome.")
    wait_for(lambda: recorder.batcher.pending >= 6)
    assert recorder.flush()

    session = AgentSession.objects.get(external_id="chat-1")
    events = list(Event.objects.filter(session=session).order_by("seq"))
    # The second call's history is not stored again.
    assert [(e.role, e.content) for e in events] == [
        ("system", "Be brief."),
        ("user", "Hello"),
        ("assistant", "Hi! How can I help?"),
        ("user", "Thanks"),
        ("assistant", "You are welcome."),
    ]
    usage = TokenUsage.objects.get(event=events[2])
    assert (usage.model, usage.prompt_tokens, usage.completion_tokens) == ("gpt-4o-mini", 10, 20)
    assert usage.cost_source == TokenUsage.CostSource.REPORTED
    expected = litellm.completion_cost(completion_response=first)
    assert usage.cost_usd == Decimal(str(expected)).quantize(Decimal("1e-10"))
    assert session.total_tokens == 60


def test_tool_calls_in_the_response_are_recorded(litellm, recorder):
    call = {
        "id": "call_9",
        "type": "function",
        "function": {"name": "lookup", "arguments": '{"id": 9}'},
    }
    ask(
        litellm,
        [{"role": "user", "content": "Order 9?"}],
        "chat-tools",
        mock_response="",
        mock_tool_calls=[call],
    )
    wait_for(lambda: recorder.batcher.pending >= 2)
    assert recorder.flush()
    tool_call = Event.objects.get(session__external_id="chat-tools", type=Event.Type.TOOL_CALL)
    assert (tool_call.name, tool_call.tool_call_id, tool_call.content) == (
        "lookup",
        "call_9",
        '{"id": 9}',
    )


def test_streaming_and_async_calls_are_recorded(litellm, recorder):
    stream = ask(
        litellm,
        [{"role": "user", "content": "Stream it"}],
        "chat-stream",
        mock_response="streamed answer",
        stream=True,
    )
    assert "".join(chunk.choices[0].delta.content or "" for chunk in stream) == "streamed answer"

    async def both():
        await litellm.acompletion(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "Async"}],
            mock_response="async answer",
            metadata={"session_id": "chat-async"},
        )
        stream = await litellm.acompletion(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "Async stream"}],
            mock_response="async streamed",
            stream=True,
            metadata={"session_id": "chat-astream"},
        )
        async for _ in stream:
            pass
        await asyncio.sleep(0.5)

    asyncio.run(both())
    wait_for(lambda: recorder.batcher.pending >= 6)
    assert recorder.flush()
    for session, answer in [
        ("chat-stream", "streamed answer"),
        ("chat-async", "async answer"),
        ("chat-astream", "async streamed"),
    ]:
        reply = Event.objects.get(session__external_id=session, role="assistant")
        assert reply.content == answer
        usage = reply.usage
        assert usage.total_tokens > 0 and usage.cost_usd > 0
        assert usage.cost_source == TokenUsage.CostSource.REPORTED


def test_the_caller_is_unaffected_when_sessionscope_is_down(litellm, db):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = SessionscopeClient(
        f"http://127.0.0.1:{port}", "ss_key", timeout=0.5, max_retries=1, backoff=0.01
    )
    logger = SessionscopeLogger(client=down, flush_interval=0.05, max_pending=3)
    litellm.callbacks = [logger]

    started = time.monotonic()
    answers = [
        ask(litellm, [{"role": "user", "content": f"q{i}"}], "down", mock_response="ok")
        for i in range(3)
    ]
    assert time.monotonic() - started < 2
    assert all(a.choices[0].message.content == "ok" for a in answers)

    # Success callbacks of sync calls run on litellm's threads: wait for all six events.
    wait_for(lambda: logger.batcher.dropped + logger.batcher.pending >= 6)
    assert logger.batcher.pending == 3  # bounded: the oldest were dropped, and counted
    assert logger.batcher.dropped == 3
    assert logger.flush() is False
    logger.close(timeout=1.5)
    assert not Event.objects.exists()
