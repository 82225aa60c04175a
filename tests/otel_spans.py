"""A scripted, tool-using GenAI conversation emitted as real OpenTelemetry SDK spans.

Two user turns in one conversation: the model asks for a tool, the tool runs, the model
answers; then a follow-up question. Every model call repeats the whole history in its input,
as instrumentations do. Times are fixed (2026-01-05 10:00 UTC onwards), so latencies are exact.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import Status, StatusCode, set_span_in_context

T0 = int(datetime(2026, 1, 5, 10, 0, tzinfo=UTC).timestamp() * 1e9)
MS = 1_000_000

SYSTEM = "You are a weather assistant."
Q1 = "What is the weather in Paris?"
A1 = "It is 18C and sunny in Paris."
Q2 = "And should I take an umbrella?"
A2 = "No umbrella needed today."
CALL = {"type": "tool_call", "id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}
RESULT = "18C, sunny"


def _text(role: str, text: str) -> dict[str, Any]:
    return {"role": role, "parts": [{"type": "text", "content": text}]}


def history(turn: int) -> list[dict[str, Any]]:
    """What the model call of step `turn` (1..3) receives as gen_ai.input.messages."""
    messages = [_text("user", Q1)]
    if turn >= 2:
        messages.append({"role": "assistant", "parts": [CALL]})
        messages.append(
            {
                "role": "tool",
                "parts": [{"type": "tool_call_response", "id": "call_1", "response": RESULT}],
            }
        )
    if turn >= 3:
        messages += [_text("assistant", A1), _text("user", Q2)]
    return messages


def emit_conversation(
    exporter: SpanExporter,
    *,
    conversation: str = "conv-1",
    reverse: bool = False,
    processor: type = SimpleSpanProcessor,
) -> None:
    """Emit the conversation's spans through `exporter` (by default one export per span ended;
    pass BatchSpanProcessor to export as applications do).

    With `reverse`, the second turn's spans are ended (exported) before the first turn's.
    """
    provider = TracerProvider(resource=Resource.create({"service.name": "weather-bot"}))
    provider.add_span_processor(processor(exporter))
    tracer = provider.get_tracer("tests.otel")
    common = {"gen_ai.conversation.id": conversation, "user.id": "user-7"}
    outputs = [
        ([{"role": "assistant", "parts": [CALL]}], (120, 15)),
        ([_text("assistant", A1)], (160, 12)),
        ([_text("assistant", A2)], (190, 8)),
    ]
    ended: list[tuple[Any, int]] = []
    t = T0
    for turn_index, steps in enumerate(([1, 2], [3])):
        agent = tracer.start_span(
            "invoke_agent weather", start_time=t,
            attributes={**common, "gen_ai.operation.name": "invoke_agent",
                        "gen_ai.agent.name": "weather"},
        )  # fmt: skip
        ctx = set_span_in_context(agent)
        for step in steps:
            output, (tokens_in, tokens_out) = outputs[step - 1]
            chat = tracer.start_span(
                "chat gpt-4o-mini", context=ctx, start_time=t + 10 * MS,
                attributes={**common, "gen_ai.operation.name": "chat",
                            "gen_ai.request.model": "gpt-4o-mini",
                            "gen_ai.system_instructions": json.dumps(
                                [{"type": "text", "content": SYSTEM}]),
                            "gen_ai.input.messages": json.dumps(history(step)),
                            "gen_ai.output.messages": json.dumps(output),
                            "gen_ai.usage.input_tokens": tokens_in,
                            "gen_ai.usage.output_tokens": tokens_out},
            )  # fmt: skip
            ended.append((chat, t + 10 * MS + 400 * MS))  # 400 ms model calls
            t += 500 * MS
            if step == 1:
                tool = tracer.start_span(
                    "execute_tool get_weather", context=ctx, start_time=t,
                    attributes={"gen_ai.operation.name": "execute_tool",
                                "gen_ai.tool.name": "get_weather",
                                "gen_ai.tool.call.id": "call_1",
                                "gen_ai.tool.call.arguments": '{"city": "Paris"}',
                                "gen_ai.tool.call.result": RESULT},
                )  # fmt: skip
                ended.append((tool, t + 250 * MS))  # a 250 ms tool call
                t += 300 * MS
        ended.append((agent, t))
        t += 60_000 * MS  # the user thinks for a minute
        if turn_index == 0:
            first_turn = len(ended)
    if reverse:
        ended = ended[first_turn:] + ended[:first_turn]
    for span, end in ended:
        span.end(end_time=end)
    provider.shutdown()


def failing_tool_span(exporter: SpanExporter, conversation: str = "conv-err") -> None:
    """One tool call that failed, inside an agent turn that failed."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("tests.otel")
    agent = tracer.start_span(
        "invoke_agent weather", start_time=T0,
        attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "weather",
                    "gen_ai.conversation.id": conversation},
    )  # fmt: skip
    tool = tracer.start_span(
        "execute_tool get_weather", context=set_span_in_context(agent), start_time=T0 + MS,
        attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "get_weather",
                    "gen_ai.tool.call.id": "call_9"},
    )  # fmt: skip
    tool.set_status(Status(StatusCode.ERROR, "weather service timed out"))
    tool.end(end_time=T0 + 31 * MS)
    agent.set_status(Status(StatusCode.ERROR, "tool failed"))
    agent.end(end_time=T0 + 40 * MS)
    provider.shutdown()
