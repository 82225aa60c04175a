"""`duration_ms`: a model or tool call's latency, sent by clients of the JSON API and returned
by GET .../events, stored by both write paths (the ORM one and PostgreSQL's one statement)."""

from __future__ import annotations

import pytest
from django.db import connection

from sessions_app.models import Event
from sessions_app.services.events import EventInput, UsageInput, events_append


@pytest.mark.django_db
def test_a_posted_duration_comes_back_from_get_events(api):
    response = api.post(
        "/sessions/s1/events",
        {"events": [
            {"id": "e1", "source": "user", "message": "hi"},
            {"id": "e2", "source": "llm", "message": "hello", "duration_ms": 812,
             "token_usage": {"model": "gpt-4o-mini", "prompt_tokens": 5, "completion_tokens": 2}},
            {"id": "e3", "item": {"role": "tool", "tool_call_id": "c1", "content": "ok"},
             "duration_ms": 40},
        ]},
    )  # fmt: skip
    assert response.status_code == 201
    items = api.get("/sessions/s1/events").json()["items"]
    assert [i["duration_ms"] for i in items] == [None, 812, 40]
    assert all(i["span_id"] == "" and i["trace_id"] == "" for i in items)


@pytest.mark.django_db
def test_a_negative_duration_is_a_422_naming_the_field(api):
    response = api.post(
        "/sessions/s1/events", {"id": "e1", "source": "llm", "message": "x", "duration_ms": -1}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "events.0.duration_ms"
    assert not Event.objects.exists()


@pytest.mark.django_db
def test_the_ingest_batch_accepts_durations(api):
    response = api.post(
        "/ingest",
        {"items": [{"op": "events", "session_id": "s2", "events": [
            {"id": "i1", "source": "llm", "message": "hey", "duration_ms": 95}]}]},
    )  # fmt: skip
    assert response.status_code == 207
    assert Event.objects.get(external_id="i1").duration_ms == 95


@pytest.mark.django_db
def test_a_duplicate_keeps_the_stored_duration(api):
    body = {"id": "e1", "source": "llm", "message": "x", "duration_ms": 10}
    api.post("/sessions/s1/events", body)
    assert api.post("/sessions/s1/events", body).status_code == 200
    assert Event.objects.get().duration_ms == 10


def _batch(prefix: str, **extra) -> list[EventInput]:
    return [
        EventInput(external_id=f"{prefix}-1", source="user", content="q", body_hash="1", **extra),
        EventInput(
            external_id=f"{prefix}-2",
            source="llm",
            content="a",
            body_hash="2",
            duration_ms=1234,
            span_id="eee19b7ec3c1b174",
            trace_id="5b8efff798038103d269b633813fc60c",
            usage=UsageInput(model="gpt-4o-mini", prompt_tokens=3, completion_tokens=1),
            **extra,
        ),
    ]


def _stored(prefix: str) -> list[tuple]:
    return list(
        Event.objects.filter(external_id__startswith=prefix)
        .order_by("seq")
        .values_list("duration_ms", "span_id", "trace_id")
    )


EXPECTED = [(None, "", ""), (1234, "eee19b7ec3c1b174", "5b8efff798038103d269b633813fc60c")]


@pytest.mark.django_db
def test_the_general_path_stores_durations_and_span_ids(project):
    # A run id sends the batch down the ORM path on every database.
    events_append(
        project=project, session_external_id="orm", events=_batch("orm", run_external_id="r1")
    )
    assert _stored("orm") == EXPECTED


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_one_statement_path_stores_durations_and_span_ids(project):
    from django.test.utils import CaptureQueriesContext

    events_append(project=project, session_external_id="fast", events=_batch("warm"))
    with CaptureQueriesContext(connection) as queries:
        events_append(project=project, session_external_id="fast", events=_batch("fast"))
    statements = [
        q["sql"]
        for q in queries.captured_queries
        if "SAVEPOINT" not in q["sql"] and "modelprice" not in q["sql"]  # the price book
    ]
    assert len(statements) == 1  # the one statement took it
    assert _stored("fast") == EXPECTED
