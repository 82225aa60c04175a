"""litellm's own OpenTelemetry callback ("otel"), unchanged, with mock responses: a tool-using
conversation exported over OTLP/HTTP lands as one session, each message once."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from sessions_app.models import AgentSession, Event, TokenUsage

pytestmark = pytest.mark.django_db(transaction=True)

CALL = {
    "id": "call_w1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": json.dumps({"city": "Paris"})},
}


@pytest.fixture
def otel_litellm(server, monkeypatch):
    """litellm's OTel callback on the application's tracer provider, which exports over
    OTLP/HTTP as configured by the two environment variables of docs/otel.md."""
    from litellm.integrations.opentelemetry import OpenTelemetry

    from sessions_app.llm import _litellm

    url, token = server
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"{url}/api/otel")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", f"Authorization=Bearer {token}")
    # A span of litellm's own per call, under the application's conversation span.
    monkeypatch.setenv("USE_OTEL_LITELLM_REQUEST_SPAN", "true")
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    litellm = _litellm()
    litellm.logging_callback_manager._reset_all_callbacks()
    litellm.callbacks = [OpenTelemetry(tracer_provider=provider)]
    yield litellm, provider
    litellm.logging_callback_manager._reset_all_callbacks()
    provider.shutdown()


async def converse(litellm) -> str:
    """Three calls: the model asks for the tool, answers with its result, answers a follow-up.
    Returns the first answer's text (litellm's mock puts text beside the tool call)."""
    messages = [
        {"role": "system", "content": "You answer about weather."},
        {"role": "user", "content": "Weather in Paris?"},
    ]
    first = await litellm.acompletion(
        model="gpt-4o-mini", messages=messages, mock_tool_calls=[CALL]
    )
    assert first.choices[0].message.tool_calls
    text = first.choices[0].message.content or ""
    messages.append({"role": "assistant", "content": text, "tool_calls": [CALL]})
    messages.append({"role": "tool", "tool_call_id": "call_w1", "content": "18C, sunny"})
    await litellm.acompletion(
        model="gpt-4o-mini", messages=messages, mock_response="18C and sunny."
    )
    messages += [
        {"role": "assistant", "content": "18C and sunny."},
        {"role": "user", "content": "Umbrella?"},
    ]
    await litellm.acompletion(model="gpt-4o-mini", messages=messages, mock_response="No.")
    # litellm logs an async call from a task of its own: let them run inside the conversation.
    await asyncio.sleep(0.5)
    return text


def test_a_tool_using_conversation_lands_as_one_session(otel_litellm):
    litellm, provider = otel_litellm
    conversation = provider.get_tracer("app").start_as_current_span(
        "conversation", attributes={"gen_ai.conversation.id": "lite-1", "user.id": "u-42"}
    )
    with conversation:
        # Async calls: litellm's logging then runs in tasks that inherit the caller's context
        # (its current span); sync calls log from a thread pool that does not always see it.
        first_text = asyncio.run(converse(litellm))
    # litellm runs its success callbacks on a worker thread after each call returns.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not Event.objects.filter(content="No.").exists():
        provider.force_flush()
        time.sleep(0.2)

    session = AgentSession.objects.get(external_id="lite-1")
    events = list(Event.objects.filter(session=session).order_by("seq"))
    assert [(e.type, e.role, e.content) for e in events] == [
        ("message", "system", "You answer about weather."),
        ("message", "user", "Weather in Paris?"),
        ("message", "assistant", first_text),
        ("tool_call", "assistant", '{"city": "Paris"}'),
        ("tool_result", "tool", "18C, sunny"),
        ("message", "assistant", "18C and sunny."),
        ("message", "user", "Umbrella?"),
        ("message", "assistant", "No."),
    ]
    assert session.user_ref == "u-42"
    calls = [e for e in events if e.duration_ms is not None]
    assert len(calls) == 3 and all(e.span_id and e.trace_id for e in calls)
    usage = TokenUsage.objects.filter(session=session)
    assert [(u.prompt_tokens, u.completion_tokens) for u in usage] == [(10, 20)] * 3
    assert session.cost_usd > 0
