"""The OTLP/HTTP receiver: bodies, answers and statuses, and what a conversation becomes."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from sessions_app.models import AgentSession, Event, Run
from tests.otel_spans import A1, A2, Q1, Q2, RESULT, SYSTEM, emit_conversation, failing_tool_span

from .conftest import protobuf, recorded

pytestmark = pytest.mark.django_db


def transcript(external_id: str = "conv-1") -> list[tuple[str, str, str]]:
    session = AgentSession.objects.get(external_id=external_id)
    return [
        (e.type, e.role, e.content) for e in Event.objects.filter(session=session).order_by("seq")
    ]


EXPECTED = [
    ("message", "system", SYSTEM),
    ("message", "user", Q1),
    ("message", "assistant", ""),
    ("tool_call", "assistant", '{"city": "Paris"}'),
    ("tool_result", "tool", RESULT),
    ("message", "assistant", A1),
    ("message", "user", Q2),
    ("message", "assistant", A2),
]


def answer(response) -> ExportTraceServiceResponse:
    parsed = ExportTraceServiceResponse()
    parsed.ParseFromString(response.content)
    return parsed


def test_a_conversation_lands_as_one_session_with_each_message_once(post_otlp):
    response = post_otlp(protobuf(recorded(emit_conversation)))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-protobuf"
    assert answer(response).partial_success.rejected_spans == 0
    assert transcript() == EXPECTED
    session = AgentSession.objects.get(external_id="conv-1")
    assert session.agent_name == "weather"
    assert session.user_ref == "user-7"
    assert session.prompt_tokens == 120 + 160 + 190
    assert session.completion_tokens == 15 + 12 + 8
    assert session.cost_usd > Decimal(0)


def test_latency_usage_and_span_ids_are_on_the_call_events(post_otlp):
    spans = recorded(emit_conversation)
    post_otlp(protobuf(spans))
    calls = Event.objects.filter(duration_ms__isnull=False).order_by("seq")
    assert [(e.type, e.duration_ms) for e in calls] == [
        ("message", 400),
        ("tool_result", 250),
        ("message", 400),
        ("message", 400),
    ]
    span_ids = {format(s.context.span_id, "016x") for s in spans}
    assert {e.span_id for e in calls} <= span_ids
    # Each agent turn is its own trace; the conversation id joins them into one session.
    assert {e.trace_id for e in calls} == {format(s.context.trace_id, "032x") for s in spans}
    first = calls[0]
    assert first.usage.model == "gpt-4o-mini"
    assert (first.usage.prompt_tokens, first.usage.completion_tokens) == (120, 15)
    assert first.usage.cost_source == "computed"


def test_tool_calls_are_linked_to_their_message_and_results_to_their_call(post_otlp):
    post_otlp(protobuf(recorded(emit_conversation)))
    call = Event.objects.get(type="tool_call")
    result = Event.objects.get(type="tool_result")
    assert call.tool_call_id == result.tool_call_id == "call_1"
    assert call.name == "get_weather"
    assert call.parent_event.type == "message" and call.parent_event.role == "assistant"
    assert result.parent_event_id == call.pk


def test_each_agent_turn_is_a_completed_run_with_its_calls(post_otlp):
    post_otlp(protobuf(recorded(emit_conversation)))
    runs = list(Run.objects.order_by("started_at"))
    assert [r.status for r in runs] == ["completed", "completed"]
    assert all(r.agent_name == "weather" for r in runs)
    assert Event.objects.filter(run=runs[1], role="assistant").get().content == A2


def test_a_later_turn_arriving_first_still_reads_in_conversation_order(post_otlp):
    spans = recorded(emit_conversation)
    second_turn = [s for s in spans if s.start_time >= spans[-1].start_time]
    first_turn = [s for s in spans if s not in second_turn]
    post_otlp(protobuf(second_turn))
    post_otlp(protobuf(first_turn))
    assert transcript() == EXPECTED
    # The first turn's calls came late: their latency and usage still land on their events.
    calls = Event.objects.filter(duration_ms__isnull=False).order_by("seq")
    assert [(e.type, e.duration_ms) for e in calls] == [
        ("message", 400),
        ("tool_result", 250),
        ("message", 400),
        ("message", 400),
    ]
    session = AgentSession.objects.get(external_id="conv-1")
    assert (session.prompt_tokens, session.completion_tokens) == (470, 35)
    post_otlp(protobuf(first_turn))  # and a retry of the late batch changes nothing
    session.refresh_from_db()
    assert (session.prompt_tokens, session.completion_tokens) == (470, 35)


def test_spans_in_reverse_order_in_one_batch_read_in_conversation_order(post_otlp):
    post_otlp(protobuf(recorded(emit_conversation, reverse=True)))
    assert transcript() == EXPECTED


def test_an_exporter_retry_adds_nothing(post_otlp):
    body = protobuf(recorded(emit_conversation))
    post_otlp(body)
    before = Event.objects.count()
    response = post_otlp(body)
    assert response.status_code == 200
    assert answer(response).partial_success.rejected_spans == 0
    assert Event.objects.count() == before
    assert AgentSession.objects.get(external_id="conv-1").completion_tokens == 35


def test_a_retry_after_the_agent_removed_the_events_adds_nothing(post_otlp):
    from sessions_app.services.events import events_clear

    body = protobuf(recorded(emit_conversation))
    post_otlp(body)
    session = AgentSession.objects.get(external_id="conv-1")
    events_clear(session=session)  # as an agent's clear_session: every event removed
    session.refresh_from_db()
    before = list(Event.objects.filter(session=session).order_by("seq").values_list(
        "seq", "external_id", "span_id", "removed_at"))  # fmt: skip
    response = post_otlp(body)  # the exporter's retry of the same spans
    assert response.status_code == 200
    assert answer(response).partial_success.rejected_spans == 0
    # The record keeps the removed events as they were; none comes back as a new live event.
    after = list(Event.objects.filter(session=session).order_by("seq").values_list(
        "seq", "external_id", "span_id", "removed_at"))  # fmt: skip
    assert after == before and len(after) == len(EXPECTED)
    assert all(removed_at is not None for *_, removed_at in after)
    assert any(span for _, _, span, _ in after)  # the retry's spans are these events'
    fresh = AgentSession.objects.get(pk=session.pk)
    assert (fresh.last_seq, fresh.completion_tokens) == (
        session.last_seq,
        session.completion_tokens,
    )


def test_gzip_bodies_are_accepted(post_otlp):
    response = post_otlp(protobuf(recorded(emit_conversation), compress=True),
                         **{"Content-Encoding": "gzip"})  # fmt: skip
    assert response.status_code == 200
    assert transcript() == EXPECTED


def test_the_root_path_receives_too(post_otlp):
    response = post_otlp(protobuf(recorded(emit_conversation)), path="/v1/traces")
    assert response.status_code == 200
    assert len(transcript()) == len(EXPECTED)


def test_a_failed_tool_span_becomes_an_error_event_and_a_failed_run(post_otlp):
    post_otlp(protobuf(recorded(failing_tool_span)))
    errors = Event.objects.filter(type="error").order_by("seq")
    assert "weather service timed out" in [e.content for e in errors]
    assert all(e.is_error for e in errors)
    assert Run.objects.get().status == "failed"
    assert AgentSession.objects.get(external_id="conv-err").error_count == errors.count()


def test_without_a_key_the_answer_is_401(post_otlp):
    response = post_otlp(protobuf(recorded(emit_conversation)), Authorization="Bearer nope")
    assert response.status_code == 401
    assert not Event.objects.exists()


def test_a_body_that_is_not_otlp_is_a_400(post_otlp):
    assert post_otlp(b"\xff\xff\xff not protobuf").status_code == 400
    assert post_otlp(b"{not json", content_type="application/json").status_code == 400
    assert post_otlp(b"[1, 2]", content_type="application/json").status_code == 400
    assert post_otlp(b"hello", content_type="text/plain").status_code == 400
    assert post_otlp(b"not gzip", **{"Content-Encoding": "gzip"}).status_code == 400


def test_a_body_over_the_limit_is_a_413(post_otlp, settings):
    settings.OTLP_MAX_BODY_BYTES = 1000
    body = protobuf(recorded(emit_conversation))
    assert post_otlp(body).status_code == 413
    assert post_otlp(protobuf(recorded(emit_conversation), compress=True),
                     **{"Content-Encoding": "gzip"}).status_code == 413  # fmt: skip


def test_the_otlp_limit_alone_governs_the_otlp_paths(post_otlp, settings):
    # OTLP_MAX_BODY_BYTES above the JSON API's limit: an export between the two is stored (the
    # API's own 413 used to refuse it first, in the API's error shape).
    body = protobuf(recorded(emit_conversation))
    settings.INGEST_MAX_BODY_BYTES = len(body) // 2
    settings.OTLP_MAX_BODY_BYTES = len(body) * 2
    for path in ("/api/otel/v1/traces", "/v1/traces"):
        response = post_otlp(body, path=path)
        assert response.status_code == 200, response.content
    assert Event.objects.count() > 0
    settings.OTLP_MAX_BODY_BYTES = len(body) // 4
    response = post_otlp(body)
    assert response.status_code == 413
    assert json.loads(response.content) == {
        "code": 413,
        "message": f"The body is larger than {len(body) // 4} bytes.",
    }


def test_a_database_down_while_checking_the_key_is_a_503_not_a_500(post_otlp, monkeypatch):
    from django.db import OperationalError

    from sessions_app.otel import receiver

    def down(key):
        raise OperationalError("connection refused")

    monkeypatch.setattr(receiver, "api_key_authenticate", down)
    response = post_otlp(protobuf(recorded(emit_conversation)))
    assert response.status_code == 503
    assert response["Retry-After"] == "5"


def test_when_the_receiver_is_busy_it_answers_429_with_retry_after(post_otlp, monkeypatch):
    from sessions_app.otel import receiver

    monkeypatch.setattr(receiver._slots, "acquire", lambda blocking=True: False)
    response = post_otlp(protobuf(recorded(emit_conversation)))
    assert response.status_code == 429
    assert response["Retry-After"] == "1"


def test_when_the_database_is_down_it_answers_503_with_retry_after(post_otlp, monkeypatch):
    from django.db import OperationalError

    from sessions_app.otel import receiver

    def down(**kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(receiver, "otel_spans_store", down)
    response = post_otlp(protobuf(recorded(emit_conversation)))
    assert response.status_code == 503
    assert response["Retry-After"] == "5"


def test_spans_of_unknown_conventions_are_counted_as_rejected_and_the_rest_stored(post_otlp):
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    provider.get_tracer("x").start_span("GET /health", attributes={"http.method": "GET"}).end()
    spans = [*exporter.get_finished_spans(), *recorded(emit_conversation)]
    parsed = answer(post_otlp(protobuf(spans)))
    assert parsed.partial_success.rejected_spans == 1
    assert "no GenAI" in parsed.partial_success.error_message
    assert transcript() == EXPECTED


def test_a_span_id_reused_with_another_body_is_rejected_not_stored(post_otlp):
    spans = recorded(emit_conversation)
    post_otlp(protobuf(spans))
    before = Event.objects.count()
    chat = next(s for s in spans if s.attributes.get("gen_ai.operation.name") == "chat")
    attributes = dict(chat.attributes)
    attributes["gen_ai.output.messages"] = json.dumps(
        [{"role": "assistant", "parts": [{"type": "text", "content": "something else"}]}]
    )
    chat._attributes = attributes
    parsed = answer(post_otlp(protobuf([chat])))
    assert parsed.partial_success.rejected_spans == 1
    assert "another body" in parsed.partial_success.error_message
    assert Event.objects.count() == before


def test_another_projects_key_does_not_see_or_extend_the_session(post_otlp, other_token):
    post_otlp(protobuf(recorded(emit_conversation)))
    post_otlp(protobuf(recorded(emit_conversation)), Authorization=f"Bearer {other_token}")
    sessions = AgentSession.objects.filter(external_id="conv-1")
    assert sessions.count() == 2
    assert sorted(s.event_count for s in sessions) == [len(EXPECTED), len(EXPECTED)]


def test_json_bodies_are_answered_in_json(post_otlp):
    body = {
        "resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": [{
            "traceId": "5b8efff798038103d269b633813fc60c",
            "spanId": "eee19b7ec3c1b174",
            "name": "chat",
            "startTimeUnixNano": "1767607200000000000",
            "endTimeUnixNano": "1767607200500000000",
            "attributes": [
                {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}},
                {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "12"}},
                {"key": "gen_ai.usage.output_tokens", "value": {"intValue": 3}},
                {"key": "gen_ai.input.messages", "value": {"stringValue": json.dumps(
                    [{"role": "user", "parts": [{"type": "text", "content": "hi"}]}])}},
                {"key": "gen_ai.output.messages", "value": {"stringValue": json.dumps(
                    [{"role": "assistant", "parts": [{"type": "text", "content": "hello"}]}])}},
            ],
        }]}]}]
    }  # fmt: skip
    response = post_otlp(json.dumps(body).encode(), content_type="application/json")
    assert response.status_code == 200
    assert response.json() == {}
    session = AgentSession.objects.get(external_id="5b8efff798038103d269b633813fc60c")
    assert transcript(session.external_id) == [
        ("message", "user", "hi"),
        ("message", "assistant", "hello"),
    ]
    assert Event.objects.get(role="assistant").duration_ms == 500


def test_bad_message_json_rejects_that_span_only(post_otlp):
    body = {
        "resourceSpans": [{"scopeSpans": [{"spans": [{
            "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
            "name": "chat", "startTimeUnixNano": "1", "endTimeUnixNano": "2",
            "attributes": [
                {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                {"key": "gen_ai.input.messages", "value": {"stringValue": "[{not json"}},
            ]}, {
            "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b175",
            "name": "chat", "startTimeUnixNano": "3", "endTimeUnixNano": "4",
            "attributes": [
                {"key": "gen_ai.operation.name", "value": {"intValue": "oops"}},
                {"key": "llm.input_messages.0.message.role", "value": {"stringValue": "user"}},
                {"key": "llm.input_messages.0.message.content", "value": {"stringValue": "ok"}},
            ]}]}]}]
    }  # fmt: skip
    response = post_otlp(json.dumps(body).encode(), content_type="application/json")
    assert response.status_code == 200
    assert response.json()["partialSuccess"]["rejectedSpans"] == "1"
    assert "does not parse" in response.json()["partialSuccess"]["errorMessage"]
    assert [e.content for e in Event.objects.all()] == ["ok"]


def test_a_call_recorded_without_content_keeps_its_usage_and_latency(post_otlp):
    body = {
        "resourceSpans": [{"scopeSpans": [{"spans": [{
            "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
            "name": "chat gpt-4o-mini", "startTimeUnixNano": "1767607200000000000",
            "endTimeUnixNano": "1767607200750000000",
            "attributes": [
                {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                {"key": "gen_ai.conversation.id", "value": {"stringValue": "quiet"}},
                {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}},
                {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "30"}},
                {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "4"}},
            ]}]}]}]
    }  # fmt: skip
    for _ in range(2):  # the retry adds nothing
        assert post_otlp(json.dumps(body).encode(), content_type="application/json").json() == {}
    event = Event.objects.get()
    assert (event.role, event.content, event.duration_ms) == ("assistant", "", 750)
    assert event.usage.prompt_tokens == 30
    assert AgentSession.objects.get(external_id="quiet").completion_tokens == 4


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("gen_ai.usage.cost", {"stringValue": "nan"}),
        ("gen_ai.usage.cost", {"stringValue": "Infinity"}),
        ("llm.cost.total", {"doubleValue": 1e300}),  # beyond what a cost column holds
        ("gen_ai.usage.cost", {"doubleValue": -0.5}),
        ("gen_ai.usage.output_tokens", {"intValue": "9223372036854775807"}),
        ("gen_ai.usage.output_tokens", {"stringValue": "many"}),
    ],
)
def test_usage_values_no_column_can_hold_are_left_out_not_a_500(post_otlp, attribute, value):
    """A value no usage column can hold is not reported: the call is priced from the price
    table and its other counts kept, as when the attribute is missing."""
    body = {
        "resourceSpans": [{"scopeSpans": [{"spans": [{
            "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
            "name": "chat", "startTimeUnixNano": "1767607200000000000",
            "endTimeUnixNano": "1767607200500000000",
            "attributes": [
                {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}},
                {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "1000"}},
                {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "100"}},
                {"key": attribute, "value": value},
            ]}]}]}]
    }  # fmt: skip
    response = post_otlp(json.dumps(body).encode(), content_type="application/json")
    assert response.status_code == 200 and response.json() == {}
    usage = Event.objects.get().usage
    assert usage.prompt_tokens == 1000
    assert usage.completion_tokens == (0 if attribute.endswith("output_tokens") else 100)
    assert (usage.cost_source, usage.cost_usd > 0) == ("computed", True)


def test_a_json_span_with_a_time_beyond_fixed64_is_rejected_alone(post_otlp):
    def span(span_id: str, start: str) -> dict:
        return {
            "traceId": "5b8efff798038103d269b633813fc60c", "spanId": span_id, "name": "chat",
            "startTimeUnixNano": start, "endTimeUnixNano": start,
            "attributes": [
                {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                {"key": "llm.input_messages.0.message.role", "value": {"stringValue": "user"}},
                {"key": "llm.input_messages.0.message.content", "value": {"stringValue": span_id}},
            ],
        }  # fmt: skip

    body = {"resourceSpans": [{"scopeSpans": [{"spans": [
        span("eee19b7ec3c1b174", "99999999999999999999999"),  # year 3,170,843
        span("eee19b7ec3c1b175", "18446744073709551615"),  # the largest fixed64: year 2554
    ]}]}]}  # fmt: skip
    response = post_otlp(json.dumps(body).encode(), content_type="application/json")
    assert response.status_code == 200
    assert response.json()["partialSuccess"]["rejectedSpans"] == "1"
    assert "fixed64" in response.json()["partialSuccess"]["errorMessage"]
    assert [e.content for e in Event.objects.all()] == ["eee19b7ec3c1b175"]
