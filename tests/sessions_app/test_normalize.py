"""Normalizers map real SDK-shaped items to our events and keep the item as the payload.

Items are built with the SDKs' own types: openai's chat and Responses params/models, the
OpenAI Agents SDK's `TResponseInputItem`, and Agent Framework's `Message.to_dict()`.
"""

from __future__ import annotations

import json

import pytest
from agent_framework import Content, Message
from agents.items import TResponseInputItem
from hypothesis import given, settings
from hypothesis import strategies as st
from openai.types.chat import ChatCompletionMessage, ChatCompletionMessageParam
from openai.types.responses import (
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseReasoningItem,
)
from openai.types.responses.response_reasoning_item import Summary
from pydantic import TypeAdapter

from sessions_app import normalize
from sessions_app.errors import InvalidInput

chat_param = TypeAdapter(ChatCompletionMessageParam)
responses_item = TypeAdapter(TResponseInputItem)


def chat(item: dict) -> dict:
    """Validate a dict against openai's ChatCompletionMessageParam and return it unchanged."""
    chat_param.validate_python(item)
    return item


def responses(item: dict) -> dict:
    responses_item.validate_python(item)
    return item


def test_chat_assistant_with_tool_calls_becomes_a_message_and_one_tool_call_each():
    message = ChatCompletionMessage.model_validate(
        {
            "role": "assistant",
            "content": "Looking it up",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": '{"id": 7}'},
                },
                {
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "eta", "arguments": "{}"},
                },
            ],
        }
    )
    item = chat(message.model_dump(exclude_none=True))
    events = normalize.normalize_item(item, fmt=None, event_id="m1")
    assert [(e.type, e.source, e.role) for e in events] == [
        ("message", "llm", "assistant"),
        ("tool_call", "llm", "assistant"),
        ("tool_call", "llm", "assistant"),
    ]
    assert events[0].payload == item and events[0].content == "Looking it up"
    call = events[1]
    assert (call.external_id, call.name, call.tool_call_id, call.content) == (
        "m1#tool_call:call_1",
        "lookup",
        "call_1",
        '{"id": 7}',
    )
    assert call.parent_external_id == "m1" and call.payload is None
    # Deterministic: the same item maps to the same ids and hashes.
    again = normalize.normalize_item(item, fmt=None, event_id="m1")
    assert [(e.external_id, e.body_hash) for e in again] == [
        (e.external_id, e.body_hash) for e in events
    ]


def test_chat_tool_message_is_a_tool_result_linked_by_its_call_id():
    item = chat({"role": "tool", "tool_call_id": "call_1", "content": "shipped"})
    (event,) = normalize.normalize_item(item, fmt="openai_chat", event_id="t1")
    assert (event.type, event.source, event.tool_call_id, event.parent_tool_call_id) == (
        "tool_result",
        "tool",
        "call_1",
        "call_1",
    )
    assert event.content == "shipped"


def test_chat_user_content_parts_are_joined_as_text():
    item = chat(
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "https://example.invalid/a.png"}},
            ],
        }
    )
    (event,) = normalize.normalize_item(item, fmt="openai_chat", event_id="u1")
    assert (event.source, event.content) == ("user", "What is this?\n[image_url]")


@pytest.mark.parametrize("role", ["system", "developer"])
def test_chat_system_and_developer_messages_come_from_the_system(role):
    (event,) = normalize.normalize_item(
        chat({"role": role, "content": "Be brief"}), fmt="openai_chat", event_id="s"
    )
    assert (event.source, event.role) == ("system", role)


def test_responses_items_from_the_sdk_types():
    user = responses({"role": "user", "content": "hi"})
    output = ResponseOutputMessage(
        id="msg_1",
        type="message",
        role="assistant",
        status="completed",
        content=[ResponseOutputText(type="output_text", text="Hello!", annotations=[])],
    ).model_dump(exclude_none=True)
    call = ResponseFunctionToolCall(
        type="function_call", call_id="call_9", name="lookup", arguments='{"q": 1}', id="fc_1"
    ).model_dump(exclude_none=True)
    result = responses({"type": "function_call_output", "call_id": "call_9", "output": "42"})
    reasoning = ResponseReasoningItem(
        id="rs_1", type="reasoning", summary=[Summary(type="summary_text", text="Thinking")]
    ).model_dump(exclude_none=True)
    search = responses(
        {
            "type": "web_search_call",
            "id": "ws_1",
            "status": "completed",
            "action": {"type": "search", "query": "weather"},
        }
    )
    for item in (output, call, reasoning):
        responses(item)
    mapped = {
        name: normalize.normalize_item(item, fmt="responses", event_id=name)
        for name, item in [
            ("user", user),
            ("output", output),
            ("call", call),
            ("result", result),
            ("reasoning", reasoning),
            ("search", search),
        ]
    }
    assert all(len(events) == 1 for events in mapped.values())
    e = {name: events[0] for name, events in mapped.items()}
    assert (e["user"].source, e["user"].content) == ("user", "hi")
    assert (e["output"].source, e["output"].content) == ("llm", "Hello!")
    assert (e["call"].type, e["call"].name, e["call"].tool_call_id) == (
        "tool_call",
        "lookup",
        "call_9",
    )
    assert (e["result"].type, e["result"].parent_tool_call_id, e["result"].content) == (
        "tool_result",
        "call_9",
        "42",
    )
    assert (e["reasoning"].content, e["reasoning"].metadata) == (
        "Thinking",
        {"item_type": "reasoning"},
    )
    assert (e["search"].type, e["search"].name) == ("tool_call", "web_search_call")
    assert e["search"].payload == search  # kept as it is


