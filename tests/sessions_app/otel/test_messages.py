"""Reading a span's flattened message attributes (`prefix.N.rest`): what the grouping accepts.

The grouping is done in one pass without a regex (it runs for every span); these pin the
behaviour of the regex it replaced, `prefix\\.(\\d+)\\.(.+)`, on the keys that could tell them
apart.
"""

from __future__ import annotations

from sessions_app.otel.decode import Span
from sessions_app.otel.messages import _flattened, _indexed, call_messages


def _span(attributes: dict) -> Span:
    return Span("a" * 32, "b" * 16, "", "llm", 1, 2, attributes)


def test_indexes_are_ordered_as_numbers_not_as_text():
    attributes = {f"llm.input_messages.{n}.message.content": f"m{n}" for n in (10, 9, 2, 11, 0, 1)}
    groups = _indexed(attributes, "llm.input_messages")
    assert [g["message.content"] for g in groups] == ["m0", "m1", "m2", "m9", "m10", "m11"]


def test_the_rest_keeps_its_dots_and_the_index_must_be_digits():
    attributes = {
        "p.0.message.tool_calls.1.tool_call.function.name": "f",
        "p.01.role": "leading zero is index 1",
        "p.x.role": "not an index",
        "p.-1.role": "not an index",
        "p.1a.role": "not an index",
        "p.2": "no rest",
        "p.3.": "empty rest",
        "p.4.a\nb": "a newline in the rest",
        "p..role": "empty index",
        "pp.5.role": "another prefix",
        "p.\u0663.role": "an Arabic-Indic three is a decimal digit",
    }
    assert _indexed(attributes, "p") == [
        {"message.tool_calls.1.tool_call.function.name": "f"},
        {"role": "leading zero is index 1"},
        {"role": "an Arabic-Indic three is a decimal digit"},
    ]


def test_one_pass_names_every_convention_a_key_starts_with_even_without_a_valid_index():
    attributes = {
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.1.message.tool_calls.0.tool_call.id": "call_1",
        "gen_ai.completion.x.role": "assistant",
        "gen_ai.prompts.0.role": "another prefix",
        "llm.output_messages": "no index",
        "session.id": "s1",
    }
    assert _flattened(attributes) == {
        "llm.input_messages": [
            {"message.role": "user"},
            {"message.tool_calls.0.tool_call.id": "call_1"},
        ],
        "gen_ai.completion": [],
    }


def test_a_prefix_key_without_a_valid_index_still_selects_its_convention():
    # GenAI's flattened attributes come first: a span naming them is read as GenAI even when
    # none can be read, and its OpenInference attributes are not used.
    span = _span(
        {
            "gen_ai.prompt.first.role": "user",
            "llm.input_messages.0.message.role": "user",
            "llm.input_messages.0.message.content": "hello",
        }
    )
    assert call_messages(span) == ([], [])
    del span.attributes["gen_ai.prompt.first.role"]
    assert call_messages(span) == ([{"role": "user", "content": "hello"}], [])


def test_openinference_messages_with_tool_calls_and_multipart_contents():
    span = _span(
        {
            "llm.input_messages.0.message.role": "user",
            "llm.input_messages.0.message.contents.1.message_content.text": "second",
            "llm.input_messages.0.message.contents.0.message_content.text": "first",
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.tool_calls.0.tool_call.id": "call_1",
            "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "f",
            "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": "{}",
        }
    )
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    assert call_messages(span) == (
        [{"role": "user", "content": "first\nsecond"}],
        [{"role": "assistant", "content": "", "tool_calls": [call]}],
    )
