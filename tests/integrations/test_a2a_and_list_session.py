"""a2a `Session` objects round-trip through the store; the list session keeps chat messages."""

from __future__ import annotations

import pytest
from a2a_session_manager.models.session import Session
from a2a_session_manager.models.session_event import SessionEvent
from a2a_session_manager.models.session_run import SessionRun
from a2a_session_manager.models.token_usage import TokenUsage as A2AUsage
from a2a_session_manager.storage import SessionStoreProvider
from sessionscope_client.a2a_store import SessionscopeA2AStore
from sessionscope_client.agentsilex import SessionscopeListSession

from sessions_app.models import AgentSession, Event, Run

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def store(client):
    store = SessionscopeA2AStore(client=client)
    SessionStoreProvider.set_store(store)
    yield store
    SessionStoreProvider.set_store(None)


def conversation() -> Session:
    session = Session(id="a2a-1")
    session.metadata.set_property("title", "Refund")
    session.state["step"] = 2
    run = SessionRun(id="a2a-run-1")
    run.mark_running()
    session.runs.append(run)
    session.task_ids.append("a2a-run-1")
    session.add_event(SessionEvent(id="a2a-e1", message="I want a refund", source="user"))
    session.add_event(
        SessionEvent(
            id="a2a-e2",
            message="Looking it up.",
            source="llm",
            task_id="a2a-run-1",
            token_usage=A2AUsage(model="gpt-4o-mini", prompt_tokens=30, completion_tokens=5),
        )
    )
    session.add_event(
        SessionEvent(
            id="a2a-e3",
            message={"tool": "lookup", "arguments": {"order": 7}, "result": {"ok": True}},
            source="system",
            type="tool_call",
            metadata={"parent_event_id": "a2a-e2"},
        )
    )
    return session


def test_sessions_round_trip_through_the_store(client, store):
    session = conversation()
    store.save(session)
    child = Session(id="a2a-1-child", parent_id="a2a-1")  # a2a re-saves the parent itself
    child.add_event(SessionEvent(id="a2a-e4", message="sub-agent result", source="llm"))
    store.save(child)

    fresh = SessionscopeA2AStore(client=client)
    loaded = fresh.get("a2a-1")
    expected = store.get("a2a-1")
    assert loaded.model_dump() == expected.model_dump()
    assert [e.model_dump() for e in loaded.events] == [e.model_dump() for e in session.events]
    assert loaded.runs == session.runs
    assert loaded.state == {"step": 2}
    assert loaded.metadata.get_property("title") == "Refund"
    assert loaded.child_ids == ["a2a-1-child"]
    assert loaded.token_summary.total_tokens == 35
    assert fresh.get("a2a-1-child").parent_id == "a2a-1"
    assert fresh.get("nope") is None

    stored = AgentSession.objects.get(external_id="a2a-1")
    assert stored.total_tokens == 35 and stored.children_count == 1
    tool = Event.objects.get(external_id="a2a-e3")
    assert tool.name == "lookup" and tool.parent_event.external_id == "a2a-e2"
    assert Run.objects.get(external_id="a2a-run-1").status == Run.Status.RUNNING


def test_a2a_tool_events_show_their_arguments_and_result_not_the_whole_object(client, store):
    session = conversation()
    session.add_event(
        SessionEvent(
            id="a2a-e4",
            message={"tool": "refund", "result": "refunded 7", "error": None, "cached": False},
            source="system",
            type="tool_call",
            metadata={"parent_event_id": "a2a-e2"},
        )
    )
    store.save(session)
    texts = {e["id"]: e["content"] for e in client.iter_events("a2a-1")}
    assert texts["a2a-e3"] == '{"order": 7}\n\n{"ok": true}'  # the call, then its outcome
    assert texts["a2a-e4"] == "refunded 7"  # a2a's ToolResult: the result
    # a2a reads its events back exactly as it wrote them.
    loaded = SessionscopeA2AStore(client=client).get("a2a-1")
    assert [e.model_dump() for e in loaded.events] == [e.model_dump() for e in session.events]


def test_a_tool_result_the_tool_processor_logs_is_stored_as_a_result_and_read_back_as_logged(
    client, store, caplog
):
    """SessionAwareToolProcessor logs each ToolResult (`res.model_dump()`) as a tool_call child
    of the assistant reply: Sessionscope stores the result it is, with the tool's latency, and
    a2a reads back the event it wrote."""
    session = conversation()
    session.add_event(
        SessionEvent(
            id="a2a-e4",
            message={
                "id": "9f2c-result",
                "tool": "refund",
                "result": {"refunded": 7},
                "error": None,
                "start_time": "2025-05-01T10:00:00Z",
                "end_time": "2025-05-01T10:00:00.250000Z",
                "machine": "worker-1",
                "pid": 7,
                "cached": False,
                "attempts": 1,
            },
            source="system",
            type="tool_call",
            metadata={"parent_event_id": "a2a-e2"},
        )
    )
    store.save(session)
    stored = Event.objects.get(external_id="a2a-e4")
    assert (stored.type, stored.name, stored.content, stored.duration_ms) == (
        "tool_result",
        "refund",
        '{"refunded": 7}',
        250,
    )
    assert stored.parent_event.external_id == "a2a-e2"
    loaded = SessionscopeA2AStore(client=client).get("a2a-1")
    assert [e.model_dump() for e in loaded.events] == [e.model_dump() for e in session.events]
    # Another process saving the session again sends nothing new and changes nothing.
    SessionscopeA2AStore(client=client).save(loaded)
    assert Event.objects.filter(session__external_id="a2a-1").count() == 4
    assert "changed after it was stored" not in caplog.text  # the same body: a duplicate


def test_saving_again_sends_only_what_changed(client, store):
    session = conversation()
    store.save(session)
    session.runs[0].mark_completed()
    session.add_event(SessionEvent(id="a2a-e5", message="Refund done.", source="llm"))
    store.save(session)
    # Another process saving the whole session again changes nothing.
    SessionscopeA2AStore(client=client).save(session)

    assert Event.objects.filter(session__external_id="a2a-1").count() == 4
    assert Run.objects.get(external_id="a2a-run-1").status == Run.Status.COMPLETED
    assert [e.id for e in store.get("a2a-1").events][-1] == "a2a-e5"


def test_list_and_delete(client, store):
    store.save(conversation())
    store.save(Session(id="other-1"))
    assert sorted(store.list_sessions()) == ["a2a-1", "other-1"]
    assert store.list_sessions("a2a") == ["a2a-1"]
    store.delete("a2a-1")
    assert store.get("a2a-1") is None
    assert store.list_sessions() == ["other-1"]


def test_list_session_keeps_chat_messages_as_added(client):
    session = SessionscopeListSession("silex-1", client=client)
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Oslo?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city": "Oslo"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "4 degrees"},
        {"role": "assistant", "content": "It is 4 degrees."},
    ]
    session.add_new_messages(messages[:2])
    session.add_new_messages(messages[2:])
    assert session.get_dialogs() == messages
    result = Event.objects.get(session__external_id="silex-1", type=Event.Type.TOOL_RESULT)
    assert result.parent_event.name == "weather"
    session.clean()
    assert session.get_dialogs() == []
