"""PostgreSQL's one-statement tail read (an SDK session's `get_items(limit)`) gives the items
`items_page(tail=True)` gives."""

from __future__ import annotations

import json

import pytest

from sessions_app.errors import NotFound
from sessions_app.models import AgentSession
from sessions_app.selectors.events import items_page, session_tail_items_json, tail_items_json

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

ITEMS = [
    {"role": "user", "content": 'héllo \u2603 "quoted" \\ back', "n": 1.5},
    {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "x"}]},
    {"role": "user", "content": None, "big": 12345678901234567890, "nested": {"b": [1, {}]}},
    {"role": "user", "content": "last"},
]


def test_the_tail_statement_reads_what_items_page_reads(api, project):
    events = [{"id": f"r{i}", "format": "responses", "item": item} for i, item in enumerate(ITEMS)]
    events.insert(2, {"id": "native", "source": "user", "message": "native"})
    events.insert(
        3, {"id": "chat", "format": "openai_chat", "item": {"role": "user", "content": "c"}}
    )
    assert api.post("/sessions/s/events", {"events": events}).status_code == 201
    assert api.delete("/sessions/s/events/last?format=responses").status_code == 200
    session = AgentSession.objects.get(external_id="s")
    for fmt in ("responses", "openai_chat", "agent_framework"):
        for limit in (1, 2, 3, 10):
            for after_seq in (0, 1, 4):
                expected, _ = items_page(
                    session, fmt=fmt, after_seq=after_seq, limit=limit, tail=True
                )
                args = {"fmt": fmt, "limit": limit, "after_seq": after_seq}
                assert json.loads(tail_items_json(session, **args)) == expected
                assert json.loads(session_tail_items_json(project, "s", **args)) == expected
    assert json.loads(tail_items_json(session, fmt="responses", limit=10)) == ITEMS[:3]


def test_the_tail_statement_of_an_unknown_session_is_not_found(api, other_api, project):
    item = {"role": "user", "content": "x"}
    other_api.post("/sessions/theirs/events", {"events": [{"format": "responses", "item": item}]})
    for name in ("missing", "theirs"):
        with pytest.raises(NotFound):
            session_tail_items_json(project, name, fmt="responses", limit=5)
    answer = api.get("/sessions/theirs/events", format="responses", limit=5, tail="true")
    assert answer.status_code == 404
    assert answer.json()["code"] == "not_found"


def test_a_tail_read_is_one_statement(api, django_assert_num_queries):
    item = {"role": "user", "content": "x"}
    api.post("/sessions/s/events", {"events": [{"format": "responses", "item": item}]})
    with django_assert_num_queries(1):
        answer = api.get("/sessions/s/events", format="responses", limit=5, tail="true")
    assert answer.json() == {"items": [item], "next_after_seq": None}
    # With a POST, the read is one statement more (test_events_read pins it).
    answer = api.post(
        "/sessions/s/events",
        {
            "events": [{"format": "responses", "item": item}],
            "read": {"format": "responses", "limit": 5, "tail": True},
        },
    )
    assert answer.json()["read"] == {"items": [item, item], "next_after_seq": None}
