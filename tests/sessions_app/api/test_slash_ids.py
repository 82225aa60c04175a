"""Session and run ids holding `/` (Agent Framework's stores allow them): addressable on every
path as `%2F` (issue 16, item 4)."""

from __future__ import annotations

import pytest

from config.handlers import ENCODED_SLASH_KEY, NOT_UTF8, keep_encoded_slashes
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


# Path ids are what a body's id may be: any printable Unicode (and `/` as `%2F`), never bytes
# that are not UTF-8 nor control characters (those would be read as another id, or stored as
# one no body could name).

NOT_UTF8_IDS = ["a%FFb", "a%feb", "a%C3b", "a%C0%80b", "%ED%A0%80x", "a%E2%82b", "a%2Fb%FF"]
CONTROL_IDS = ["a%01b", "a%1Ab", "a%7Fb", "a%C2%85b", "a%0Ab", "a%09b", "a%1Bb"]


@pytest.mark.parametrize("path_id", NOT_UTF8_IDS + CONTROL_IDS)
def test_a_path_id_that_is_not_utf8_or_holds_a_control_character_is_refused(api, path_id):
    for response in (
        api.put(f"/sessions/{path_id}", {}),
        api.get(f"/sessions/{path_id}"),
        api.post(f"/sessions/{path_id}/events", {"id": "e", "source": "user", "message": "x"}),
        api.patch(f"/runs/{path_id}", {"status": "running"}),
    ):
        assert response.status_code == 422, response.content
        assert response.json()["code"] == "invalid_text"
        assert response.json()["field"] == "external_id"
    assert not AgentSession.objects.exists()
    assert not Event.objects.exists()


def test_different_bytes_that_are_not_utf8_never_name_one_session(api):
    assert api.put("/sessions/a%ffb", {}).status_code == 422
    assert api.get("/sessions/a%feb").status_code == 422
    # The text Django would have made of them, and U+FFFD an ASGI server would, are ids.
    assert api.put("/sessions/a%25FFb", {}).status_code == 201
    assert api.put("/sessions/a%EF%BF%BDb", {}).status_code == 201
    assert sorted(AgentSession.objects.values_list("external_id", flat=True)) == [
        "a%FFb",
        "a\ufffdb",
    ]


def test_a_branch_name_in_the_path_follows_the_same_rule(api):
    api.put("/sessions/s", {})
    response = api.delete("/sessions/s/branches/a%FFb")
    assert (response.status_code, response.json()["code"]) == (422, "invalid_text")
    assert response.json()["field"] == "name"


@pytest.mark.parametrize(
    ("path_id", "stored"),
    [
        ("caf%C3%A9", "café"),
        ("a%C2%A0b", "a\u00a0b"),  # no-break space
        ("a%E2%80%8Bb", "a\u200bb"),  # zero-width space
        ("%F0%9F%A6%8A", "\U0001f98a"),
        ("a%EF%BF%BDb", "a\ufffdb"),  # U+FFFD sent as itself
        ("t%2Fx%20y", "t/x y"),
        ("a%25b", "a%b"),
    ],
)
def test_any_printable_unicode_is_a_path_id(api, path_id, stored):
    created = api.put(f"/sessions/{path_id}", {})
    assert created.status_code == 201, created.content
    assert created.json()["id"] == stored
    assert api.get(f"/sessions/{path_id}").json()["id"] == stored


@pytest.mark.parametrize("bad", ["a\x01b", "a\nb", "a\x7fb", "a\x85b"])
def test_a_body_id_holding_a_control_character_is_refused_as_in_a_path(api, bad):
    responses = [
        api.put("/sessions/s", {"parent_id": bad}),
        api.post("/sessions/s/events", {"id": bad, "source": "user", "message": "x"}),
    ]
    for response in responses:
        assert response.status_code == 422, response.content
    item = api.post("/ingest", {"items": [{"op": "session", "id": bad}]}).json()["results"][0]
    assert item["status"] == 422 and item["body"]["field"] == "items.0.id"
    assert not AgentSession.objects.filter(external_id=bad).exists()
    assert not Event.objects.exists()


def test_bytes_that_are_not_utf8_are_marked_in_the_rebuilt_path():
    # An ASGI server has already made them U+FFFD; the raw target says what was sent.
    environ = {
        "RAW_URI": "/api/v1/sessions/a%FF%FEb/events",
        "PATH_INFO": "/api/v1/sessions/a\xef\xbf\xbd\xef\xbf\xbdb/events",
    }
    keep_encoded_slashes(environ)
    assert environ["PATH_INFO"] == f"/api/v1/sessions/a{NOT_UTF8}b/events"
    assert ENCODED_SLASH_KEY not in environ
    # Raw bytes in a latin-1 target (gunicorn), next to an encoded slash.
    environ = {"RAW_URI": "/api/v1/sessions/a\xff%2Fb", "PATH_INFO": "ignored"}
    keep_encoded_slashes(environ)
    assert environ["PATH_INFO"] == f"/api/v1/sessions/a{NOT_UTF8}\x00b"
    # Without a raw target, PATH_INFO's own bytes.
    environ = {"PATH_INFO": "/api/v1/sessions/a\xffb"}
    keep_encoded_slashes(environ)
    assert environ["PATH_INFO"] == f"/api/v1/sessions/a{NOT_UTF8}b"
    environ = {"PATH_INFO": "/api/v1/sessions/caf\xc3\xa9"}
    keep_encoded_slashes(environ)
    assert environ["PATH_INFO"] == "/api/v1/sessions/caf\xc3\xa9"
