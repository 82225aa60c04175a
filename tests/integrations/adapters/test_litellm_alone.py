"""The litellm callback records completions through a real server, with only litellm and the
client installed (no network: litellm's local price map and mock responses)."""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import asyncio
import time
from decimal import Decimal

import litellm
import pytest
from sessionscope_client.litellm_callback import SessionscopeLogger


@pytest.fixture
def recorder(client):
    litellm.logging_callback_manager._reset_all_callbacks()
    logger = SessionscopeLogger(client=client, background=False)
    litellm.callbacks = [logger]
    yield logger
    logger.close(timeout=1)
    litellm.logging_callback_manager._reset_all_callbacks()


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_calls_record_the_history_once_with_usage_and_cost(client, recorder, sid):
    history = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}]
    first = litellm.completion(
        model="gpt-4o-mini", messages=history, metadata={"session_id": sid}, mock_response="Hi!"
    )
    wait_for(lambda: recorder.batcher.pending >= 3)
    history += [{"role": "assistant", "content": "Hi!"}, {"role": "user", "content": "Thanks"}]
    litellm.completion(
        model="gpt-4o-mini", messages=history, metadata={"session_id": sid}, mock_response="Bye."
    )
    wait_for(lambda: recorder.batcher.pending >= 6)
    assert recorder.flush()

    events = list(client.iter_events(sid))
    assert [(e["role"], e["content"]) for e in events] == [
        ("system", "Be brief."),
        ("user", "Hello"),
        ("assistant", "Hi!"),
        ("user", "Thanks"),
        ("assistant", "Bye."),
    ]
    usage = events[2]["token_usage"]
    assert (usage["model"], usage["prompt_tokens"], usage["completion_tokens"]) == (
        "gpt-4o-mini",
        10,
        20,
    )
    expected = Decimal(str(litellm.completion_cost(completion_response=first)))
    assert Decimal(str(usage["cost_usd"])) == expected.quantize(Decimal("1e-10"))
    assert client.get_session(sid)["total_tokens"] == 60


def test_async_calls_are_recorded(client, recorder, sid):
    async def call():
        await litellm.acompletion(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "Async"}],
            mock_response="async answer",
            metadata={"session_id": sid},
        )
        await asyncio.sleep(0.5)

    asyncio.run(call())
    wait_for(lambda: recorder.batcher.pending >= 2)
    assert recorder.flush()
    assert list(client.iter_events(sid, fmt="openai_chat")) == [
        {"role": "user", "content": "Async"},
        {"role": "assistant", "content": "async answer"},
    ]
