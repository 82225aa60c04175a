"""The plain OpenTelemetry SDK exporting GenAI spans over OTLP/HTTP to a live server, set up
only by the two environment variables docs/otel.md gives, in protobuf and in JSON."""

from __future__ import annotations

import pytest
from opentelemetry.exporter.otlp.json.http.trace_exporter import (
    OTLPSpanExporter as JsonSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult

from sessions_app.models import AgentSession, Event, Run
from tests.otel_spans import A1, A2, Q1, Q2, RESULT, SYSTEM, emit_conversation

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


@pytest.fixture
def otlp_env(server, monkeypatch) -> None:
    url, token = server
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"{url}/api/otel")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", f"Authorization=Bearer {token}")


class Recording:
    """An exporter wrapper that remembers every export's result."""

    def __init__(self, inner):
        self.inner, self.results = inner, []

    def export(self, spans):
        result = self.inner.export(spans)
        self.results.append(result)
        return result

    def shutdown(self):
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def check_conversation() -> None:
    session = AgentSession.objects.get(external_id="conv-1")
    events = list(Event.objects.filter(session=session).select_related("usage").order_by("seq"))
    assert [(e.type, e.role, e.content) for e in events] == EXPECTED
    calls = [e for e in events if e.duration_ms is not None]
    assert [(e.type, e.duration_ms) for e in calls] == [
        ("message", 400),
        ("tool_result", 250),
        ("message", 400),
        ("message", 400),
    ]
    assert [e.usage.prompt_tokens for e in calls if e.type == "message"] == [120, 160, 190]
    assert session.completion_tokens == 35 and session.cost_usd > 0
    assert session.agent_name == "weather" and session.user_ref == "user-7"
    assert [r.status for r in Run.objects.filter(session=session)] == ["completed"] * 2
    tool_call = next(e for e in events if e.type == "tool_call")
    assert tool_call.parent_event.role == "assistant"


@pytest.mark.django_db(transaction=True)
def test_protobuf_exports_land_as_one_conversation(otlp_env):
    exporter = Recording(OTLPSpanExporter(compression=Compression.Gzip))
    emit_conversation(exporter, processor=BatchSpanProcessor)
    assert exporter.results and set(exporter.results) == {SpanExportResult.SUCCESS}
    check_conversation()


@pytest.mark.django_db(transaction=True)
def test_json_exports_land_as_one_conversation(otlp_env, server):
    url, _ = server
    exporter = Recording(JsonSpanExporter(endpoint=f"{url}/api/otel/v1/traces"))
    emit_conversation(exporter, processor=BatchSpanProcessor)
    assert exporter.results and set(exporter.results) == {SpanExportResult.SUCCESS}
    check_conversation()


@pytest.mark.django_db(transaction=True)
def test_one_export_per_span_still_reads_in_order(otlp_env):
    exporter = Recording(OTLPSpanExporter())
    emit_conversation(exporter)
    assert set(exporter.results) == {SpanExportResult.SUCCESS}
    session = AgentSession.objects.get(external_id="conv-1")
    events = Event.objects.filter(session=session).order_by("seq")
    assert [(e.type, e.role, e.content) for e in events] == EXPECTED