def test_item_ids_come_from_responses_items_and_agent_framework_messages():
    assert normalize.item_id({"type": "function_call", "id": "fc_1"}) == "fc_1"
    assert normalize.item_id({"role": "user", "contents": [], "message_id": "m-7"}) == "m-7"
    assert normalize.item_id({"role": "user", "content": "x"}) is None


def test_agent_framework_messages_from_message_to_dict():
    asked = Message(
        role="assistant",
        contents=[
            Content.from_text("Checking"),
            Content.from_function_call(call_id="call_1", name="lookup", arguments={"id": 1}),
            Content.from_usage(
                usage_details={
                    "input_token_count": 10,
                    "output_token_count": 5,
                    "total_token_count": 15,
                }
            ),
        ],
        author_name="planner",
    ).to_dict()
    answered = Message(
        role="tool", contents=[Content.from_function_result(call_id="call_1", result="shipped")]
    ).to_dict()
    failed = Message(role="assistant", contents=[Content.from_error(message="boom")]).to_dict()

    message, call = normalize.normalize_item(asked, fmt=None, event_id="af1", model="gpt-4o")
    assert (message.source, message.name, message.content) == ("llm", "planner", "Checking")
    assert message.payload == asked and message.payload_format == "agent_framework"
    assert (message.usage.prompt_tokens, message.usage.completion_tokens) == (10, 5)
    assert message.usage.model == "gpt-4o"
    assert (call.type, call.name, call.tool_call_id, json.loads(call.content)) == (
        "tool_call",
        "lookup",
        "call_1",
        {"id": 1},
    )
    (result,) = normalize.normalize_item(answered, fmt=None, event_id="af2")
    assert (result.type, result.parent_tool_call_id, result.content) == (
        "tool_result",
        "call_1",
        "shipped",
    )
    (error,) = normalize.normalize_item(failed, fmt=None, event_id="af3")
    assert error.is_error and error.content == "boom"


def test_a2a_session_event_dict():
    a2a = {
        "id": "e-1",
        "message": {
            "tool": "search",
            "arguments": {"q": "x"},
            "result": {"hits": 3},
            "error": None,
        },
        "timestamp": "2025-05-01T10:00:00+00:00",
        "source": "system",
        "type": "tool_call",
        "metadata": {"parent_event_id": "llm-1"},
        "task_id": "t-1",
    }
    (event,) = normalize.from_native(a2a, event_id="e-1")
    assert (event.type, event.name, event.is_error, event.parent_external_id) == (
        "tool_call",
        "search",
        False,
        "llm-1",
    )
    assert event.payload == a2a and event.payload_format == "native"
    (text,) = normalize.from_native({"source": "llm", "message": "hi"}, event_id="e-2")
    assert (text.role, text.content, text.type) == ("assistant", "hi", "message")


def _stored_as(event):
    return (event.type, event.name, event.tool_call_id, event.content, event.is_error)


def test_an_a2a_tool_call_stores_its_arguments_as_a_chat_tool_call_does():
    """The content is the arguments (what the transcript shows, search indexes and prompts
    rebuild from), not the whole `{tool, arguments}` object; the object stays the payload."""
    a2a = {"type": "tool_call", "source": "llm", "tool_call_id": "call_1",
           "message": {"tool": "weather", "arguments": {"city": "Oslo", "unit": "C"}}}  # fmt: skip
    (native,) = normalize.from_native(a2a, event_id="t1")
    item = chat({"role": "assistant", "content": None, "tool_calls": [{
        "id": "call_1", "type": "function",
        "function": {"name": "weather", "arguments": json.dumps({"city": "Oslo", "unit": "C"})},
    }]})  # fmt: skip
    _, from_chat = normalize.normalize_item(item, fmt="openai_chat", event_id="m1")
    assert _stored_as(native) == _stored_as(from_chat)
    assert native.content == '{"city": "Oslo", "unit": "C"}'
    assert native.payload == a2a and native.payload_format == "native"


