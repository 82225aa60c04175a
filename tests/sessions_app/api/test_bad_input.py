"""The bad inputs that once made the API answer 500 (issue 16): each is a JSON 4xx naming the
field, and nothing is written."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.test import override_settings

from sessions_app.models import AgentSession, Event, Run

pytestmark = pytest.mark.django_db

SURROGATE = b"\xed\xa0\x80"  # a lone UTF-16 surrogate encoded raw, as UTF-8 forbids
HUGE_INT = str(2**64).encode()


def nothing_written() -> bool:
    return not (AgentSession.objects.exists() or Event.objects.exists() or Run.objects.exists())


def _event(message: bytes, extra: bytes = b"") -> bytes:
    return b'{"events": [{"id": "e", "source": "user", "message": ' + message + extra + b"}]}"


def _ingest(event: bytes) -> bytes:
    return b'{"items": [{"op": "events", "session_id": "s", "events": [' + event + b"]}]}"


# (method, path, body, status, code, field)
BODIES = [
    (
        "post",
        "/sessions/s/events",
        _event(b'"a' + SURROGATE + b'b"'),
        422,
        "invalid_text",
        "events.0.message",
    ),
    (
        "post",
        "/sessions/s/events",
        _event(b'"x"', b', "metadata": {"k\xed\xa0\x80": 1}'),
        422,
        "invalid_text",
        "events.0.metadata.k\ud800",
    ),
    ("post", "/sessions/s/events", _event(b"1e400"), 422, "invalid_number", "events.0.message"),
    (
        "post",
        "/sessions/s/events",
        _event(b"[1e400, " + HUGE_INT + b"]"),
        422,
        "invalid_number",
        "events.0.message.0",
    ),
    (
        "post",
        "/sessions/s/events",
        _event(b'"x"', b', "metadata": {"a": -1e400, "b": ' + HUGE_INT + b"}"),
        422,
        "invalid_number",
        "events.0.metadata.a",
    ),
    (
        "put",
        "/sessions/s",
        b'{"metadata": {"a": 1e400, "b": ' + HUGE_INT + b"}}",
        422,
        "invalid_number",
        "metadata.a",
    ),
    (
        "post",
        "/sessions/s/events",
        _event(b'"x"', b', "timestamp": "2026-01-05T10:00:00+23:00"'),
        422,
        "validation_error",
        "events.0.timestamp",
    ),
    (
        "post",
        "/sessions/s/events",
        _event(b'"x"', b', "timestamp": "2026-01-05T10:00:00-16:00"'),
        422,
        "validation_error",
        "events.0.timestamp",
    ),
    (
        "post",
        "/sessions/s/runs",
        b'{"id": "r", "started_at": "2026-01-05T10:00:00+20:30"}',
        422,
        "validation_error",
        "started_at",
    ),
    (
        "post",
        "/sessions/s/events",
        '{"events": [{"id": "e", "source": "user", "message": "hi"}]}'.encode("utf-16"),
        422,
        "invalid_text",
        "body",
    ),
    (
        "post",
        "/sessions/s/events",
        '{"events": [{"id": "e", "source": "user", "message": "hi"}]}'.encode("utf-16-le"),
        422,
        "invalid_json",
        "body",
    ),
    (
        "post",
        "/sessions/s/events",
        _event(b'"x"', b', "is_error": "yes"'),
        422,
        "validation_error",
        "events.0.is_error",
    ),
    (
        "post",
        "/sessions/s/events",
        _event(b'"x"', b', "is_error": 1'),
        422,
        "validation_error",
        "events.0.is_error",
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "code", "field"), BODIES)
def test_a_bad_body_is_a_json_4xx_naming_the_field_and_writes_nothing(
    api, method, path, body, status, code, field
):
    response = getattr(api, method)(path, raw=body)
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == code
    named = response.json().get("field") or response.json()["detail"][0]["field"]
    assert named == field
    assert nothing_written()


# (body, item status, code, field) for one bad item in /ingest, after a good one.
INGEST_ITEMS = [
    (_event(b'"a' + SURROGATE + b'"'), "invalid_text", "items.1.events.0.message"),
    (_event(b"[1e400, " + HUGE_INT + b"]"), "invalid_number", "items.1.events.0.message.0"),
]


@pytest.mark.parametrize(("event", "code", "field"), INGEST_ITEMS)
def test_a_bad_value_in_ingest_is_refused_whole_with_the_field_named(api, event, code, field):
    inner = event.removeprefix(b'{"events": [').removesuffix(b"]}")
    body = (
        b'{"items": [{"op": "session", "id": "ok"}, '
        b'{"op": "events", "session_id": "s", "events": [' + inner + b"]}]}"
    )
    response = api.post("/ingest", raw=body)
    # The body as a whole cannot be parsed, so nothing in it is applied.
    assert response.status_code == 422
    assert response.json()["code"] == code
    assert response.json()["field"] == field
    assert nothing_written()


def test_an_offset_postgresql_refuses_in_a_later_ingest_item_is_a_422_for_that_item(api):
    body = {
        "items": [
            {"op": "session", "id": "ok"},
            {
                "op": "events",
                "session_id": "bad",
                "events": [
                    {
                        "id": "e",
                        "source": "user",
                        "message": "x",
                        "timestamp": "2026-01-05T10:00:00+18:00",
                    }
                ],
            },
        ]
    }
    response = api.post("/ingest", body)
    assert response.status_code == 207
    first, second = response.json()["results"]
    assert first["status"] == 201
    assert second["status"] == 422
    assert second["body"]["field"] == "items.1.events.0.timestamp"
    assert list(AgentSession.objects.values_list("external_id", flat=True)) == ["ok"]
    assert not Event.objects.exists()


def test_an_unexpected_failure_of_a_later_ingest_item_still_answers_207(api, monkeypatch):
    from sessions_app.services import ingest as ingest_service

    real_apply = ingest_service._apply

    def apply(project, op):
        if getattr(op, "external_id", "") == "boom":
            raise RuntimeError("a bug")
        return real_apply(project, op)

    monkeypatch.setattr(ingest_service, "_apply", apply)
    body = {"items": [{"op": "session", "id": "ok"}, {"op": "session", "id": "boom"}]}
    response = api.post("/ingest", body)
    assert response.status_code == 207
    first, second = response.json()["results"]
    assert first["status"] == 201
    assert second["status"] == 500
    assert second["body"]["code"] == "server_error"
    assert list(AgentSession.objects.values_list("external_id", flat=True)) == ["ok"]


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("created_after", "2026-01-05T10:00:00+16:00"),
        ("created_before", "2026-01-05T10:00:00-23:59"),
        ("active_after", "2026-01-05T10:00:00+20:00"),
        ("active_before", "2026-01-05T10:00:00-17:30"),
    ],
)
def test_a_date_filter_with_an_impossible_offset_is_a_422(api, param, value):
    response = api.get("/sessions", **{param: value})
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == param


def test_a_date_filter_with_the_largest_offset_works(api):
    response = api.get("/sessions", created_after="2026-01-05T10:00:00+15:59")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/usage", "model"),
        ("/usage", "agent"),
        ("/usage", "user"),
        ("/usage/what-if", "model"),
        ("/usage/what-if", "target_model"),
        ("/usage/what-if", "session"),
        ("/usage/what-if", "agent"),
        ("/usage/what-if", "user"),
    ],
)
def test_a_nul_in_a_usage_query_parameter_is_a_422_naming_it(api, path, param):
    response = api.get(path, **{param: "a\x00b"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == param


def test_a_body_just_over_django_s_own_limit_is_the_documented_json_413(api):
    # Django refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE (limit + 1 KiB) with an HTML 400
    # when something reads it before the parser's check.
    from django.conf import settings

    message = "x" * (settings.INGEST_MAX_BODY_BYTES + 4096)
    response = api.post("/sessions/s/events", {"events": [{"source": "user", "message": message}]})
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert response.json()["field"] == "body"
    assert nothing_written()


@override_settings(INGEST_MAX_BODY_BYTES=1000)
def test_an_oversized_ingest_body_is_a_json_413(api):
    body = {"items": [{"op": "session", "id": "s", "title": "x" * 2000}]}
    response = api.post("/ingest", body)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert nothing_written()


@pytest.mark.parametrize(
    "path", ["/api/v1/nope", "/api/v1/sessions/s/nope", "/api/nope", "/api/v2/sessions"]
)
def test_an_unmatched_api_route_is_a_json_404(client, api_token, path):
    response = client.get(path, headers={"Authorization": f"Bearer {api_token}"})
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("method", "path"), [("delete", "/api/v1/health"), ("put", "/api/v1/usage")]
)
def test_a_method_an_api_path_does_not_take_is_a_json_405(client, api_token, method, path):
    response = getattr(client, method)(path, headers={"Authorization": f"Bearer {api_token}"})
    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "method_not_allowed"
    assert "GET" in response["Allow"]


def test_a_utf8_body_with_a_byte_order_mark_is_still_accepted(api):
    body = b"\xef\xbb\xbf" + json.dumps({"source": "user", "message": "hi"}).encode()
    response = api.post("/sessions/s/events", raw=body)
    assert response.status_code == 201


def test_a_huge_integer_alone_is_stored_as_sent(api):
    body = b'{"metadata": {"n": ' + HUGE_INT + b"}}"
    response = api.put("/sessions/s", raw=body)
    assert response.status_code == 201
    assert AgentSession.objects.get().metadata == {"n": 2**64}


@pytest.mark.parametrize("path", ["/usage", "/usage/what-if"])
@pytest.mark.parametrize(
    "params", [{"to": "0001-01-01"}, {"from": "0001-01-01"}, {"to": "9999-12-31"}]
)
def test_a_usage_day_out_of_range_is_a_422_not_a_500(api, path, params):
    response = api.get(path, **params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] in ("to", "from")


def test_events_centuries_apart_keep_the_session_duration_in_its_column(api):
    """Event times may be anything from 1970 to 9000: the session's duration in seconds (a
    bigint) holds their distance, whether the session is new (its row made in Python) or grown
    (the one statement's SQL); an integer cast in between was a 500."""
    first = {"source": "user", "message": "now", "timestamp": "2026-01-01T00:00:00Z"}
    late = {"source": "user", "message": "later", "timestamp": "8999-01-01T00:00:00Z"}
    assert api.post("/sessions/grown/events", {"events": [first]}).status_code == 201
    assert api.post("/sessions/grown/events", {"events": [late]}).status_code == 201
    assert api.post("/sessions/new/events", {"events": [first, late]}).status_code == 201
    durations = set(AgentSession.objects.values_list("duration_seconds", flat=True))
    apart = datetime(8999, 1, 1, tzinfo=UTC) - datetime(2026, 1, 1, tzinfo=UTC)
    assert durations == {int(apart.total_seconds())}  # 220 billion: beyond an integer


def test_an_integer_past_pythons_digit_limit_is_a_clear_422(api):
    """Python parses at most 4,300 digits; past that the client is told so, not the
    interpreter's advice, and nothing is stored."""
    response = api.post("/sessions/s/events", raw=_event(b"1" + b"0" * 5000))
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_number"
    assert "4300 digits" in response.json()["detail"]
    assert "sys." not in response.json()["detail"]
    # 4,300 digits are kept as sent.
    ok = api.post("/sessions/s/events", raw=_event(b"9" * 4300))
    assert ok.status_code == 201, ok.json()
