"""Events: append in order, idempotency, formats read back exactly, pop, clear."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from sessions_app.api.schemas import EventsPostOut
from sessions_app.models import AgentSession, Event, Run, TokenUsage
from sessions_app.services.sessions import session_continue_in, session_upsert

pytestmark = pytest.mark.django_db

CHAT = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Where is order 1042?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_a",
                "type": "function",
                "function": {"name": "lookup", "arguments": '{"id": 1042}'},
            },
            {
                "id": "call_b",
                "type": "function",
                "function": {"name": "eta", "arguments": '{"id": 1042}'},
            },
        ],
    },
    {"role": "tool", "tool_call_id": "call_a", "content": "shipped"},
    {"role": "tool", "tool_call_id": "call_b", "content": "2 days"},
    {"role": "assistant", "content": "It shipped; 2 days."},
]


def post(api, session, events, **kw):
    return api.post(f"/sessions/{session}/events", {"events": events}, **kw)


def test_a_batch_gets_seq_1_to_n_in_order_and_creates_the_session(api):
    response = post(
        api, "new", [{"id": f"e{i}", "source": "user", "message": f"m{i}"} for i in range(5)]
    )
    assert response.status_code == 201
    body = response.json()
    assert body["session_id"] == "new"
    assert [r["seq"] for r in body["results"]] == [1, 2, 3, 4, 5]
    assert {r["status"] for r in body["results"]} == {"created"}
    more = post(api, "new", [{"id": "e5", "source": "llm", "message": "m5"}]).json()
    assert more["results"][0]["seq"] == 6


def test_the_answer_to_a_post_is_the_documented_schema(api):
    # The answer is rendered without Ninja's response validation: it must still be exactly
    # the EventsPostOut the OpenAPI document promises.
    events = [{"id": "e1", "source": "user", "message": "hi"}]
    for expected_status, status in ((201, "created"), (200, "duplicate")):
        response = post(api, "s", events)
        assert response.status_code == expected_status
        assert response["Content-Type"] == "application/json; charset=utf-8"
        parsed = EventsPostOut.model_validate_json(response.content)
        # `read` (only answered to a POST that asks for a page) is absent, not null.
        assert parsed.model_dump(exclude_unset=True) == response.json()
        assert response.json() == {
            "session_id": "s",
            "results": [{"id": "e1", "seq": 1, "status": status}],
        }


def test_a_single_event_object_is_accepted(api):
    response = api.post("/sessions/s/events", {"id": "one", "source": "user", "message": "hi"})
    assert response.status_code == 201
    assert response.json()["results"] == [{"id": "one", "seq": 1, "status": "created"}]


def test_a_retry_is_a_duplicate_not_a_second_row(api):
    events = [
        {"id": "e1", "source": "user", "message": "hi"},
        {"id": "e2", "source": "llm", "message": "hello"},
    ]
    post(api, "s", events)
    retry = post(api, "s", events)
    assert retry.status_code == 200
    assert retry.json()["results"] == [
        {"id": "e1", "seq": 1, "status": "duplicate"},
        {"id": "e2", "seq": 2, "status": "duplicate"},
    ]
    assert Event.objects.count() == 2
    mixed = post(api, "s", [events[1], {"id": "e3", "source": "user", "message": "again"}]).json()
    assert [(r["status"], r["seq"]) for r in mixed["results"]] == [("duplicate", 2), ("created", 3)]


def test_the_same_id_with_another_body_is_a_409_and_nothing_of_the_batch_is_stored(api):
    post(api, "s", [{"id": "e1", "source": "user", "message": "hi"}])
    response = post(
        api,
        "s",
        [
            {"id": "e2", "source": "user", "message": "new"},
            {"id": "e1", "source": "user", "message": "changed"},
        ],
    )
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_conflict"
    assert response.json()["field"] == "id"
    assert list(Event.objects.values_list("external_id", flat=True)) == ["e1"]
    assert AgentSession.objects.get().event_count == 1


def test_key_order_does_not_change_the_body_hash(api):
    post(api, "s", [{"id": "e1", "source": "user", "message": {"a": 1, "b": 2}}])
    retry = post(api, "s", [{"message": {"b": 2, "a": 1}, "source": "user", "id": "e1"}])
    assert retry.json()["results"][0]["status"] == "duplicate"


def test_openai_chat_round_trip_with_tool_calls_and_tool_results(api):
    events = [{"id": f"m{i}", "format": "openai_chat", "item": m} for i, m in enumerate(CHAT)]
    body = post(api, "chat", events).json()
    # One result per item sent; the assistant message stands for itself + 2 tool_call events.
    assert [r["seq"] for r in body["results"]] == [1, 2, 3, 6, 7, 8]
    stored = {e.external_id: e for e in Event.objects.all()}
    call_a = stored["m2#tool_call:call_a"]
    assert (call_a.type, call_a.name, call_a.tool_call_id, call_a.payload) == (
        "tool_call",
        "lookup",
        "call_a",
        None,
    )
    assert call_a.parent_event_id == stored["m2"].pk
    assert stored["m3"].type == "tool_result"
    assert stored["m3"].parent_event_id == call_a.pk
    assert stored["m4"].parent_event_id == stored["m2#tool_call:call_b"].pk
    back = api.get("/sessions/chat/events", format="openai_chat").json()
    assert back == {"items": CHAT, "next_after_seq": None}
    # A retry of the message with tool calls is a duplicate and adds no tool_call events.
    again = post(api, "chat", events[2:3]).json()
    assert again["results"] == [{"id": "m2", "seq": 3, "status": "duplicate"}]
    assert Event.objects.count() == 8


def test_format_readback_pages_by_after_seq(api):
    events = [{"id": f"m{i}", "format": "openai_chat", "item": m} for i, m in enumerate(CHAT)]
    post(api, "chat", events)
    page = api.get("/sessions/chat/events", format="openai_chat", limit=3).json()
    assert page["items"] == CHAT[:3]
    assert page["next_after_seq"] == 3
    rest = api.get("/sessions/chat/events", format="openai_chat", after_seq=3).json()
    assert rest == {"items": CHAT[3:], "next_after_seq": None}


def test_a_tail_read_returns_the_latest_items_oldest_first_in_one_page(
    api, django_assert_num_queries
):
    events = [{"id": f"m{i}", "format": "openai_chat", "item": m} for i, m in enumerate(CHAT)]
    post(api, "chat", events)
    post(api, "chat", [{"id": "n1", "source": "user", "message": "a native event after them"}])
    # The session, the items (the key is cached); on PostgreSQL one statement does both.
    with django_assert_num_queries(1 if connection.vendor == "postgresql" else 2):
        latest = api.get("/sessions/chat/events", format="openai_chat", limit=2, tail="true")
    assert latest.json() == {"items": CHAT[-2:], "next_after_seq": None}
    everything = api.get("/sessions/chat/events", format="openai_chat", limit=99, tail="true")
    assert everything.json()["items"] == CHAT
    api.delete("/sessions/chat/events/last?format=openai_chat")
    popped = api.get("/sessions/chat/events", format="openai_chat", limit=2, tail="true")
    assert popped.json()["items"] == CHAT[-3:-1]


def test_formats_are_read_back_separately(api):
    post(
        api,
        "mixed",
        [
            {"id": "r1", "format": "responses", "item": {"role": "user", "content": "hi"}},
            {"id": "c1", "format": "openai_chat", "item": {"role": "user", "content": "yo"}},
            {"id": "n1", "source": "user", "message": "native"},
        ],
    )
    responses = api.get("/sessions/mixed/events", format="responses").json()["items"]
    assert responses == [{"role": "user", "content": "hi"}]
    native = api.get("/sessions/mixed/events", format="native").json()["items"]
    assert native == [{"id": "n1", "source": "user", "message": "native"}]


def test_a2a_session_event_dict_is_accepted_as_it_is(api):
    a2a = {
        "id": "9b1f",
        "message": {"tool": "search", "arguments": {"q": "x"}, "result": None, "error": "timeout"},
        "timestamp": "2025-05-01T10:00:00+00:00",
        "source": "system",
        "type": "tool_call",
        "metadata": {"parent_event_id": "llm-1"},
        "task_id": "task-7",
        "token_usage": {
            "model": "gpt-4o",
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "total_tokens": 0,
            "estimated_cost_usd": 0.002,
        },
    }
    post(api, "a2a", [{"id": "llm-1", "source": "llm", "message": "calling search"}])
    response = post(api, "a2a", [a2a])
    assert response.status_code == 201, response.json()
    event = Event.objects.get(external_id="9b1f")
    assert (event.name, event.is_error, event.run.external_id) == ("search", True, "task-7")
    assert event.parent_event.external_id == "llm-1"
    assert event.payload == a2a
    assert TokenUsage.objects.get(event=event).cost_usd == 0  # a tool execution costs nothing
    assert Run.objects.get(external_id="task-7").status == "running"


@pytest.mark.parametrize(
    ("reported", "stored"),
    [
        (0.1 + 0.2, Decimal("0.3")),  # a client's float: 0.30000000000000004
        (1.2e-11, Decimal(0)),
        ("0.00000000015", Decimal("0.0000000002")),
        (9999999999.5, Decimal("9999999999.5")),
    ],
)
def test_a_reported_cost_is_rounded_to_the_stored_places_not_refused(api, reported, stored):
    usage = {"model": "gpt-4o", "prompt_tokens": 10, "completion_tokens": 10, "cost_usd": reported}
    response = post(
        api, "cost", [{"id": "c1", "source": "llm", "message": "x", "token_usage": usage}]
    )
    assert response.status_code == 201, response.json()
    assert TokenUsage.objects.get(event__external_id="c1").cost_usd == stored
    assert AgentSession.objects.get(external_id="cost").cost_usd == stored


@pytest.mark.parametrize(
    "reported", [1e10, "9999999999.99999999999", 1e30, -0.5, "NaN", "Infinity"]
)
def test_a_reported_cost_out_of_range_is_a_422_naming_the_field(api, reported):
    usage = {"model": "gpt-4o", "prompt_tokens": 1, "completion_tokens": 1, "cost_usd": reported}
    response = post(
        api, "far", [{"id": "f1", "source": "llm", "message": "x", "token_usage": usage}]
    )
    assert response.status_code == 422, response.json()
    assert "cost_usd" in str(response.json())
    assert not Event.objects.filter(external_id="f1").exists()


def test_read_events_pages_with_usage_parent_and_run(api, django_assert_max_num_queries):
    post(
        api,
        "s",
        [
            {"id": "u", "source": "user", "message": "q", "run_id": "r"},
            {
                "id": "a",
                "source": "llm",
                "message": "a",
                "parent_event_id": "u",
                "run_id": "r",
                "token_usage": {"model": "m", "prompt_tokens": 3, "completion_tokens": 4},
            },
            {"id": "x", "source": "user", "message": "z"},
        ],
    )
    api.get("/sessions")
    with django_assert_max_num_queries(3):  # key, session, page
        page = api.get("/sessions/s/events", limit=2).json()
    assert [e["id"] for e in page["items"]] == ["u", "a"]
    assert page["next_after_seq"] == 2
    second = page["items"][1]
    assert (second["parent_event_id"], second["run_id"]) == ("u", "r")
    assert second["token_usage"]["total_tokens"] == 7
    rest = api.get("/sessions/s/events", after_seq=2).json()
    assert [e["id"] for e in rest["items"]] == ["x"]
    assert rest["next_after_seq"] is None


def test_pop_last_hides_the_latest_item_with_its_derived_events_from_the_agent(api):
    events = [{"id": f"m{i}", "format": "openai_chat", "item": m} for i, m in enumerate(CHAT[:3])]
    post(api, "chat", events)
    popped = api.delete("/sessions/chat/events/last")
    assert popped.status_code == 200
    assert popped.json()["item"]["payload"] == CHAT[2]
    items = api.get("/sessions/chat/events", format="openai_chat").json()["items"]
    assert items == CHAT[:2]
    live = api.get("/sessions/chat/events").json()["items"]
    assert [e["id"] for e in live] == ["m0", "m1"]


def test_a_popped_item_stays_in_the_record_marked_with_when_and_by_which_call(api):
    events = [{"id": f"m{i}", "format": "openai_chat", "item": m} for i, m in enumerate(CHAT[:3])]
    post(api, "chat", events)
    api.delete("/sessions/chat/events/last")
    stored = list(Event.objects.order_by("seq").values_list("external_id", "removed_by"))
    assert [e for e, by in stored if by] == [e for e, _ in stored[2:]]
    assert {by for _, by in stored[2:]} == {"pop"}
    everything = api.get("/sessions/chat/events", include_removed="true").json()["items"]
    assert everything[2]["id"] == "m2"
    assert everything[2]["removed_by"] == "pop"
    assert everything[2]["removed_at"] is not None
    assert everything[0]["removed_at"] is None


def test_after_a_pop_the_next_item_takes_the_next_seq_and_the_same_id_can_be_added_again(api):
    events = [{"id": f"m{i}", "format": "openai_chat", "item": m} for i, m in enumerate(CHAT[:3])]
    post(api, "chat", events)
    last_seq = api.get("/sessions/chat").json()["last_seq"]
    api.delete("/sessions/chat/events/last")
    result = post(api, "chat", events[2:3]).json()["results"][0]
    assert (result["status"], result["seq"]) == ("created", last_seq + 1)
    assert api.get("/sessions/chat/events", format="openai_chat").json()["items"] == CHAT[:3]


def test_pop_returns_the_popped_events_usage_and_links_and_its_cost_stays(api):
    post(api, "s", [{"id": "q", "source": "user", "message": "question", "run_id": "r"}])
    post(
        api,
        "s",
        [
            {
                "id": "a",
                "source": "llm",
                "message": "answer",
                "parent_event_id": "q",
                "run_id": "r",
                "token_usage": {"model": "m", "prompt_tokens": 4, "completion_tokens": 6},
            }
        ],
    )
    item = api.delete("/sessions/s/events/last").json()["item"]
    assert (item["id"], item["parent_event_id"], item["run_id"]) == ("a", "q", "r")
    assert item["token_usage"]["total_tokens"] == 10
    # Money spent stays spent: the session's and the usage views' figures keep it.
    assert api.get("/sessions/s").json()["total_tokens"] == 10
    assert api.get("/usage", group_by="model").json()["items"][0]["total_tokens"] == 10


def test_pop_twice_pops_the_item_before_and_pop_on_an_emptied_session_returns_null(api):
    post(api, "s", [{"id": "a", "source": "user", "message": "1"}])
    post(api, "s", [{"id": "b", "source": "user", "message": "2"}])
    assert api.delete("/sessions/s/events/last").json()["item"]["id"] == "b"
    assert api.delete("/sessions/s/events/last").json()["item"]["id"] == "a"
    assert api.delete("/sessions/s/events/last").json() == {"item": None}


def test_pop_on_an_empty_session_returns_null(api):
    api.put("/sessions/empty", {})
    assert api.delete("/sessions/empty/events/last").json() == {"item": None}


def test_pop_and_clear_of_another_projects_session_are_404(api, other_api):
    post(api, "mine", [{"id": "a", "source": "user", "message": "x"}])
    assert other_api.delete("/sessions/mine/events/last").status_code == 404
    assert other_api.delete("/sessions/mine/events").status_code == 404
    assert Event.objects.filter(removed_at__isnull=True).count() == 1


def test_clear_hides_every_event_from_the_agent_but_keeps_them_and_their_cost(api):
    post(
        api,
        "s",
        [
            {
                "id": "a",
                "source": "llm",
                "message": "x",
                "token_usage": {"model": "m", "prompt_tokens": 1, "completion_tokens": 1},
            }
        ],
    )
    response = api.delete("/sessions/s/events")
    assert response.status_code == 200
    assert response.json() == {"deleted": 1}
    assert api.get("/sessions/s/events").json()["items"] == []
    session = api.get("/sessions/s").json()
    assert (session["total_tokens"], session["last_seq"]) == (2, 1)
    assert TokenUsage.objects.count() == 1
    assert Event.objects.get().removed_by == "clear"
    # A second clear finds nothing left to remove.
    assert api.delete("/sessions/s/events").json() == {"deleted": 0}


def test_compaction_clears_and_re_adds_the_same_ids_and_the_record_keeps_both(api):
    events = [{"id": f"m{i}", "format": "openai_chat", "item": m} for i, m in enumerate(CHAT[:3])]
    post(api, "chat", events)
    api.delete("/sessions/chat/events")
    compacted = [{"id": "m0", "format": "openai_chat", "item": CHAT[0]}]
    assert post(api, "chat", compacted).json()["results"][0]["status"] == "created"
    assert api.get("/sessions/chat/events", format="openai_chat").json()["items"] == CHAT[:1]
    record = api.get("/sessions/chat/events", include_removed="true", limit=100).json()["items"]
    assert [e["id"] for e in record].count("m0") == 2
    # A retry of the re-added item is still a duplicate of the live one.
    assert post(api, "chat", compacted).json()["results"][0]["status"] == "duplicate"


def test_events_sent_to_a_summarized_session_go_to_its_segment(api, project):
    root, _ = session_upsert(project=project, external_id="long", fields={})
    segment, _ = session_upsert(
        project=project, external_id="long-2", fields={}, parent_external_id="long", kind="segment"
    )
    session_continue_in(session=root, segment=segment)
    body = post(api, "long", [{"id": "late", "source": "user", "message": "still here"}]).json()
    assert body["session_id"] == "long-2"
    assert Event.objects.get(external_id="late").session_id == segment.pk


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"id": "e", "source": "robot", "message": "x"}, "events.0.source"),
        ({"id": "e", "source": "user", "message": "x", "colour": "red"}, "events.0.colour"),
        ({"id": "e", "source": "user"}, "events.0"),
        ({"id": "", "source": "user", "message": "x"}, "events.0.id"),
        ({"id": "e", "item": {"role": "user", "content": "x"}, "source": "user"}, "events.0"),
        (
            {"id": "e", "source": "user", "message": "x", "timestamp": "yesterday"},
            "events.0.timestamp",
        ),
        (
            {"id": "e", "source": "llm", "message": "x", "token_usage": {"prompt_tokens": -1}},
            "events.0.token_usage.prompt_tokens",
        ),
    ],
)
def test_bad_events_are_422_naming_the_field_and_nothing_is_written(api, event, field):
    good = {"id": "ok", "source": "user", "message": "fine"}
    response = post(api, "s", [good, event])
    assert response.status_code == 422
    fields = [d["field"] for d in response.json()["detail"]]
    assert field.replace("events.0", "events.1") in fields
    assert not Event.objects.exists()
    assert not AgentSession.objects.exists()


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"role": "wizard", "content": "x"}, "item.role"),
        ({"type": "message", "role": "robot", "content": "x"}, "item.role"),
        ({"contents": "nope", "role": "user"}, "item.contents"),
    ],
)
def test_items_a_normalizer_cannot_map_are_422_and_nothing_is_written(api, item, field):
    response = post(
        api, "s", [{"id": "ok", "source": "user", "message": "x"}, {"id": "bad", "item": item}]
    )
    assert response.status_code == 422
    assert response.json()["field"] == f"events.1.{field}"  # the second event: named in the batch
    assert not Event.objects.exists()


def test_unknown_top_level_field_of_the_batch_is_rejected(api):
    response = api.post("/sessions/s/events", {"events": [], "extra": 1})
    assert response.status_code == 422
    assert "extra" in [d["field"] for d in response.json()["detail"]]


def test_overlong_ids_and_names_inside_items_are_clipped_not_a_server_error(api):
    long = "c" * 400
    item = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": long, "type": "function", "function": {"name": "n" * 400, "arguments": "{}"}}
        ],
    }
    response = post(
        api,
        "s",
        [
            {"id": "m", "item": item},
            {"id": "t", "item": {"role": "tool", "tool_call_id": long, "content": "ok"}},
        ],
    )
    assert response.status_code == 201, response.json()
    call = Event.objects.get(type="tool_call")
    assert len(call.tool_call_id) == 255 and len(call.name) == 255
    assert Event.objects.get(external_id="t").parent_event_id == call.pk
    assert api.get("/sessions/s/events", format="openai_chat").json()["items"][0] == item


def test_agent_framework_usage_with_impossible_counts_is_422(api):
    item = {
        "type": "message",
        "role": "assistant",
        "contents": [{"type": "usage", "usage_details": {"input_token_count": -5}}],
    }
    response = post(api, "s", [{"id": "m", "item": item, "model": "gpt-4o"}])
    assert response.status_code == 422
    # Named within the batch, as schema errors are (events.<i>.…).
    assert response.json()["field"] == "events.0.item.contents.input_token_count"
    assert not Event.objects.exists()


def _queries_for(api, session: str, size: int) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    events = []
    for i in range(size):
        events.append(
            {"id": f"{session}-u{i}", "source": "user", "message": "q", "run_id": f"{session}-r"}
        )
        events.append(
            {
                "id": f"{session}-a{i}",
                "format": "openai_chat",
                "item": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": f"{session}-c{i}",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        }
                    ],
                },
                "token_usage": {"model": "m", "prompt_tokens": 1, "completion_tokens": 1},
            }
        )
        events.append(
            {
                "id": f"{session}-t{i}",
                "item": {"role": "tool", "tool_call_id": f"{session}-c{i}", "content": "ok"},
            }
        )
    with CaptureQueriesContext(connection) as ctx:
        assert post(api, session, events).status_code == 201
    return len(ctx.captured_queries)


@pytest.mark.postgres
def test_a_batch_costs_the_same_queries_whatever_its_size(api):
    # On PostgreSQL every step is one statement for the whole batch (SQLite's bulk inserts are
    # split by its bound-parameter limit, so the pin is PostgreSQL's).
    api.put("/sessions/warm", {})
    api.put("/sessions/big", {})
    api.put("/sessions/small", {})
    assert _queries_for(api, "small", 1) == _queries_for(api, "big", 100)


def test_responses_and_agent_framework_items_read_back_exactly(api):
    from agent_framework import Content, Message
    from openai.types.responses import ResponseFunctionToolCall

    responses_items = [
        {"role": "user", "content": "What is 6 x 7?"},
        ResponseFunctionToolCall(
            type="function_call",
            call_id="call_m",
            name="multiply",
            arguments='{"a":6,"b":7}',
            id="fc_1",
        ).model_dump(exclude_none=True),
        {"type": "function_call_output", "call_id": "call_m", "output": "42"},
        {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "easy"}]},
    ]
    af_items = [
        Message(role="user", contents=[Content.from_text("hello")]).to_dict(),
        Message(
            role="assistant",
            contents=[Content.from_function_call(call_id="c9", name="f", arguments={"x": 1})],
        ).to_dict(),
        Message(
            role="tool", contents=[Content.from_function_result(call_id="c9", result="ok")]
        ).to_dict(),
    ]
    post(api, "rs", [{"format": "responses", "item": item} for item in responses_items])
    post(
        api,
        "af",
        [
            {"id": f"af{i}", "format": "agent_framework", "item": item}
            for i, item in enumerate(af_items)
        ],
    )
    assert api.get("/sessions/rs/events", format="responses").json()["items"] == responses_items
    assert api.get("/sessions/af/events", format="agent_framework").json()["items"] == af_items
    call = Event.objects.get(external_id="fc_1")  # the item's own id is its idempotency key
    result = Event.objects.get(session__external_id="rs", type="tool_result")
    assert result.parent_event_id == call.pk
    af_result = Event.objects.get(session__external_id="af", type="tool_result")
    assert af_result.parent_event.external_id == "af1#tool_call:c9"


@pytest.mark.postgres
def test_a_large_tool_output_with_many_distinct_words_is_stored_and_searchable(api, project):
    """A tsvector holds at most 1 MB; the search index covers the first 65,536 characters."""
    import hashlib

    from sessions_app.selectors.search import session_ids_matching

    words = [hashlib.md5(str(i).encode()).hexdigest() for i in range(40_000)]
    output = "needle " + " ".join(words)  # 1.3 MB of distinct words
    response = post(api, "big", [{"id": "out", "source": "tool", "message": output}])
    assert response.status_code == 201
    assert Event.objects.get(external_id="out").content == output
    session = AgentSession.objects.get(external_id="big")
    assert list(session_ids_matching(project, "needle")) == [{"session_id": session.pk}]
    assert list(session_ids_matching(project, words[-1])) == []  # past the indexed prefix


def test_the_sdk_s_placeholder_item_id_is_not_an_idempotency_key(api):
    replies = [
        {
            "id": "__fake_id__",
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": f"reply {n}"}],
        }
        for n in (1, 2, 3)
    ]
    for reply in replies:
        response = post(api, "fake", [{"format": "responses", "item": reply}])
        assert response.status_code == 201
        assert response.json()["results"][0]["status"] == "created"
    read = api.get("/sessions/fake/events?format=responses").json()
    assert read["items"] == replies
    # A real item id still makes a retry a duplicate.
    real = {**replies[0], "id": "msg_1"}
    assert post(api, "fake", [{"item": real}]).json()["results"][0]["status"] == "created"
    assert post(api, "fake", [{"item": real}]).json()["results"][0]["status"] == "duplicate"


def test_an_a2a_event_with_a_null_message_is_kept_as_sent(api):
    event = {"id": "e-null", "source": "system", "message": None}
    assert post(api, "nulls", [event]).status_code == 201
    stored = Event.objects.get(external_id="e-null")
    assert stored.content == "" and stored.payload == event


def test_an_a2a_summary_note_is_the_event_s_text(api):
    note = {"id": "e-note", "source": "system", "type": "summary", "message": {"note": "Refund."}}
    assert post(api, "notes", [note]).status_code == 201
    assert Event.objects.get(external_id="e-note").content == "Refund."


def test_an_encrypted_session_envelope_is_stored_and_read_back_exactly(api):
    envelope = {"__enc__": 1, "v": 1, "kid": "hkdf-v1", "payload": "gAAAAB..."}
    assert post(api, "enc", [{"format": "responses", "item": envelope}]).status_code == 201
    assert api.get("/sessions/enc/events?format=responses").json()["items"] == [envelope]
    stored = Event.objects.get(session__external_id="enc")
    assert (stored.type, stored.content) == ("reference", "(encrypted item)")


def test_an_event_already_stored_elsewhere_sent_to_a_new_session_creates_no_empty_session(api):
    event = {"id": "e-once", "source": "user", "message": "hello"}
    assert api.post("/sessions/first/events", event).status_code == 201
    again = api.post("/sessions/second/events", event)
    assert again.status_code == 200
    assert again.json()["session_id"] == "first"
    assert again.json()["results"][0]["status"] == "duplicate"
    from sessions_app.models import AgentSession

    assert list(AgentSession.objects.values_list("external_id", flat=True)) == ["first"]
