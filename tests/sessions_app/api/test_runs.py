"""Runs: idempotent creation, forward-only status transitions."""

from __future__ import annotations

import pytest

from sessions_app.models import Run

pytestmark = pytest.mark.django_db


def test_create_run_creates_the_session_and_a_retry_returns_it(api):
    created = api.post("/sessions/s/runs", {"id": "run-1", "status": "running", "agent_name": "a"})
    assert created.status_code == 201
    body = created.json()
    assert (body["session_id"], body["status"], body["agent_name"]) == ("s", "running", "a")
    assert body["started_at"] is not None
    retry = api.post("/sessions/s/runs", {"id": "run-1", "status": "running", "agent_name": "a"})
    assert retry.status_code == 200
    assert Run.objects.count() == 1
    assert api.get("/sessions/s").status_code == 200


def test_the_same_run_id_in_another_session_is_a_409(api):
    api.post("/sessions/s/runs", {"id": "run-1"})
    response = api.post("/sessions/t/runs", {"id": "run-1"})
    assert response.status_code == 409
    assert response.json()["code"] == "run_exists"


def test_run_goes_forward_and_a_completed_run_cannot_run_again(api):
    api.post("/sessions/s/runs", {"id": "run-1"})
    running = api.patch("/runs/run-1", {"status": "running"})
    assert running.status_code == 200
    done = api.patch("/runs/run-1", {"status": "completed", "metadata": {"steps": 3}})
    assert done.json()["status"] == "completed"
    assert done.json()["ended_at"] is not None
    back = api.patch("/runs/run-1", {"status": "running"})
    assert back.status_code == 409
    assert back.json()["code"] == "invalid_transition"
    assert Run.objects.get().status == "completed"


def test_failed_run_keeps_its_reason_and_merges_metadata(api):
    api.post("/sessions/s/runs", {"id": "run-1", "status": "running", "metadata": {"a": 1}})
    body = api.patch(
        "/runs/run-1", {"status": "failed", "reason": "tool timeout", "metadata": {"b": 2}}
    ).json()
    assert (body["reason"], body["metadata"]) == ("tool timeout", {"a": 1, "b": 2})


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("post", "/sessions/s/runs", {"id": "r", "status": "sleeping"}, "status"),
        ("post", "/sessions/s/runs", {"status": "running"}, "id"),
        ("post", "/sessions/s/runs", {"id": "r", "colour": 1}, "colour"),
        ("patch", "/runs/r0", {"status": "done"}, "status"),
        ("patch", "/runs/r0", {"ended_at": "soon"}, "ended_at"),
    ],
)
def test_bad_run_input_is_422_naming_the_field(api, method, path, body, field):
    api.post("/sessions/s/runs", {"id": "r0"})
    response = getattr(api, method)(path, body)
    assert response.status_code == 422
    assert field in [d["field"] for d in response.json()["detail"]]
    assert list(Run.objects.values_list("external_id", "status")) == [("r0", "pending")]


def test_unknown_run_is_404(api):
    assert api.patch("/runs/nope", {"status": "running"}).status_code == 404
