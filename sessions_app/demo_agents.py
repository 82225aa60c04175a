"""Demo agents: real OpenAI Agents SDK agents driven by a scripted local model (no network).

The model decides from its input alone, so the same turns always produce the same items: a
triage agent hands refunds to a refunds agent and answers weather questions with a tool; the
refunds agent looks the order up with a tool and answers. Used by `simulate_agents` to make
realistic traffic, and by the integration tests to compare session backends.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

from agents import Agent, Model, ModelResponse, Usage, function_tool, set_tracing_disabled
from openai.types.responses import (
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseOutputText,
)

# The SDK would otherwise export traces to OpenAI's servers.
set_tracing_disabled(True)

MODEL_NAME = "gpt-4o-mini"


def _text(item: Any) -> str:
    content = item.get("content") if isinstance(item, dict) else None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _message(text: str, index: int) -> ResponseOutputMessage:
    return ResponseOutputMessage(
        id=f"msg_{index}",
        type="message",
        role="assistant",
        status="completed",
        content=[ResponseOutputText(type="output_text", text=text, annotations=[])],
    )


def _call(name: str, arguments: dict[str, Any], index: int) -> ResponseFunctionToolCall:
    return ResponseFunctionToolCall(
        id=f"fc_{index}",
        call_id=f"call_{index}",
        type="function_call",
        name=name,
        arguments=json.dumps(arguments),
        status="completed",
    )


class ScriptedModel(Model):
    """A `Model` that answers from its input deterministically, with plausible token usage."""

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[Any],
        model_settings: Any,
        tools: list[Any],
        output_schema: Any,
        handoffs: list[Any],
        tracing: Any,
        **kwargs: Any,
    ) -> ModelResponse:
        """One scripted model turn."""
        items = [{"role": "user", "content": input}] if isinstance(input, str) else list(input)
        output = self._decide(items, {t.name for t in tools}, [h.tool_name for h in handoffs])
        prompt_tokens = sum(len(json.dumps(i, default=str)) for i in items) // 4 + 20
        completion_tokens = sum(len(o.model_dump_json()) for o in output) // 8 + 5
        usage = Usage(
            requests=1,
            input_tokens=prompt_tokens,
            output_tokens=completion_tokens,
            total_tokens=prompt_tokens + completion_tokens,
        )
        return ModelResponse(output=output, usage=usage, response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        """Streaming is not scripted; the demo runs use `Runner.run`."""
        raise NotImplementedError("ScriptedModel does not stream")

    @staticmethod
    def _decide(
        items: list[Any], tools: set[str], handoffs: list[str], index: int | None = None
    ) -> list[Any]:
        # Ids come from the item's position, so every run of the same turns makes the same ids.
        index = len(items) if index is None else index
        last = items[-1] if items else {}
        if isinstance(last, dict) and last.get("type") == "function_call_output":
            output = str(last.get("output", ""))
            if output.startswith("{") and "assistant" in output:
                # Right after a handoff: the new agent greets and works on the user's request.
                user = next((_text(i) for i in reversed(items) if i.get("role") == "user"), "")
                return ScriptedModel._decide(
                    [{"role": "user", "content": user}], tools, [], index=index
                )
            return [_message(f"Here is what I found: {output}", index)]
        question = _text(last).lower()
        if "refund" in question:
            order = re.search(r"\d+", question)
            if "lookup_order" in tools:
                return [
                    _call("lookup_order", {"order_id": int(order.group()) if order else 0}, index)
                ]
            refunds = [h for h in handoffs if "refund" in h]
            if refunds:
                return [_call(refunds[0], {}, index)]
        if "weather" in question and "get_weather" in tools:
            city = question.rsplit(" in ", 1)[-1].strip(" ?.") or "paris"
            return [_call("get_weather", {"city": city.title()}, index)]
        return [_message(f"You said: {_text(last)[:80]}. How else can I help?", index)]


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"Sunny and 21 degrees in {city}"


@function_tool
def lookup_order(order_id: int) -> str:
    """An order's status."""
    return f"Order {order_id} shipped on Monday; a refund of $42 is possible."


def build_agents(model: Model | None = None) -> Agent[Any]:
    """The triage agent (with its refunds sub-agent), both on the scripted model."""
    model = model or ScriptedModel()
    refunds = Agent(
        name="refunds",
        instructions="Handle refund requests.",
        tools=[lookup_order],
        model=model,
    )
    return Agent(
        name="triage",
        instructions="Answer, use tools, hand refunds over.",
        tools=[get_weather],
        handoffs=[refunds],
        model=model,
    )


USER_TURNS = [
    "Hi there",
    "What is the weather in Paris?",
    "I want a refund for order 1042",
    "Thanks, that is all",
]
