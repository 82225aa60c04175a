"""`/ingest`: a mixed batch answered 207, each item all or nothing on its own."""

from __future__ import annotations

import pytest
from django.test import override_settings

from sessions_app.models import AgentSession, Event, Run

pytestmark = pytest.mark.django_db


def test_mixed_batch_is_207_with_a_result_per_item_in_order(api):
    response = api.post(
        "/ingest",
        {
            "items": [
                {"op": "session", "id": "conv", "agent_name": "bot"},
                {"op": "run", "session_id": "conv", "id": "run-1", "status": "running"},
                {
                    "op": "events",
                    "session_id": "conv",
                    "events": [
                        {"id": "e1", "source": "user", "message": "hi", "run_id": "run-1"},
                        {
                            "id": "e2",
                            "format": "openai_chat",
                            "item": {"role": "assistant", "content": "yo"},
                        },
                    ],
                },
                {"op": "run_update", "id": "run-1", "status": "completed"},
                {"op": "session", "id": "sub", "parent_id": "conv"},
            ]
        },
    )
    assert response.status_code == 207
    results = response.json()["results"]
    assert [(r["index"], r["op"], r["status"]) for r in results] == [
        (0, "session", 201),
        (1, "run", 201),
        (2, "events", 201),
        (3, "run_update", 200),
        (4, "session", 201),
    ]
    # The session's body is what the item left, not the state at the end of the batch.
    assert results[0]["body"]["event_count"] == 0
    assert results[2]["body"]["results"] == [
        {"id": "e1", "seq": 1, "status": "created"},
        {"id": "e2", "seq": 2, "status": "created"},
    ]
    assert results[3]["body"]["status"] == "completed"
    assert results[4]["body"]["parent_id"] == "conv"


def test_a_failing_item_is_rolled_back_alone(api):
    api.post("/sessions/s/events", {"id": "taken", "source": "user", "message": "original"})
    response = api.post(
        "/ingest",
        {
            "items": [
                {
                    "op": "events",
                    "session_id": "s",
                    "events": [
                        {"id": "new-1", "source": "user", "message": "a"},
                        {"id": "taken", "source": "user", "message": "different"},
                    ],
                },
                {
                    "op": "events",
                    "session_id": "s",
                    "events": [{"id": "new-2", "source": "user", "message": "b"}],
                },
                {
                    "op": "events",
                    "session_id": "s",
                    "events": [{"id": "x", "source": "nobody", "message": "b"}],
                },
                {"op": "teleport"},
                {"op": "run_update", "id": "ghost", "status": "running"},
            ]
        },
    )
    assert response.status_code == 207
    results = response.json()["results"]
    assert [r["status"] for r in results] == [409, 201, 422, 422, 404]
    assert results[2]["body"]["field"] == "items.2.events.0.source"
    assert results[3]["body"]["field"] == "items.3"
    # Errors the services raise name the item's field within the batch too.
    assert results[0]["body"]["field"] == "items.0.id"  # the detail names the event id
    assert results[4]["body"]["field"] == "items.4.id"
    # Listed as a single request's 422 lists them (docs/api.md: `detail` is a list).
    assert results[2]["body"]["code"] == "validation_error"
    (error,) = results[2]["body"]["detail"]
    assert error["field"] == "items.2.events.0.source" and error["msg"] and error["type"]
    assert sorted(Event.objects.values_list("external_id", flat=True)) == ["new-2", "taken"]
    assert AgentSession.objects.get().event_count == 2


def test_unknown_top_level_field_is_rejected(api):
    response = api.post("/ingest", {"items": [{"op": "session", "id": "a"}], "mode": "fast"})
    assert response.status_code == 422
    assert not AgentSession.objects.exists()


@override_settings(INGEST_MAX_EVENTS=3)
def test_too_many_events_across_items_is_413_and_nothing_is_written(api):
    events = [{"id": f"e{i}", "source": "user", "message": "x"} for i in range(2)]
    response = api.post(
        "/ingest",
        {
            "items": [
                {"op": "events", "session_id": "a", "events": events},
                {
                    "op": "events",
                    "session_id": "b",
                    "events": [{**e, "id": e["id"] + "b"} for e in events],
                },
            ]
        },
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert not Event.objects.exists()
    assert not Run.objects.exists()
