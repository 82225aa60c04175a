"""`POST /sessions/{id}/summaries` (202) and `GET /summaries/{id}`."""

from __future__ import annotations

import pytest

from sessions_app import summaries as text
from sessions_app.models import Summary

from ..chat_format import append, assistant, user


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv(text.MOCK_RESPONSE_ENV, raising=False)


@pytest.fixture
def conv(project):
    return append(
        project,
        "conv",
        user("u1", "How do I reset my password?"),
        assistant("a1", "Use the link on the login page."),
    )


def test_a_summary_is_accepted_202_and_then_readable_succeeded(
    api, conv, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        r = api.post("/sessions/conv/summaries", {"strategy": "query_focused"})
    assert r.status_code == 202, r.content
    body = r.json()
    assert body["status"] == "queued" and body["session"] == "conv"
    assert body["covers_up_to_seq"] == 2 and body["event_seq"] is None

    done = api.get(f"/summaries/{body['id']}")
    assert done.status_code == 200
    d = done.json()
    assert d["status"] == "succeeded" and d["extractive"] is True
    assert d["text"].startswith("Q: How do I reset my password?")
    assert d["event_seq"] == 3 and d["cost_usd"] == "0"


def test_a_model_summary_through_mock_response(
    api, conv, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setenv(text.MOCK_RESPONSE_ENV, "Password reset explained.")
    with django_capture_on_commit_callbacks(execute=True):
        sid = api.post("/sessions/conv/summaries", {"model": "gpt-4o-mini"}).json()["id"]
    d = api.get(f"/summaries/{sid}").json()
    assert d["text"] == "Password reset explained." and d["extractive"] is False
    assert d["total_tokens"] == 30 and float(d["cost_usd"]) > 0


def test_bad_input_is_422_and_stores_nothing(api, conv):
    r = api.post("/sessions/conv/summaries", {"strategy": "poem"})
    assert r.status_code == 422 and r.json()["field"] == "strategy"
    r = api.post("/sessions/conv/summaries", {"strategy": "basic", "colour": "red"})
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
    assert not Summary.objects.exists()


def test_another_projects_session_and_summary_are_404(api, other_api, conv):
    assert other_api.post("/sessions/conv/summaries", {}).status_code == 404
    sid = api.post("/sessions/conv/summaries", {}).json()["id"]
    assert other_api.get(f"/summaries/{sid}").status_code == 404
    assert api.get("/summaries/999999").status_code == 404


def test_an_empty_session_cannot_be_summarized(api, project):
    api.put("/sessions/empty", {})
    r = api.post("/sessions/empty/summaries", {})
    assert r.status_code == 422 and r.json()["field"] == "session"
