"""Hostile or broken exports: a body that is not OTLP is a 400, a span that cannot be stored is
rejected alone (counted and explained in partial_success), never a 500 losing the whole export.

Run on PostgreSQL too: NUL characters, lone surrogates and over-long values only fail there.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import quote

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from sessions_app.models import AgentSession, Event, Run
from sessions_app.otel import mapping
from sessions_app.storable import id_problem

pytestmark = pytest.mark.django_db

TRACE = "5b8efff798038103d269b633813fc60c"
START = 1_767_607_200_000_000_000  # 2026-01-05 10:00 UTC
GOOD, BAD = "aaaaaaaaaaaaaaa1", "bbbbbbbbbbbbbbb2"


def _chat(text: str = "hello") -> dict[str, Any]:
    """A chat span's attributes: a question and its answer."""
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.input.messages": json.dumps(
            [{"role": "user", "parts": [{"type": "text", "content": text}]}]
        ),
        "gen_ai.output.messages": json.dumps(
            [{"role": "assistant", "parts": [{"type": "text", "content": "answer"}]}]
        ),
    }


def span(span_id: str, attributes: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A span as plain data; `body` writes it in either encoding."""
    return {"span_id": span_id, "trace_id": TRACE, "name": "chat", "attributes": attributes,
            "status_code": 0, "status_message": "", "parent": "", **fields}  # fmt: skip


def good_span() -> dict[str, Any]:
    return span(GOOD, {**_chat("fine"), "gen_ai.conversation.id": "good-conv"})


def _json_value(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value  # already an AnyValue
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": value}


def _pb_value(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    return AnyValue(string_value=value)


def body(spans: list[dict], encoding: str, resource: dict[str, Any] | None = None) -> bytes:
    """An export of `spans` in OTLP JSON or protobuf."""
    resource = resource or {}
    if encoding == "json":
        return json.dumps({"resourceSpans": [{
            "resource": {"attributes": [
                {"key": k, "value": _json_value(v)} for k, v in resource.items()]},
            "scopeSpans": [{"spans": [{
                "traceId": s["trace_id"], "spanId": s["span_id"], "parentSpanId": s["parent"],
                "name": s["name"], "startTimeUnixNano": str(START + i),
                "endTimeUnixNano": str(START + i + 500_000_000),
                "status": {"code": s["status_code"], "message": s["status_message"]},
                "attributes": [
                    {"key": k, "value": _json_value(v)} for k, v in s["attributes"].items()],
            } for i, s in enumerate(spans)]}],
        }]}).encode()  # fmt: skip
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.extend(KeyValue(key=k, value=_pb_value(v)) for k, v in resource.items())
    scope = rs.scope_spans.add()
    for i, s in enumerate(spans):
        pb = scope.spans.add()
        pb.trace_id = bytes.fromhex(s["trace_id"]) if isinstance(s["trace_id"], str) else s[
            "trace_id"]  # fmt: skip
        pb.span_id = bytes.fromhex(s["span_id"]) if isinstance(s["span_id"], str) else s["span_id"]
        pb.parent_span_id = bytes.fromhex(s["parent"])
        pb.name = s["name"]
        pb.start_time_unix_nano = START + i
        pb.end_time_unix_nano = START + i + 500_000_000
        pb.status.code = s["status_code"]
        pb.status.message = s["status_message"]
        pb.attributes.extend(
            KeyValue(key=k, value=_pb_value(v)) for k, v in s["attributes"].items()
        )
    return request.SerializeToString()


def send(post_otlp, payload: bytes, encoding: str) -> tuple[int, int, str]:
    """(status, rejected spans, error message) of posting `payload`."""
    if encoding == "json":
        response = post_otlp(payload, content_type="application/json")
        if response.status_code != 200:
            return response.status_code, 0, ""
        partial = response.json().get("partialSuccess", {})
        return 200, int(partial.get("rejectedSpans", 0)), partial.get("errorMessage", "")
    response = post_otlp(payload)
    if response.status_code != 200:
        return response.status_code, 0, ""
    parsed = ExportTraceServiceResponse()
    parsed.ParseFromString(response.content)
    partial = parsed.partial_success
    return 200, partial.rejected_spans, partial.error_message


def stored_texts() -> list[str]:
    return sorted(e.content for e in Event.objects.all())


ENCODINGS = pytest.mark.parametrize("encoding", ["json", "protobuf"])


# --- 1. a body that is not OTLP at the request's level is a 400 ------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        {"resourceSpans": [{"resource": [1], "scopeSpans": []}]},
        {"resourceSpans": [{"resource": {"attributes": 5}, "scopeSpans": []}]},
        {"resourceSpans": [{"scopeSpans": 5}]},
        {"resourceSpans": [{"scopeSpans": [5]}]},
        {"resourceSpans": [{"scopeSpans": [{"spans": 5}]}]},
        {"resourceSpans": [{"scope_spans": [{"spans": {"a": 1}}]}]},
    ],
)
def test_a_structurally_invalid_json_request_is_a_400(post_otlp, payload):
    response = post_otlp(json.dumps(payload).encode(), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == 400


@pytest.mark.parametrize(
    "value",
    [
        {"arrayValue": [1]},
        {"arrayValue": {"values": 5}},
        {"arrayValue": {"values": [{"kvlistValue": [1]}]}},
        {"kvlistValue": [1]},
        {"kvlistValue": {"values": 5}},
        {"kvlistValue": {"values": [1, {"key": "a", "value": {"arrayValue": 7}}]}},
        {"intValue": 1e400},  # json.loads reads Infinity
        {"intValue": [1]},
    ],
)
@pytest.mark.parametrize("where", ["resource", "span"])
def test_a_wrongly_typed_attribute_value_is_dropped_and_the_span_kept(post_otlp, value, where):
    good = good_span()
    if where == "span":
        good["attributes"]["some.attribute"] = value
    resource = {"some.attribute": value} if where == "resource" else None
    assert send(post_otlp, body([good], "json", resource), "json") == (200, 0, "")
    assert stored_texts() == ["answer", "fine"]


def test_a_json_span_time_that_is_infinite_rejects_that_span_only(post_otlp):
    payload = json.loads(body([span(BAD, _chat("bad")), good_span()], "json"))
    payload["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["startTimeUnixNano"] = 1e400
    status, rejected, message = send(post_otlp, json.dumps(payload).encode(), "json")
    assert (status, rejected) == (200, 1)
    assert "unreadable span" in message
    assert stored_texts() == ["answer", "fine"]


# --- 2, 3. text PostgreSQL cannot store: NUL characters and lone surrogates -------------------


def _agent(name: str) -> dict[str, Any]:
    return {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": name,
            "gen_ai.conversation.id": "bad-conv"}  # fmt: skip


NUL_SPANS = {
    "conversation id": lambda: span(BAD, {**_chat(), "gen_ai.conversation.id": "c\x00nv"}),
    "user id": lambda: span(BAD, {**_chat(), "user.id": "u\x00"}),
    "model": lambda: span(BAD, {**_chat(), "gen_ai.request.model": "gpt\x00"}),
    "agent name": lambda: span(BAD, _agent("we\x00ther")),
    "status message": lambda: span(
        BAD, _agent("weather"), status_code=2, status_message="boom\x00"
    ),
    "message text": lambda: span(BAD, _chat("hi\x00there")),
    "span name": lambda: span(BAD, {"gen_ai.operation.name": "execute_tool"}, name="t\x00ol"),
    "attribute key": lambda: span(BAD, {**_chat(), "ke\x00y": "value"}),
    "escaped in message JSON": lambda: span(
        BAD,
        {
            **_chat(),
            "gen_ai.input.messages": '[{"role": "user", "parts": '
            '[{"type": "text", "content": "hi\\u0000there"}]}]',
        },
    ),
    "escaped in a tool call id": lambda: span(
        BAD,
        {
            **_chat(),
            "gen_ai.output.messages": '[{"role": "assistant", "parts": '
            '[{"type": "tool_call", "id": "c\\u0000", "name": "f", "arguments": {}}]}]',
        },
    ),
    "escaped in input.value": lambda: span(
        BAD,
        {
            "openinference.span.kind": "LLM",
            "input.value": '{"messages": [{"role": "user", "content": "a\\u0000b"}]}',
        },
    ),
}


@ENCODINGS
@pytest.mark.parametrize("case", list(NUL_SPANS))
def test_a_span_with_a_nul_character_is_rejected_alone(post_otlp, encoding, case):
    status, rejected, message = send(
        post_otlp, body([NUL_SPANS[case](), good_span()], encoding), encoding
    )
    assert (status, rejected) == (200, 1)
    assert "NUL character" in message
    assert stored_texts() == ["answer", "fine"]
    assert list(AgentSession.objects.values_list("external_id", flat=True)) == ["good-conv"]
    assert not Run.objects.exists()


@ENCODINGS
def test_a_nul_character_in_a_resource_attribute_rejects_its_spans(post_otlp, encoding):
    payload = body([good_span()], encoding, resource={"user.id": "u\x00"})
    status, rejected, message = send(post_otlp, payload, encoding)
    assert (status, rejected) == (200, 1)
    assert "user.id" in message and "NUL character" in message
    assert not AgentSession.objects.exists()


SURROGATE_SPANS = {
    "conversation id": lambda: span(BAD, {**_chat(), "gen_ai.conversation.id": "c\ud800"}),
    "message text": lambda: span(BAD, _chat("hi \udfff")),
    "escaped in message JSON": lambda: span(
        BAD,
        {
            **_chat(),
            "gen_ai.input.messages": '[{"role": "user", "parts": '
            '[{"type": "text", "content": "hi\\ud800"}]}]',
        },
    ),
    "status message": lambda: span(BAD, _agent("weather"), status_code=2, status_message="\ud800"),
}


@pytest.mark.parametrize("case", list(SURROGATE_SPANS))
def test_a_span_with_a_lone_surrogate_is_rejected_alone(post_otlp, case):
    """Only JSON can carry one (protobuf strings are UTF-8, which has no surrogates)."""
    status, rejected, message = send(post_otlp, body([SURROGATE_SPANS[case](), good_span()],
                                                     "json"), "json")  # fmt: skip
    assert (status, rejected) == (200, 1)
    assert "surrogate" in message
    assert stored_texts() == ["answer", "fine"]


def test_a_surrogate_pair_written_as_escapes_is_text_and_kept(post_otlp):
    """An emoji in message JSON written by ensure_ascii: two escapes, one valid character."""
    attributes = {**_chat(), "gen_ai.conversation.id": "good-conv",
                  "gen_ai.input.messages": json.dumps(
                      [{"role": "user", "parts": [{"type": "text", "content": "hi \U0001f600"}]}]
                  )}  # fmt: skip
    assert "\\ud83d" in attributes["gen_ai.input.messages"]
    assert send(post_otlp, body([span(GOOD, attributes)], "json"), "json") == (200, 0, "")
    assert stored_texts() == ["answer", "hi \U0001f600"]


# --- 4. message JSON nested too deeply --------------------------------------------------------

DEEP = "[" * 50_000 + "]" * 50_000


@pytest.mark.parametrize(
    "attributes",
    [
        {**_chat(), "gen_ai.input.messages": DEEP},
        {**_chat(), "gen_ai.output.messages": DEEP},
        {**_chat(), "gen_ai.system_instructions": DEEP},
        {"openinference.span.kind": "LLM", "input.value": DEEP},
    ],
    ids=["input", "output", "system", "input.value"],
)
def test_message_json_nested_too_deeply_rejects_that_span_only(post_otlp, attributes):
    status, rejected, message = send(
        post_otlp, body([span(BAD, attributes), good_span()], "protobuf"), "protobuf"
    )
    assert (status, rejected) == (200, 1)
    assert "too deeply" in message
    assert stored_texts() == ["answer", "fine"]


# --- 5. values longer than their columns ------------------------------------------------------


@ENCODINGS
def test_a_tool_span_with_an_overlong_name_and_call_id_is_stored_cut_to_the_columns(
    post_otlp, encoding
):
    tool = span(BAD, {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "n" * 300,
                      "gen_ai.tool.call.id": "c" * 300, "gen_ai.tool.call.arguments": "{}",
                      "gen_ai.tool.call.result": "ok", "gen_ai.conversation.id": "tools"},
                name="x" * 300)  # fmt: skip
    assert send(post_otlp, body([tool], encoding), encoding) == (200, 0, "")
    result = Event.objects.get(type="tool_result")
    assert (result.name, result.tool_call_id, result.content) == ("n" * 255, "c" * 255, "ok")
    # A retry adds nothing: the event's id comes from the whole call id.
    assert send(post_otlp, body([tool], encoding), encoding) == (200, 0, "")
    assert Event.objects.filter(type="tool_result").count() == 1


def test_overlong_tool_calls_in_messages_are_stored_cut_to_the_columns(post_otlp):
    call = {"type": "tool_call", "id": "i" * 400, "name": "f" * 400, "arguments": {"a": 1}}
    attributes = {
        **_chat("use the tool"),
        "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [call]}]),
        "gen_ai.conversation.id": "s" * 400,
        "user.id": "u" * 400,
        "gen_ai.agent.name": "a" * 400,
        "gen_ai.request.model": "m" * 400,
        "gen_ai.usage.input_tokens": 10,
        "gen_ai.usage.output_tokens": 2,
    }
    agent = span(GOOD, {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "b" * 400,
                        "gen_ai.conversation.id": "s" * 400})  # fmt: skip
    sub = span("ccccccccccccccc3", {"gen_ai.operation.name": "invoke_agent",
                                    "gen_ai.agent.name": "d" * 400}, parent=GOOD)  # fmt: skip
    chat = span(BAD, attributes, parent="ccccccccccccccc3")
    status, rejected, message = send(post_otlp, body([agent, sub, chat], "json"), "json")
    assert (status, rejected) == (200, 0) and "longer than the 255 characters" in message
    tool_call = Event.objects.get(type="tool_call")
    assert (tool_call.name, tool_call.tool_call_id) == ("f" * 255, "i" * 255)
    root = AgentSession.objects.get(external_id=digest_form("s" * 400))  # too long: digested
    assert root.agent_name == "b" * 200
    child = AgentSession.objects.get(parent=root)
    assert len(child.external_id) == 255
    assert Run.objects.count() == 2


# --- session ids an API path cannot address or the column cannot hold -------------------------

CONTROL_IDS = {
    "C0": "conv\x01-7",
    "escape sequence": "conv\x1b[31m",
    "tab and line feed": "c\tonv\n",
    "DEL": "conv\x7f",
    "C1": "conv\x85",
}


def _answered(text: str, answer: str, conversation: str) -> dict[str, Any]:
    return {
        **_chat(text),
        "gen_ai.output.messages": json.dumps(
            [{"role": "assistant", "parts": [{"type": "text", "content": answer}]}]
        ),
        "gen_ai.conversation.id": conversation,
    }


def digest_form(conversation: str) -> str:
    """The session id docs/otel.md promises for an id holding control characters or longer than
    255 characters."""
    shown = conversation[:190].translate(dict.fromkeys([*range(32), *range(127, 160)], "\ufffd"))
    return f"{shown}#{hashlib.sha256(conversation.encode()).hexdigest()}"


def test_an_addressable_id_is_the_id_itself_and_any_other_an_addressable_digest_form():
    assert mapping.addressable_id("conv/été 7") == "conv/été 7"
    assert mapping.addressable_id("s" * 255) == "s" * 255  # what the column holds, as it is
    for conversation in [*CONTROL_IDS.values(), "x\x01" * 300, "s" * 256, "é" * 400]:
        stored = mapping.addressable_id(conversation)
        assert id_problem(stored) is None and len(stored) <= 255
        assert stored == digest_form(conversation)
    assert mapping.addressable_id("a\x01") != mapping.addressable_id("a\x02")
    # Two long ids sharing their first 255 characters: a cut would have merged them.
    assert mapping.addressable_id("s" * 255 + "1") != mapping.addressable_id("s" * 255 + "2")


@ENCODINGS
@pytest.mark.parametrize("conversation", list(CONTROL_IDS.values()), ids=list(CONTROL_IDS))
def test_a_conversation_id_with_control_characters_is_stored_under_an_addressable_id(
    post_otlp, client, auth_headers, encoding, conversation
):
    """The JSON API refuses such an id (a path cannot hold it): the spans are kept all the same,
    in a session the API can address, and the exporter is told where (rejecting nothing)."""
    chat = span(BAD, _answered("kept", "noted", conversation))
    status, rejected, message = send(post_otlp, body([chat, good_span()], encoding), encoding)
    stored = digest_form(conversation)
    assert (status, rejected) == (200, 0)
    assert repr(conversation) in message and repr(stored) in message
    assert "control characters" in message
    session = AgentSession.objects.get(external_id=stored)
    assert session.metadata == {"otel_original_id": conversation}
    response = client.get(f"/api/v1/sessions/{quote(stored, safe='')}/events", headers=auth_headers)
    assert response.status_code == 200, response.json()
    assert [e["content"] for e in response.json()["items"]] == ["kept", "noted"]
    # The user finds it by the id the spans named.
    found = client.get(
        "/api/v1/sessions", {"metadata.otel_original_id": conversation}, headers=auth_headers
    )
    assert [s["id"] for s in found.json()["items"]] == [stored]


def test_later_exports_of_such_a_conversation_join_its_session_and_ids_never_merge(post_otlp):
    first = span(GOOD, _answered("one", "first answer", "conv\x01"))
    other = span(BAD, _answered("two", "other answer", "conv\x02"))
    assert send(post_otlp, body([first, other], "json"), "json")[:2] == (200, 0)
    later = span("ccccccccccccccc3", _answered("three", "later answer", "conv\x01"))
    assert send(post_otlp, body([later], "protobuf"), "protobuf")[:2] == (200, 0)
    sessions = {
        s.external_id: sorted(s.events.values_list("content", flat=True))
        for s in AgentSession.objects.all()
    }
    assert sessions == {
        digest_form("conv\x01"): ["first answer", "later answer", "one", "three"],
        digest_form("conv\x02"): ["other answer", "two"],
    }


LONG = "conv-" + "x" * 300  # past the 255 characters of a session id


@ENCODINGS
def test_conversation_ids_longer_than_a_session_id_are_never_merged_by_a_cut(
    post_otlp, client, auth_headers, encoding
):
    """Two conversations whose ids share their first 255 characters keep a session each, under
    the digest form of their whole id; the exporter is told where (rejecting nothing)."""
    first = span(GOOD, _answered("one", "first answer", LONG + "-a"))
    other = span(BAD, _answered("two", "other answer", LONG + "-b"))
    status, rejected, message = send(post_otlp, body([first, other], encoding), encoding)
    assert (status, rejected) == (200, 0)
    assert "longer than the 255 characters" in message
    assert repr(digest_form(LONG + "-a")) in message and repr((LONG + "-a")[:100]) in message
    sessions = {
        s.external_id: sorted(s.events.values_list("content", flat=True))
        for s in AgentSession.objects.all()
    }
    assert sessions == {
        digest_form(LONG + "-a"): ["first answer", "one"],
        digest_form(LONG + "-b"): ["other answer", "two"],
    }
    # The id as the spans named it, as much as a metadata filter compares (255 characters).
    session = AgentSession.objects.get(external_id=digest_form(LONG + "-a"))
    assert session.metadata == {"otel_original_id": (LONG + "-a")[:255]}
    response = client.get(
        f"/api/v1/sessions/{quote(session.external_id, safe='')}/events", headers=auth_headers
    )
    assert [e["content"] for e in response.json()["items"]] == ["one", "first answer"]


def test_later_exports_and_retries_of_a_long_conversation_id_join_its_session(post_otlp):
    first = span(GOOD, _answered("one", "first answer", LONG))
    assert send(post_otlp, body([first], "json"), "json")[:2] == (200, 0)
    assert send(post_otlp, body([first], "protobuf"), "protobuf")[:2] == (200, 0)  # a retry
    later = span(BAD, _answered("two", "later answer", LONG))
    assert send(post_otlp, body([later], "protobuf"), "protobuf")[:2] == (200, 0)
    (session,) = AgentSession.objects.all()
    assert session.external_id == digest_form(LONG)
    assert [e.content for e in session.events.order_by("seq")] == [
        "one", "first answer", "two", "later answer"
    ]  # fmt: skip


def test_a_sub_agent_whose_name_holds_control_characters_gets_an_addressable_session(
    post_otlp, client, auth_headers
):
    agent = span(GOOD, {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner",
                        "gen_ai.conversation.id": "plan-1"})  # fmt: skip
    sub = span("ccccccccccccccc3", {"gen_ai.operation.name": "invoke_agent",
                                    "gen_ai.agent.name": "sub\x07agent"}, parent=GOOD)  # fmt: skip
    chat = span(BAD, _chat("sub work"), parent="ccccccccccccccc3")
    status, rejected, message = send(post_otlp, body([agent, sub, chat], "json"), "json")
    assert (status, rejected) == (200, 0) and "control characters" in message
    child = AgentSession.objects.get(parent__external_id="plan-1")
    assert child.external_id == digest_form("plan-1/sub\x07agent")
    assert child.agent_name == "sub\x07agent"  # a name, not an id: kept as named
    assert child.metadata == {"otel_original_id": "plan-1/sub\x07agent"}
    response = client.get(f"/api/v1/sessions/{quote(child.external_id, safe='')}",
                          headers=auth_headers)  # fmt: skip
    assert response.status_code == 200 and response.json()["parent_id"] == "plan-1"


# --- ids, cycles and the last line of defence -------------------------------------------------


@ENCODINGS
@pytest.mark.parametrize(
    ("trace_id", "span_id"),
    [
        ("00" * 16, "bbbbbbbbbbbbbbb2"),
        (TRACE, "0000000000000000"),
        ("ab", "bbbbbbbbbbbbbbb2"),
        (TRACE, "bb"),
    ],
    ids=["zero trace", "zero span", "short trace", "short span"],
)
def test_spans_with_invalid_ids_are_counted_as_rejected(post_otlp, encoding, trace_id, span_id):
    bad = span(span_id, _chat("bad"), trace_id=trace_id)
    status, rejected, message = send(post_otlp, body([bad, good_span()], encoding), encoding)
    assert (status, rejected) == (200, 1)
    assert "invalid trace or span id" in message
    assert stored_texts() == ["answer", "fine"]


def test_a_number_that_is_not_a_name_is_not_a_user(post_otlp):
    good = good_span()
    good["attributes"]["user.id"] = float("nan")
    assert send(post_otlp, body([good], "protobuf"), "protobuf") == (200, 0, "")
    assert AgentSession.objects.get().user_ref == ""


@ENCODINGS
def test_spans_whose_parents_form_a_cycle_are_stored_not_looped_on(post_otlp, encoding):
    a = span(GOOD, {**_chat("a"), "gen_ai.conversation.id": "cycle"}, parent="ccccccccccccccc3")
    b = span("ccccccccccccccc3", {"gen_ai.operation.name": "invoke_agent"}, parent=GOOD)
    me = span(BAD, {"gen_ai.operation.name": "invoke_agent"}, parent=BAD)
    assert send(post_otlp, body([a, b, me], encoding), encoding) == (200, 0, "")
    assert stored_texts() == ["a", "answer"]


def test_a_span_the_mapping_fails_on_is_rejected_alone(post_otlp, monkeypatch):
    real = mapping._model_units

    def fail_on_bad(s, run):
        if s.span_id == BAD:
            raise KeyError("unexpected")
        return real(s, run)

    monkeypatch.setattr(mapping, "_model_units", fail_on_bad)
    bad = span(BAD, {**_chat("bad"), "gen_ai.conversation.id": "bad-conv"})
    status, rejected, message = send(post_otlp, body([bad, good_span()], "json"), "json")
    assert (status, rejected) == (200, 1)
    assert "could not be mapped" in message
    assert stored_texts() == ["answer", "fine"]
    assert list(AgentSession.objects.values_list("external_id", flat=True)) == ["good-conv"]


def test_spans_without_agents_whose_parents_form_a_cycle_are_not_looped_on(post_otlp):
    a = span(GOOD, _chat("a"), parent="ccccccccccccccc3")
    b = span("ccccccccccccccc3", _chat("b"), parent=GOOD)
    assert send(post_otlp, body([a, b], "protobuf"), "protobuf") == (200, 0, "")
    assert AgentSession.objects.get().external_id == TRACE


def test_an_operation_name_that_is_a_list_is_not_an_operation(post_otlp):
    odd = span(BAD, {**_chat("odd"), "gen_ai.operation.name": {
        "arrayValue": {"values": [{"stringValue": "chat"}]}}})  # fmt: skip
    assert send(post_otlp, body([odd, good_span()], "json"), "json") == (200, 0, "")
    assert stored_texts() == ["answer", "answer", "fine", "odd"]


def test_legacy_message_events_with_odd_tool_calls_keep_their_text(post_otlp):
    payload = json.loads(body([span(BAD, {"gen_ai.operation.name": "chat"})], "json"))
    payload["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["events"] = [
        {"name": "gen_ai.user.message", "timeUnixNano": str(START), "attributes": [
            {"key": "content", "value": {"stringValue": "hi"}},
            {"key": "tool_calls", "value": {"intValue": "5"}}]},
        {"name": "gen_ai.choice", "timeUnixNano": str(START), "attributes": [
            {"key": "message", "value": {"stringValue": json.dumps(
                {"content": "yes", "tool_calls": [{"id": "c1", "function": "f"}]})}}]},
    ]  # fmt: skip
    assert send(post_otlp, json.dumps(payload).encode(), "json") == (200, 0, "")
    assert stored_texts() == ["", "hi", "yes"]
