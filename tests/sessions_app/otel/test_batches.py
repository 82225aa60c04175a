"""An export touching many sessions: stored in statements that do not grow with the sessions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from sessions_app.models import AgentSession, DailyUsage, Event, TokenUsage
from sessions_app.otel import service
from sessions_app.services.sessions import session_upsert

pytestmark = pytest.mark.django_db

START = 1_767_607_200_000_000_000  # 2026-01-05 10:00 UTC: spans carry their own times


def _kv(key: str, value: object) -> KeyValue:
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=str(value)))


def export(sessions: int, turns: list[int], tag: str = "s") -> bytes:
    """OpenInference LLM spans, one per turn of each session (as an agent process serving many
    conversations exports them), each turn a question and its answer with token counts."""
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    for s in range(sessions):
        for turn in turns:
            span = scope.spans.add()
            span.trace_id = f"{tag[:4]:>4}{s:06x}{turn:06x}".encode()
            span.span_id = f"{tag[:2]:>2}{s:03x}{turn:03x}".encode()
            span.name = "ChatCompletion"
            span.start_time_unix_nano = START + (turn * 60 + s) * 1_000_000_000
            span.end_time_unix_nano = span.start_time_unix_nano + 850_000_000
            span.attributes.extend(
                [
                    _kv("openinference.span.kind", "LLM"),
                    _kv("session.id", f"{tag}-{s}"),
                    _kv("user.id", f"user-{s % 3}"),
                    _kv("llm.model_name", "gpt-4o-mini"),
                    _kv("llm.input_messages.0.message.role", "user"),
                    _kv("llm.input_messages.0.message.content", f"question {turn} of {s}"),
                    _kv("llm.output_messages.0.message.role", "assistant"),
                    _kv("llm.output_messages.0.message.content", f"answer {turn} to {s}"),
                    _kv("llm.token_count.prompt", 100 + turn),
                    _kv("llm.token_count.completion", 20),
                ]
            )
    return request.SerializeToString()


def _post(post_otlp, body: bytes) -> tuple[int, int]:
    """Post an export; returns (rejected spans, SQL statements it took)."""
    with CaptureQueriesContext(connection) as queries:
        response = post_otlp(body)
    assert response.status_code == 200
    parsed = ExportTraceServiceResponse()
    parsed.ParseFromString(response.content)
    return parsed.partial_success.rejected_spans, len(queries)


def test_the_statements_of_an_export_do_not_grow_with_the_sessions_it_touches(post_otlp):
    # The same 24 spans from 2 sessions or from 24: new sessions, then more turns of stored
    # ones, then an exporter's retry take the same statements. (24: SQLite bounds a statement's
    # parameters, so Django cuts a bulk insert of 30 sessions of some 35 columns in two; a split
    # by rows that grows with columns, not with sessions.)
    post_otlp(export(1, [0], "warm"))  # the key's first use and other once-only reads
    counts = {
        sessions: [
            _post(post_otlp, export(sessions, turns[:per_session], tag))
            for turns in (list(range(12)), list(range(12, 24)), list(range(12, 24)))
        ]
        for sessions, per_session, tag in ((2, 12, "few"), (24, 1, "many"))
    }
    assert counts[24] == counts[2]
    assert all(rejected == 0 for rejected, _ in counts[24])
    assert max(statements for _, statements in counts[24]) <= 25


def test_every_session_of_a_batch_gets_its_messages_and_exact_rollups(post_otlp):
    post_otlp(export(12, [0, 1]))
    post_otlp(export(12, [2]))
    post_otlp(export(12, [2]))  # a retry adds nothing
    for s in (0, 7, 11):
        session = AgentSession.objects.get(external_id=f"s-{s}")
        events = list(Event.objects.filter(session=session).order_by("seq"))
        assert [e.content for e in events] == [
            f"{kind} {turn} {word} {s}"
            for turn in range(3)
            for kind, word in (("question", "of"), ("answer", "to"))
        ]
        assert [e.seq for e in events] == [1, 2, 3, 4, 5, 6]
        assert [e.duration_ms for e in events if e.role == "assistant"] == [850, 850, 850]
        assert session.user_ref == f"user-{s % 3}"
        assert (session.event_count, session.last_seq) == (6, 6)
        assert (session.prompt_tokens, session.completion_tokens) == (100 + 101 + 102, 60)
        usage = TokenUsage.objects.filter(session=session)
        assert session.cost_usd == sum((u.cost_usd for u in usage), Decimal(0)) > 0
        assert session.last_event_at == events[-1].timestamp
    assert TokenUsage.objects.count() == 12 * 3
    # The daily aggregate (by end user) equals the usage rows.
    daily = {d.user_ref: (d.events, d.prompt_tokens) for d in DailyUsage.objects.all()}
    assert daily == {f"user-{u}": (4 * 3, 4 * (100 + 101 + 102)) for u in range(3)}


def test_a_session_another_export_created_meanwhile_gets_the_events_and_keeps_its_fields(
    post_otlp, project, monkeypatch
):
    session_upsert(project=project, external_id="s-0", fields={"agent_name": "planner"})
    # As if a racing export created it between this one's lock and its insert.
    monkeypatch.setattr(service, "sessions_lock", lambda **kwargs: {})
    rejected, _ = _post(post_otlp, export(2, [0]))
    assert rejected == 0
    first = AgentSession.objects.get(external_id="s-0")
    assert (first.agent_name, first.user_ref, first.event_count) == ("planner", "user-0", 2)
    assert AgentSession.objects.get(external_id="s-1").event_count == 2
