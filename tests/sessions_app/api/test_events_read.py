"""A POST of events with `read`: the events are stored, then the page a GET with the same
parameters gives comes back in the same answer (an SDK session's flush-then-read)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sessions_app.api.schemas import EventsPostOut
from sessions_app.models import Event
from sessions_app.services.sessions import session_continue_in, session_upsert

pytestmark = pytest.mark.django_db


def items(start: int, stop: int) -> list[dict]:
    return [
        {"id": f"r{i}", "format": "responses", "item": {"role": "user", "content": f"m{i}"}}
        for i in range(start, stop)
    ]


def post(api, session, events, read=None):
    body: dict = {"events": events}
    if read is not None:
        body["read"] = read
    return api.post(f"/sessions/{session}/events", body)


@pytest.mark.parametrize(
    "read",
    [
        {"format": "responses", "limit": 3, "tail": True},
        {"format": "responses", "limit": 4},
        {"format": "responses", "limit": 2, "after_seq": 5},
        {"format": "responses", "limit": 10, "tail": True, "branch": "main"},
        {"limit": 3},
        {"limit": 3, "after_seq": 2},
        {},
    ],
)
def test_the_read_is_the_page_a_get_with_the_same_parameters_gives(api, read):
    post(api, "s", items(0, 5))
    post(api, "s", [{"id": "native", "source": "user", "message": "not an item"}])

    answer = post(api, "s", items(5, 8), read=read)

    assert answer.status_code == 201
    body = answer.json()
    assert [r["seq"] for r in body["results"]] == [7, 8, 9]
    params = {("tail" if k == "tail" else k): ("true" if v is True else v) for k, v in read.items()}
    expected = api.get("/sessions/s/events", **params).json()
    assert body["read"] == expected
    assert EventsPostOut.model_validate(body).read is not None


def test_the_read_sees_the_events_of_its_own_request(api):
    body = post(api, "new", items(0, 2), read={"format": "responses", "limit": 5, "tail": True})
    assert body.json()["read"] == {
        "items": [e["item"] for e in items(0, 2)],
        "next_after_seq": None,
    }


def test_without_read_the_answer_is_unchanged(api):
    body = post(api, "s", items(0, 2)).json()
    assert set(body) == {"session_id", "results"}


def test_a_retry_with_read_is_a_duplicate_and_reads_again(api):
    read = {"format": "responses", "limit": 2, "tail": True}
    first = post(api, "s", items(0, 3), read=read)
    again = post(api, "s", items(0, 3), read=read)
    assert first.status_code == 201 and again.status_code == 200
    assert {r["status"] for r in again.json()["results"]} == {"duplicate"}
    assert again.json()["read"] == first.json()["read"]
    assert Event.objects.count() == 3


@pytest.mark.parametrize(
    ("read", "field"),
    [
        ({"format": "yaml"}, "read.format"),
        ({"limit": 0}, "read.limit"),
        ({"limit": 1001}, "read.limit"),
        ({"after_seq": -1}, "read.after_seq"),
        ({"tail": "sometimes"}, "read.tail"),
        ({"branch": "x" * 101}, "read.branch"),
        ({"colour": "red"}, "read.colour"),
        ("latest", "read"),
    ],
)
def test_a_bad_read_is_422_naming_the_field_and_nothing_is_written(api, read, field):
    response = post(api, "s", items(0, 2), read=read)
    assert response.status_code == 422
    assert field in [d["field"] for d in response.json()["detail"]]
    assert not Event.objects.exists()


def test_a_read_of_an_unknown_branch_is_404_naming_it_and_nothing_is_written(api):
    post(api, "s", items(0, 1))
    response = post(api, "s", items(1, 2), read={"format": "responses", "branch": "nope"})
    assert response.status_code == 404
    assert response.json()["field"] == "branch"
    assert Event.objects.count() == 1


def test_events_sent_to_a_summarized_session_are_read_from_the_addressed_session(api, project):
    root, _ = session_upsert(project=project, external_id="long", fields={})
    post(api, "long", items(0, 2))
    segment, _ = session_upsert(
        project=project, external_id="long-2", fields={}, parent_external_id="long", kind="segment"
    )
    session_continue_in(session=root, segment=segment)
    read = {"format": "responses", "limit": 10, "tail": True}
    body = post(api, "long", items(2, 3), read=read).json()
    assert body["session_id"] == "long-2"
    params = {"format": "responses", "limit": 10, "tail": "true"}
    assert body["read"] == api.get("/sessions/long/events", **params).json()


def test_a_post_with_a_tail_read_costs_one_query_more_than_without(api):
    post(api, "s", items(0, 3))
    with CaptureQueriesContext(connection) as plain:
        post(api, "s", items(3, 4))
    with CaptureQueriesContext(connection) as with_read:
        post(api, "s", items(4, 5), read={"format": "responses", "limit": 3, "tail": True})
    assert len(with_read.captured_queries) == len(plain.captured_queries) + 1