def test_an_a2a_tool_result_stores_its_result_text_as_a_chat_tool_message_does():
    a2a = {
        "type": "tool_result",
        "source": "tool",
        "tool_call_id": "call_1",
        "message": {"tool": "weather", "result": 'Rain\ntomorrow, "7 C"', "error": None},
    }
    (native,) = normalize.from_native(a2a, event_id="r1")
    item = chat({"role": "tool", "tool_call_id": "call_1", "content": 'Rain\ntomorrow, "7 C"'})
    (from_chat,) = normalize.normalize_item(item, fmt="openai_chat", event_id="r2")
    assert _stored_as(native)[2:] == _stored_as(from_chat)[2:]
    assert (native.type, native.name, native.parent_tool_call_id) == (
        "tool_result",
        "weather",
        "call_1",
    )
    assert native.payload == a2a


@pytest.mark.parametrize(
    ("kind", "message", "content", "is_error"),
    [
        # a2a's own tool processor logs each ToolResult as a tool_call event: its outcome.
        (
            "tool_call",
            {"tool": "lookup", "result": {"ok": True}, "error": None, "cached": False},
            '{"ok": true}',
            False,
        ),
        ("tool_call", {"tool_name": "lookup", "result": None, "error": "timeout"}, "timeout", True),
        # A call logged with its outcome: the arguments, a blank line, the outcome.
        (
            "tool_call",
            {"tool": "lookup", "arguments": {"order": 7}, "result": "shipped"},
            '{"order": 7}\n\nshipped',
            False,
        ),
        ("tool_call", {"tool": "lookup", "arguments": '{"order": 7}'}, '{"order": 7}', False),
        ("tool_result", {"tool": "lookup", "result": None, "error": "timeout"}, "timeout", True),
        (
            "tool_result",
            {"tool": "lookup", "result": [1, 2], "error": "partial"},
            "[1, 2]\npartial",
            True,
        ),
        ("tool_result", {"tool": "lookup", "arguments": {"a": 1}, "result": 0}, "0", False),
        # Not an a2a tool object: text it names, or the whole value, as before.
        ("tool_result", {"tool": "lookup", "content": "plain"}, "plain", False),
        ("tool_call", {"tool": "lookup", "query": "x"}, '{"query": "x", "tool": "lookup"}', False),
        ("message", {"arguments": {"a": 1}}, '{"arguments": {"a": 1}}', False),
    ],
)
def test_a2a_tool_objects_show_what_they_hold(kind, message, content, is_error):
    (event,) = normalize.from_native({"type": kind, "message": message}, event_id="x")
    assert (event.content, event.is_error) == (content, is_error)
    assert event.name == ("lookup" if kind != "message" else "")
    assert event.payload == {"type": kind, "message": message}


# What a2a's tool processor (SessionAwareToolProcessor) logs for each tool it ran: the tool's
# ToolResult dumped as the message of a `tool_call` child of the assistant message.
LOGGED_RESULT = {
    "id": "ev-7",
    "type": "tool_call",
    "source": "system",
    "message": {
        "id": "3d8e0c2a-result",
        "tool": "lookup",
        "result": {"rows": 2},
        "error": None,
        "start_time": "2025-05-01T10:00:00.250000Z",
        "end_time": "2025-05-01T10:00:01.750000Z",
        "machine": "worker-1",
        "pid": 42,
        "cached": False,
        "attempts": 1,
    },
    "metadata": {"parent_event_id": "ev-6"},
}


def test_a_tool_result_a2a_logs_as_its_call_is_stored_as_that_result():
    (event,) = normalize.from_native(LOGGED_RESULT, event_id="ev-7")
    assert (event.type, event.name, event.content, event.is_error) == (
        "tool_result",
        "lookup",
        '{"rows": 2}',
        False,
    )
    assert event.parent_external_id == "ev-6"  # under the message that asked for the tool
    # The ToolResult's own id names the result, not a call it could answer.
    assert (event.tool_call_id, event.parent_tool_call_id) == ("", None)
    assert event.duration_ms == 1500
    assert event.payload == LOGGED_RESULT and event.payload_format == "native"  # as a2a wrote it


