"""The OpenAI Agents SDK, traced by openinference-instrumentation-openai-agents and exported
over OTLP/HTTP: a multi-turn, tool-using conversation lands as one session.

The model is the SDK's own OpenAIResponsesModel on an OpenAI client whose HTTP transport
answers from the demo's scripted model, so the SDK records its usual response spans."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from agents import OpenAIResponsesModel, Runner, set_trace_processors, set_tracing_disabled
from openai import AsyncOpenAI
from openinference.instrumentation import using_session, using_user
from openinference.instrumentation.openai_agents import OpenAIAgentsInstrumentor
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from sessions_app.demo_agents import ScriptedModel, build_agents
from sessions_app.models import AgentSession, Event, Run

pytestmark = pytest.mark.django_db(transaction=True)

TURNS = ["Hi there", "What is the weather in Paris?", "Thanks, that is all"]


@pytest.fixture
def instrumented(server, monkeypatch):
    url, token = server
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"{url}/api/otel")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", f"Authorization=Bearer {token}")
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    # Only the OpenInference processor: the SDK's own would export to OpenAI's servers.
    set_trace_processors([])
    set_tracing_disabled(False)
    OpenAIAgentsInstrumentor().instrument(tracer_provider=provider)
    yield provider
    OpenAIAgentsInstrumentor().uninstrument()
    set_trace_processors([])
    set_tracing_disabled(True)
    provider.shutdown()


def scripted_responses_api(request: httpx.Request) -> httpx.Response:
    """OpenAI's Responses endpoint, answered by the demo's scripted model (no network)."""
    body = json.loads(request.content)
    items = (
        body["input"]
        if isinstance(body["input"], list)
        else [{"role": "user", "content": body["input"]}]
    )
    tools = {t.get("name") for t in body.get("tools", [])}
    output = ScriptedModel._decide(items, tools, [])
    prompt = len(request.content) // 4
    completion = sum(len(o.model_dump_json()) for o in output) // 8 + 5
    return httpx.Response(200, json={
        "id": f"resp_{len(items)}", "object": "response", "created_at": 1767607200,
        "model": body["model"], "status": "completed", "parallel_tool_calls": True,
        "tool_choice": "auto", "tools": [], "output": [o.model_dump() for o in output],
        "usage": {"input_tokens": prompt, "output_tokens": completion,
                  "total_tokens": prompt + completion,
                  "input_tokens_details": {"cached_tokens": 0},
                  "output_tokens_details": {"reasoning_tokens": 0}},
    })  # fmt: skip


async def converse() -> list[str]:
    client = AsyncOpenAI(
        api_key="sk-test",
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(scripted_responses_api)),
    )
    agent = build_agents(OpenAIResponsesModel(model="gpt-4o-mini", openai_client=client))
    history: list = []
    outputs = []
    for turn in TURNS:
        result = await Runner.run(agent, [*history, {"role": "user", "content": turn}])
        history = result.to_input_list()
        outputs.append(result.final_output)
    return outputs


def test_a_conversation_of_several_runs_is_one_session(instrumented):
    with using_session("agents-1"), using_user("user-3"):
        outputs = asyncio.run(converse())
    instrumented.force_flush()

    session = AgentSession.objects.get(external_id="agents-1")
    events = list(Event.objects.filter(session=session).select_related("usage").order_by("seq"))
    texts = [e.content for e in events if e.type == "message" and e.role in ("user", "assistant")]
    assert [t for t in texts if t] == [
        "Hi there",
        outputs[0],
        "What is the weather in Paris?",
        outputs[1],
        "Thanks, that is all",
        outputs[2],
    ]
    assert [(e.type, e.name) for e in events if e.type in ("tool_call", "tool_result")] == [
        ("tool_call", "get_weather"),
        ("tool_result", "get_weather"),
    ]
    result = next(e for e in events if e.type == "tool_result")
    assert result.content == "Sunny and 21 degrees in Paris"
    assert result.duration_ms is not None
    model_calls = [e for e in events if hasattr(e, "usage") and e.usage is not None]
    assert len(model_calls) == 4  # one call per turn, plus the one after the tool
    assert all(e.duration_ms is not None and e.span_id for e in model_calls)
    assert session.user_ref == "user-3"
    assert session.prompt_tokens == sum(e.usage.prompt_tokens for e in model_calls) > 0
    assert Run.objects.filter(session=session).count() >= 3
