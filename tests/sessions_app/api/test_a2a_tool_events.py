"""a2a / native tool events (`{tool, arguments}`, `{tool, result, error}`) are stored as the same
tool call sent as OpenAI chat items is: the same content, name and call id, so the transcript,
the search and the prompt strategies read them alike; the a2a object stays the payload."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from sessions_app.jsontext import body_hash
from sessions_app.models import AgentSession, Event
from sessions_app.selectors.search import session_ids_matching

pytestmark = pytest.mark.django_db

RESULT = 'Rain\ntomorrow, said "Ola"'

A2A = [
    {"id": "n-u", "source": "user", "message": "Weather in Oslo?"},
    {"id": "n-a", "source": "llm", "message": "Checking."},
    {
        "id": "n-c",
        "source": "llm",
        "type": "tool_call",
        "tool_call_id": "call_1",
        "message": {"tool": "weather", "arguments": {"city": "Oslo", "days": 2}},
        "metadata": {"parent_event_id": "n-a"},
    },
    {
        "id": "n-r",
        "source": "tool",
        "type": "tool_result",
        "tool_call_id": "call_1",
        "message": {"tool": "weather", "result": RESULT, "error": None},
    },
]

CHAT = [
    {"id": "c-u", "item": {"role": "user", "content": "Weather in Oslo?"}},
    {
        "id": "c-a",
        "item": {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {
                        "name": "weather",
                        "arguments": json.dumps({"city": "Oslo", "days": 2}),
                    },
                }
            ],
        },
    },
    {
        "id": "c-r",
        "item": {"role": "tool", "tool_call_id": "call_1", "name": "weather", "content": RESULT},
    },
]


def stored(session: str) -> list[tuple]:
    return list(
        Event.objects.filter(session__external_id=session)
        .order_by("seq")
        .values_list("type", "name", "tool_call_id", "content", "is_error")
    )


def post(api, session, events):
    response = api.post(f"/sessions/{session}/events", {"events": events})
    assert response.status_code == 201, response.json()
    return response


def test_a2a_tool_events_are_stored_as_chat_tool_calls_are(api):
    post(api, "a2a", A2A)
    post(api, "chat", CHAT)
    assert stored("a2a") == stored("chat")
    call, result = stored("a2a")[2:]
    assert call == ("tool_call", "weather", "call_1", '{"city": "Oslo", "days": 2}', False)
    assert result == ("tool_result", "weather", "call_1", RESULT, False)
    # The result answers its call, and the a2a objects are kept as sent.
    answer = Event.objects.get(external_id="n-r")
    assert answer.parent_event.external_id == "n-c"
    native = api.get("/sessions/a2a/events", format="native").json()["items"]
    assert native == A2A


def test_the_search_finds_a2a_tool_arguments_and_results_as_written(api, project):
    post(api, "a2a", A2A)
    session = AgentSession.objects.get(external_id="a2a")
    # Words a JSON dump would have escaped: a line break, quotes.
    for q in ("tomorrow", 'said "Ola"', "Oslo"):
        found = session_ids_matching(project, q).values_list("session_id", flat=True)
        assert set(found) == {session.pk}, q


@pytest.mark.parametrize("strategy", ["minimal", "task", "tool", "conversation", "hierarchical"])
def test_prompts_rebuild_a2a_tool_events_as_they_rebuild_chat_tool_calls(api, strategy):
    post(api, "a2a", A2A)
    post(api, "chat", CHAT)
    ours = api.get("/sessions/a2a/prompt", strategy=strategy).json()
    chats = api.get("/sessions/chat/prompt", strategy=strategy).json()
    assert ours["messages"] == chats["messages"]
    tool = [m for m in ours["messages"] if m["role"] == "tool"]
    assert tool == [{"role": "tool", "tool_call_id": "call_1", "content": RESULT}]


def test_a_failed_a2a_tool_result_shows_its_error(api):
    failed = {**A2A[3], "message": {"tool": "weather", "result": None, "error": "timeout"}}
    post(api, "a2a", [*A2A[:3], failed])
    assert stored("a2a")[3] == ("tool_result", "weather", "call_1", "timeout", True)
    tool = api.get("/sessions/a2a/prompt", strategy="tool").json()["messages"][-1]
    assert tool["role"] == "tool" and json.loads(tool["content"])["error"] == "timeout"


def test_an_a2a_tool_result_logged_as_the_call_keeps_no_arguments_in_the_prompt(api):
    """a2a's tool processor logs each ToolResult (`{tool, result, error, ...}`) as a tool_call
    child of the assistant message: its content is the result, its arguments none."""
    logged = {
        "id": "n-c",
        "source": "system",
        "type": "tool_call",
        "message": {"tool": "weather", "result": {"temp": 7}, "error": None, "cached": False},
        "metadata": {"parent_event_id": "n-a"},
    }
    post(api, "a2a", [*A2A[:2], logged])
    assert stored("a2a")[2][3] == '{"temp": 7}'
    messages = api.get("/sessions/a2a/prompt", strategy="minimal").json()["messages"]
    call = messages[1]["tool_calls"][0]["function"]
    assert call == {"name": "weather", "arguments": "{}"}
    assert messages[2]["content"] == '{"temp": 7}'


# a2a's tool processor logs each tool it ran as a `tool_call` child of the assistant message,
# holding the tool's ToolResult: its outcome, its start and end, no arguments.
LOGGED = {
    "id": "n-l",
    "source": "system",
    "type": "tool_call",
    "message": {
        "id": "9f2c-result",
        "tool": "weather",
        "result": {"temp": 7},
        "error": None,
        "start_time": "2025-05-01T10:00:00Z",
        "end_time": "2025-05-01T10:00:00.340000Z",
        "machine": "worker-1",
        "pid": 7,
        "cached": False,
        "attempts": 1,
    },
    "metadata": {"parent_event_id": "n-a"},
}


def test_a_result_a2a_logs_as_its_call_is_stored_as_that_result_with_its_latency(api):
    post(api, "a2a", [*A2A[:2], LOGGED])
    result = Event.objects.get(external_id="n-l")
    assert (result.type, result.name, result.content, result.is_error, result.duration_ms) == (
        "tool_result",
        "weather",
        '{"temp": 7}',
        False,
        340,
    )
    assert result.parent_event.external_id == "n-a"
    item = api.get("/sessions/a2a/events").json()["items"][2]
    assert (item["type"], item["duration_ms"]) == ("tool_result", 340)
    # Stored as sent: read back natively exactly, and a retry is the same event.
    assert api.get("/sessions/a2a/events", format="native").json()["items"] == [*A2A[:2], LOGGED]
    assert result.body_hash == body_hash(LOGGED)
    retry = api.post("/sessions/a2a/events", {"events": [LOGGED]})
    assert retry.status_code == 200 and retry.json()["results"][0]["status"] == "duplicate"


@pytest.mark.parametrize(
    ("times", "sent", "duration_ms"),
    [
        ({"start_time": "2025-05-01T10:00:02Z", "end_time": "2025-05-01T10:00:00Z"}, None, 0),
        ({"start_time": "not a time", "end_time": "2025-05-01T10:00:00Z"}, None, None),
        ({"start_time": 5, "end_time": None}, None, None),
        ({"end_time": "2025-05-01T10:00:00Z"}, None, None),
        ({"start_time": "2025-05-01T10:00:00Z", "end_time": "2025-05-01T10:00:01Z"}, 12, 12),
    ],
    ids=["end first", "not a time", "not strings", "no start", "sent wins"],
)
def test_an_a2a_tool_results_times_fill_its_duration_or_leave_it_empty(
    api, times, sent, duration_ms
):
    message = {"tool": "weather", "result": "ok", **times}
    event = {**LOGGED, "message": message}
    if sent is not None:
        event["duration_ms"] = sent
    post(api, "a2a", [*A2A[:2], event])
    assert Event.objects.get(external_id="n-l").duration_ms == duration_ms


def test_the_session_page_shows_such_a_result_as_the_result_of_its_tool(
    api, client, viewer, project
):
    post(api, "a2a", [*A2A[:2], LOGGED])
    session = AgentSession.objects.get(external_id="a2a")
    client.force_login(viewer)
    html = client.get(reverse("dashboard:session_detail", args=[project.slug, session.pk])).content
    html = html.decode()
    assert "Result of <b>weather</b>" in html and "340 ms" in html
    assert "Arguments" not in html  # the one tool event here is no call


def test_prompts_send_such_a_result_as_a2a_does_a_call_with_its_outcome(api):
    post(api, "a2a", [*A2A[:2], LOGGED])
    messages = api.get("/sessions/a2a/prompt", strategy="tool").json()["messages"]
    call = messages[-2]["tool_calls"][0]
    assert call["function"] == {"name": "weather", "arguments": "{}"}
    assert messages[-1] == {"role": "tool", "tool_call_id": call["id"], "content": '{"temp": 7}'}