@pytest.mark.parametrize(
    ("kind", "message", "stored_as"),
    [
        ("tool_call", {"tool": "lookup", "result": None, "error": None}, "tool_result"),
        ("tool_call", {"tool": "lookup", "error": "timeout"}, "tool_result"),
        ("tool_call", {"tool": "lookup", "arguments": None, "result": "ok"}, "tool_result"),
        # A call, with or without its outcome, stays a call.
        ("tool_call", {"tool": "lookup", "arguments": {"a": 1}, "result": "ok"}, "tool_call"),
        ("tool_call", {"tool": "lookup", "arguments": "{}"}, "tool_call"),
        ("tool_call", {"tool": "lookup", "error": None}, "tool_call"),
        ("tool_call", "lookup(7)", "tool_call"),
        ("tool_result", {"tool": "lookup", "arguments": {"a": 1}}, "tool_result"),
        ("message", {"result": "ok"}, "message"),
    ],
)
def test_only_a_tool_call_holding_an_outcome_and_no_arguments_becomes_a_result(
    kind, message, stored_as
):
    (event,) = normalize.from_native({"type": kind, "message": message}, event_id="x")
    assert event.type == stored_as
    assert event.payload == {"type": kind, "message": message}


@pytest.mark.parametrize(
    ("start", "end", "duration_ms"),
    [
        ("2025-05-01T10:00:00Z", "2025-05-01T10:00:00.125Z", 125),
        ("2025-05-01T12:00:00+02:00", "2025-05-01T10:00:00.5+00:00", 500),
        ("2025-05-01T10:00:00", "2025-05-01T10:00:02Z", 2000),  # no offset: UTC
        ("2025-05-01T10:00:01Z", "2025-05-01T10:00:00Z", 0),  # the end first: never negative
        ("2025-05-01T10:00:00Z", "2025-06-01T10:00:00Z", None),  # longer than the column holds
        (None, "2025-05-01T10:00:00Z", None),
        ("2025-05-01T10:00:00Z", "", None),
        ("yesterday", "2025-05-01T10:00:00Z", None),
        ("2025-02-30T10:00:00Z", "2025-05-01T10:00:00Z", None),
        (1746093600, 1746093601, None),  # numbers are not a2a's times
        (["2025-05-01T10:00:00Z"], {"t": 1}, None),
    ],
)
def test_an_a2a_tool_results_start_and_end_give_its_duration(start, end, duration_ms):
    message = {"tool": "lookup", "result": "ok", "start_time": start, "end_time": end}
    (event,) = normalize.from_native({"type": "tool_call", "message": message}, event_id="x")
    assert event.duration_ms == duration_ms
    assert (event.type, event.content) == ("tool_result", "ok")


@pytest.mark.parametrize(
    ("item", "fmt", "field"),
    [
        ({"role": "robot", "content": "x"}, "openai_chat", "item.role"),
        ({"type": ""}, "responses", "item.type"),
        ({"role": "user", "contents": [1]}, "agent_framework", "item.contents.0"),
        ({"role": "assistant", "tool_calls": ["x"]}, "openai_chat", "item.tool_calls.0"),
    ],
)
def test_items_that_cannot_be_mapped_name_the_field(item, fmt, field):
    with pytest.raises(InvalidInput) as caught:
        normalize.normalize_item(item, fmt=fmt, event_id="x")
    assert caught.value.field == field


def test_a_long_item_id_gives_derived_ids_within_255_characters():
    item = {
        "role": "assistant",
        "tool_calls": [
            {"id": "c" * 200, "type": "function", "function": {"name": "f", "arguments": "{}"}}
        ],
    }
    events = normalize.normalize_item(item, fmt="openai_chat", event_id="m" * 255)
    assert all(len(e.external_id) <= 255 for e in events)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
known_keys = st.sampled_from(
    [
        "role",
        "content",
        "tool_calls",
        "tool_call_id",
        "type",
        "call_id",
        "name",
        "arguments",
        "output",
        "summary",
        "contents",
        "function",
        "custom",
        "id",
        "message_id",
        "author_name",
        "function_call",
        "refusal",
        "status",
    ]
)
items = st.dictionaries(
    known_keys,
    json_values | st.sampled_from(["user", "assistant", "tool", "message"]),
    max_size=6,
)


@given(item=items, fmt=st.sampled_from([None, "openai_chat", "responses", "agent_framework"]))
@settings(max_examples=300, deadline=None)
def test_any_item_maps_or_is_refused_cleanly(item, fmt):
    try:
        events = normalize.normalize_item(item, fmt=fmt, event_id="x")
    except InvalidInput:
        return
    assert events[0].payload == item
    for event in events:
        assert isinstance(event.content, str) and isinstance(event.name, str)
        assert isinstance(event.tool_call_id, str) and len(event.tool_call_id) <= 255
        assert len(event.external_id) <= 255
