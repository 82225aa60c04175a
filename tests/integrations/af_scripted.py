"""A scripted Agent Framework chat client with the framework's own telemetry and function
invocation layers, as its shipped clients are composed (no network)."""

from __future__ import annotations

from agent_framework import (
    BaseChatClient,
    ChatResponse,
    Content,
    FunctionInvocationLayer,
    Message,
    UsageDetails,
)
from agent_framework.observability import ChatTelemetryLayer


class ScriptedChatClient(FunctionInvocationLayer, ChatTelemetryLayer, BaseChatClient):
    """Asks for the weather tool when the user asks about weather, then answers with its result."""

    OTEL_PROVIDER_NAME = "scripted"
    calls = 0

    async def _inner_get_response(self, *, messages, stream, options, **kwargs):
        last = messages[-1]
        results = [c for c in last.contents if c.type == "function_result"]
        if results:
            reply = Message(role="assistant", contents=[f"It is {results[0].result}."])
        elif "weather" in (last.text or "").lower():
            ScriptedChatClient.calls += 1  # call ids are unique, as a provider's are
            call = Content.from_function_call(
                call_id=f"call_{ScriptedChatClient.calls}",
                name="get_weather",
                arguments={"city": "Paris"},
            )
            reply = Message(role="assistant", contents=[call])
        else:
            reply = Message(role="assistant", contents=[f"You said: {last.text}"])
        usage = UsageDetails(input_token_count=40 + 10 * len(messages), output_token_count=7)
        return ChatResponse(messages=[reply], usage_details=usage, model="gpt-4o-mini")
