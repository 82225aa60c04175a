"""Session and run ids holding `/` (Agent Framework's stores allow them): addressable on every
path as `%2F` (issue 16, item 4)."""

from __future__ import annotations

import pytest

from config.handlers import keep_encoded_slashes
from sessions_app.models import AgentSession, Event, Run

pytestmark = pytest.mark.django_db

SID = "tenant/conv/1"
ENC = "tenant%2Fconv%2F1"


def test_a_session_id_with_slashes_is_created_read_and_listed(api):
    created = api.put(f"/sessions/{ENC}", {"title": "t"})
    assert created.status_code == 201
    assert created.json()["id"] == SID
    got = api.get(f"/sessions/{ENC}")
    assert got.status_code == 200
    assert got.json()["id"] == SID
    assert [s["id"] for s in api.get("/sessions").json()["items"]] == [SID]


def test_events_of_a_session_id_with_slashes_are_written_read_popped_and_cleared(api):
    posted = api.post(
        f"/sessions/{ENC}/events",
        {
            "events": [
                {"id": "e1", "source": "user", "message": "one"},
                {"id": "e2", "source": "user", "message": "two"},
                {"id": "e3", "source": "user", "message": "three"},
            ]
        },
    )
    assert posted.status_code == 201
    assert posted.json()["session_id"] == SID
    assert AgentSession.objects.get().external_id == SID
    items = api.get(f"/sessions/{ENC}/events").json()["items"]
    assert [e["id"] for e in items] == ["e1", "e2", "e3"]
    popped = api.delete(f"/sessions/{ENC}/events/last")
    assert popped.status_code == 200
    assert popped.json()["item"]["id"] == "e3"
    cleared = api.delete(f"/sessions/{ENC}/events")
    assert cleared.json() == {"deleted": 2}
    # Pop and clear take the events out of the agent's reads and keep them in the record.
    assert not Event.objects.filter(removed_at__isnull=True).exists()
    assert sorted(Event.objects.values_list("removed_by", flat=True)) == ["clear", "clear", "pop"]


def test_runs_prompt_and_summaries_take_a_session_id_with_slashes(api):
    api.post(f"/sessions/{ENC}/events", {"id": "e1", "source": "user", "message": "hello"})
    run = api.post(f"/sessions/{ENC}/runs", {"id": "run/1"})
    assert run.status_code == 201
    assert run.json()["session_id"] == SID
    patched = api.patch("/runs/run%2F1", {"status": "running"})
    assert patched.status_code == 200
    assert Run.objects.get().status == "running"
    prompt = api.get(f"/sessions/{ENC}/prompt")
    assert prompt.status_code == 200
    assert prompt.json()["messages"]
    summary = api.post(f"/sessions/{ENC}/summaries", {})
    assert summary.status_code in (201, 202)


def test_a_session_id_with_slashes_is_deleted(api):
    api.put(f"/sessions/{ENC}", {})
    deleted = api.delete(f"/sessions/{ENC}")
    assert deleted.status_code == 200
    assert not AgentSession.objects.exists()


def test_an_id_ending_like_a_sub_path_is_the_session_not_its_events(api):
    api.put("/sessions/a", {"title": "a"})
    api.put("/sessions/a%2Fevents", {"title": "the other"})
    got = api.get("/sessions/a%2Fevents")
    assert got.status_code == 200
    assert got.json()["title"] == "the other"


def test_an_unencoded_slash_is_still_a_json_404(api):
    api.put(f"/sessions/{ENC}", {})
    response = api.get(f"/sessions/{SID}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_lowercase_encoded_slash_works_too(api):
    api.put("/sessions/a%2fb", {})
    assert AgentSession.objects.get().external_id == "a/b"


def test_a_nul_next_to_an_encoded_slash_is_still_refused(api):
    response = api.put("/sessions/a%2Fb%00", {})
    assert response.status_code in (404, 422)
    assert not AgentSession.objects.exists()


def test_the_path_is_rebuilt_from_gunicorn_s_raw_target():
    environ = {
        "RAW_URI": "/api/v1/sessions/a%2Fb/events?x=1",
        "PATH_INFO": "/api/v1/sessions/a/b/events",
    }
    keep_encoded_slashes(environ)
    assert environ["PATH_INFO"] == "/api/v1/sessions/a\x00b/events"


def test_a_path_without_an_encoded_slash_is_left_alone():
    environ = {"RAW_URI": "/api/v1/sessions/caf%C3%A9", "PATH_INFO": "/api/v1/sessions/caf\xc3\xa9"}
    keep_encoded_slashes(environ)
    assert environ["PATH_INFO"] == "/api/v1/sessions/caf\xc3\xa9"


def test_non_ascii_next_to_an_encoded_slash_is_kept_as_wsgi_bytes():
    environ = {"REQUEST_URI": "/api/v1/sessions/caf%C3%A9%2Fx", "PATH_INFO": "ignored"}
    keep_encoded_slashes(environ)
    assert environ["PATH_INFO"] == "/api/v1/sessions/caf\xc3\xa9\x00x"


def test_non_ascii_session_id_with_a_slash_round_trips(api):
    api.put("/sessions/caf%C3%A9%2Fx", {})
    assert AgentSession.objects.get().external_id == "café/x"
