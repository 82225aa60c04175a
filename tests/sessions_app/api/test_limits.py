"""Limits and bad input: 413 for oversize, clean 422 naming the field, nothing written."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from sessions_app.models import AgentSession, Event

pytestmark = pytest.mark.django_db


def nothing_written() -> bool:
    return not AgentSession.objects.exists() and not Event.objects.exists()


@override_settings(INGEST_MAX_BODY_BYTES=1000)
def test_an_oversized_body_is_a_json_413(api):
    body = {"events": [{"id": "e", "source": "user", "message": "x" * 2000}]}
    response = api.post("/sessions/s/events", body)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert nothing_written()


@override_settings(INGEST_MAX_EVENTS=5)
def test_too_many_events_in_a_batch_is_413(api):
    events = [{"id": f"e{i}", "source": "user", "message": "x"} for i in range(6)]
    response = api.post("/sessions/s/events", {"events": events})
    assert response.status_code == 413
    assert response.json()["field"] == "events"
    assert nothing_written()


@override_settings(INGEST_MAX_EVENTS=5)
def test_tool_calls_count_towards_the_batch_limit(api):
    calls = [
        {"id": f"c{i}", "type": "function", "function": {"name": "f", "arguments": "{}"}}
        for i in range(5)
    ]
    item = {"role": "assistant", "content": None, "tool_calls": calls}
    response = api.post("/sessions/s/events", {"events": [{"id": "m", "item": item}]})
    assert response.status_code == 413
    assert nothing_written()


@pytest.mark.parametrize(
    ("raw", "code", "field"),
    [
        (
            b'{"events": [{"id": "e", "source": "user", "message": "a\\u0000b"}]}',
            "invalid_text",
            "events.0.message",
        ),
        (
            b'{"events": [{"id": "e", "source": "user", "message": "\\ud800"}]}',
            "invalid_text",
            "events.0.message",
        ),
        (
            b'{"events": [{"id": "e", "source": "user", "message": {"k\\u0000": 1}}]}',
            "invalid_text",
            "events.0.message.k\x00",
        ),
        (
            b'{"events": [{"id": "e", "source": "user", "message": "\xff\xfe"}]}',
            "invalid_text",
            "body",
        ),
        (b'{"events": [', "invalid_json", "body"),
        (b'{"events": [{"id": "e", "source": "user", "message": NaN}]}', "invalid", "body"),
    ],
)
def test_bad_text_and_bad_json_are_rejected_cleanly(api, raw, code, field):
    response = api.post("/sessions/s/events", raw=raw)
    assert response.status_code == 422
    assert response.json()["code"] == code
    assert response.json()["field"] == field
    assert nothing_written()


def test_nesting_deeper_than_the_limit_is_rejected_naming_where(api, settings):
    deep: dict = {}
    node = deep
    for _ in range(settings.INGEST_MAX_JSON_DEPTH + 2):
        node["a"] = {}
        node = node["a"]
    response = api.post(
        "/sessions/s/events", {"events": [{"id": "e", "source": "user", "message": deep}]}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "too_deep"
    assert response.json()["field"].startswith("events.0.message.a.a")
    assert nothing_written()


def test_pathologically_deep_json_is_422_not_a_crash(api):
    raw = b'{"events": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = api.post("/sessions/s/events", raw=raw)
    assert response.status_code == 422
    assert nothing_written()


def test_nesting_within_the_limit_is_accepted(api, settings):
    message: dict = {}
    node = message
    for _ in range(settings.INGEST_MAX_JSON_DEPTH - 5):
        node["a"] = {}
        node = node["a"]
    body = {"events": [{"id": "e", "source": "user", "message": message}]}
    response = api.post("/sessions/s/events", body)
    assert response.status_code == 201, response.json()
    assert Event.objects.get().payload["message"] == json.loads(json.dumps(message))


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/sessions/a%00b", {}),
        ("/sessions", {"agent": "a\x00b"}),
        ("/sessions", {"metadata.env": "a\x00b"}),
        ("/sessions", {"created_after": "0001-01-01T00:00:00+05:00"}),
    ],
)
def test_bad_text_in_the_url_is_422(api, path, params):
    response = api.get(path, **params)
    assert response.status_code == 422


def test_an_overlong_session_id_in_the_url_is_422_and_nothing_is_written(api):
    response = api.post(
        f"/sessions/{'x' * 256}/events", {"id": "e", "source": "user", "message": "x"}
    )
    assert response.status_code == 422
    assert response.json()["field"] == "external_id"
    assert nothing_written()
