"""PostgreSQL: the words an event's insert trigger stores (migration 0016) are what the list's
search, its count and a session's `?find=` match, through the `event_search` index, whatever
path wrote the event; edited text is found by its new words, and rows older than the migration
(no stored words) are still found, by their parsed text."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from sessions_app.models import AgentSession, Event
from sessions_app.selectors.search import events_matching, search_scope, session_ids_matching
from sessions_app.selectors.transcript import find_in_session
from sessions_app.services.events import statement

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

START = 1_767_607_200_000_000_000  # 2026-01-05 10:00 UTC: spans carry their own times


def _found(project, words: str) -> set[str]:
    ids = [r["session_id"] for r in session_ids_matching(project, words)]
    return set(AgentSession.objects.filter(pk__in=ids).values_list("external_id", flat=True))


def _stored_words() -> dict[str, Any]:
    """Each event's stored words and the words of its text, by external id."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT external_id, search_vector::text, "
            "strip(to_tsvector('simple', left(content, 65536)))::text FROM sessions_app_event"
        )
        return {ext: (stored, parsed) for ext, stored, parsed in cursor.fetchall()}


def _post_events(client, token: str, session: str, events: list[dict]) -> None:
    response = client.post(
        f"/api/v1/sessions/{session}/events",
        data=json.dumps({"events": events}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.content


def _otlp_export(session: str, question: str, answer: str) -> bytes:
    """One OpenInference LLM span of a conversation (the many-session path's input)."""

    def kv(key: str, value: object) -> KeyValue:
        if isinstance(value, int):
            return KeyValue(key=key, value=AnyValue(int_value=value))
        return KeyValue(key=key, value=AnyValue(string_value=str(value)))

    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id = b"0123456789abcdef"
    span.span_id = b"01234567"
    span.name = "ChatCompletion"
    span.start_time_unix_nano = START
    span.end_time_unix_nano = START + 850_000_000
    span.attributes.extend(
        [
            kv("openinference.span.kind", "LLM"),
            kv("session.id", session),
            kv("llm.model_name", "gpt-4o-mini"),
            kv("llm.input_messages.0.message.role", "user"),
            kv("llm.input_messages.0.message.content", question),
            kv("llm.output_messages.0.message.role", "assistant"),
            kv("llm.output_messages.0.message.content", answer),
            kv("llm.token_count.prompt", 100),
            kv("llm.token_count.completion", 20),
        ]
    )
    return request.SerializeToString()


def test_every_write_path_stores_the_words_the_search_finds(
    client, project, api_token, monkeypatch
):
    real = statement.statement_append
    taken: list[str] = []
    forced_general = False

    def statement_append(*args: Any) -> Any:
        result = None if forced_general else real(*args)
        taken.append("statement" if result is not None else "general")
        return result

    monkeypatch.setattr(statement, "statement_append", statement_append)

    # The JSON API: a plain batch takes the one statement; with it off, the general path.
    _post_events(
        client,
        api_token,
        "one-statement",
        [{"id": "a1", "source": "user", "message": "apricot pie"}],
    )
    forced_general = True
    _post_events(
        client, api_token, "general", [{"id": "b1", "source": "user", "message": "banana bread"}]
    )
    forced_general = False
    assert taken == ["statement", "general"]
    # /ingest, each item on its own.
    response = client.post(
        "/api/v1/ingest",
        data=json.dumps(
            {
                "items": [
                    {
                        "op": "events",
                        "session_id": "ingested",
                        "events": [{"id": "c1", "source": "user", "message": "cherry tart"}],
                    }
                ]
            }
        ),
        content_type="application/json",
        headers={"Authorization": f"Bearer {api_token}"},
    )
    assert response.status_code == 207 and response.json()["results"][0]["status"] == 201
    # The OTLP receiver: the many-session path (services/events/many.py).
    response = client.post(
        "/api/otel/v1/traces",
        data=_otlp_export("traced", "damson jam please", "date loaf instead"),
        content_type="application/x-protobuf",
        headers={"Authorization": f"Bearer {api_token}"},
    )
    assert response.status_code == 200

    stored = _stored_words()
    assert len(stored) == 5
    # Every event has its words stored (no positions), equal to its parsed text's.
    assert all(words is not None and words == parsed for words, parsed in stored.values())
    assert stored["a1"][0] == "'apricot' 'pie'"
    for word, session in [
        ("apricot", "one-statement"),
        ("banana", "general"),
        ("cherry tart", "ingested"),
        ("damson", "traced"),
        ("loaf", "traced"),
    ]:
        assert _found(project, word) == {session}
        assert search_scope(project, word).session_ids == list(
            AgentSession.objects.filter(external_id=session).values_list("pk", flat=True)
        )
    traced = AgentSession.objects.get(external_id="traced")
    assert [hit.seq for hit in find_in_session(traced, "loaf")[0]] == [2]


def test_edited_text_is_found_by_its_new_words_only(project, client, api_token):
    _post_events(client, api_token, "s", [{"id": "e1", "source": "user", "message": "old words"}])
    Event.objects.filter(external_id="e1").update(content="fresh phrasing")
    assert _found(project, "fresh") == {"s"}
    assert _found(project, "old") == set()
    # A save that rewrites every column but not the text keeps the words.
    event = Event.objects.get(external_id="e1")
    event.name = "renamed"
    event.save()
    assert _stored_words()["e1"][0] == "'fresh' 'phrasing'"


def test_events_from_before_the_migration_without_stored_words_are_still_found(
    project, client, api_token
):
    _post_events(
        client,
        api_token,
        "s",
        [
            {"id": "old", "source": "user", "message": "legacy refund request"},
            {"id": "new", "source": "llm", "message": "your refund is on its way"},
        ],
    )
    with connection.cursor() as cursor:  # as a row stored before the trigger existed
        cursor.execute(
            "UPDATE sessions_app_event SET search_vector = NULL WHERE external_id = 'old'"
        )
    assert _stored_words()["old"][0] is None
    assert _found(project, "legacy") == {"s"}
    session = AgentSession.objects.get(external_id="s")
    assert [hit.seq for hit in find_in_session(session, "refund")[0]] == [1, 2]
    assert [hit.seq for hit in find_in_session(session, "legacy")[0]] == [1]


def _plan(sql: str, params: Any) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_search_the_count_and_find_read_the_index_and_the_stored_words(project):
    session = AgentSession.objects.create(project=project, external_id="s")
    # Enough rows, analysed, for the planner to prefer the index for a rare word.
    Event.objects.bulk_create(
        Event(
            project=project,
            session=session,
            seq=n,
            external_id=f"e{n}",
            source="user",
            content=f"message {n} about an invoice" if n == 7 else f"message {n}",
        )
        for n in range(1, 3001)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE sessions_app_event")
    # The list's semi-join and count, its bounded read of the latest matches, and ?find='s
    # matches without the seq order.
    queries = [
        session_ids_matching(project, "invoice"),
        session_ids_matching(project, "invoice").order_by("-pk")[:2001],
        events_matching(Event.objects.filter(session=session), "invoice").values("seq"),
    ]
    for query in queries:
        plan = _plan(*query.query.sql_with_params())
        assert "Bitmap Index Scan on event_search" in plan, plan
        # The recheck reads the stored words; the text is parsed only where there are none.
        assert "COALESCE(search_vector" in plan.replace("sessions_app_event.", ""), plan
