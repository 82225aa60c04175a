"""a2a-session-manager's sessions over our store and over its own in-memory store, compared
item by item, with only a2a-session-manager and the client installed."""

from __future__ import annotations

import logging

import pytest
from a2a_session_manager.models.session import Session
from a2a_session_manager.models.session_event import SessionEvent
from a2a_session_manager.models.session_run import SessionRun
from a2a_session_manager.models.token_usage import TokenUsage
from a2a_session_manager.storage import SessionStoreProvider
from a2a_session_manager.storage.providers.memory import InMemorySessionStore
from sessionscope_client.a2a_store import SessionscopeA2AStore


@pytest.fixture
def stores(client):
    ours, theirs = SessionscopeA2AStore(client=client), InMemorySessionStore()
    yield ours, theirs
    SessionStoreProvider.set_store(None)


def conversation(sid: str) -> Session:
    session = Session(id=sid)
    session.metadata.set_property("title", "Refund")
    session.state["step"] = 2
    run = SessionRun(id=f"{sid}-run")
    run.mark_running()
    session.runs.append(run)
    session.add_event(SessionEvent(id=f"{sid}-e1", message="I want a refund", source="user"))
    session.add_event(
        SessionEvent(
            id=f"{sid}-e2",
            message="Looking it up.",
            source="llm",
            task_id=run.id,
            token_usage=TokenUsage(model="gpt-4o-mini", prompt_tokens=30, completion_tokens=5),
        )
    )
    session.add_event(SessionEvent(id=f"{sid}-e3", message=None, source="system"))
    session.add_event(
        SessionEvent(id=f"{sid}-e4", message={"note": "The user wants a refund."}, type="summary")
    )
    return session


def test_a_session_reads_back_as_the_in_memory_store_keeps_it(stores, sid):
    ours, theirs = stores
    session = conversation(sid)
    theirs.save(session.model_copy(deep=True))
    SessionStoreProvider.set_store(ours)
    ours.save(session)
    loaded = SessionscopeA2AStore(client=ours.client).get(sid)
    expected = theirs.get(sid)
    assert [e.model_dump() for e in loaded.events] == [e.model_dump() for e in expected.events]
    assert loaded.events[2].message is None
    assert loaded.runs == expected.runs and loaded.state == expected.state
    assert loaded.metadata.get_property("title") == "Refund"
    assert loaded.token_summary.total_tokens == expected.token_summary.total_tokens == 35


def test_a_summary_note_is_the_event_s_text(client, stores, sid):
    ours, _ = stores
    SessionStoreProvider.set_store(ours)
    ours.save(conversation(sid))
    summary = next(e for e in client.iter_events(sid) if e["type"] == "summary")
    assert summary["content"] == "The user wants a refund."


def test_a_stale_parent_object_saved_after_a_child_keeps_the_child(stores, sid):
    results = []
    for store in stores:
        SessionStoreProvider.set_store(store)
        store.save(Session(id=sid))
        parent = store.get(sid)  # the app holds the parent from here on
        child = Session(id=f"{sid}-child", parent_id=sid)  # a2a adds it to the stored parent
        child.add_event(SessionEvent(id=f"{sid}-c1", message="sub-agent result"))
        store.save(child)
        parent.add_event(SessionEvent(id=f"{sid}-p1", message="back in the parent"))
        store.save(parent)
        reloaded = store.get(sid)
        results.append(([d.id for d in reloaded.descendants()], reloaded.child_ids))
    assert results[0] == results[1] == ([f"{sid}-child"], [f"{sid}-child"])


def test_an_event_edited_after_it_was_stored_is_kept_and_logged(stores, sid, caplog):
    ours, _ = stores
    SessionStoreProvider.set_store(ours)
    session = conversation(sid)
    ours.save(session)
    session.events[0].message = "Actually, cancel the order"
    with caplog.at_level(logging.WARNING, logger="sessionscope_client"):
        ours.save(session)
        ours.save(session)
    assert [r.getMessage() for r in caplog.records] == [
        (
            f"a2a event {sid}-e1 of session {sid} changed after it was stored; "
            "Sessionscope keeps it as first stored"
        )
    ]
    assert SessionscopeA2AStore(client=ours.client).get(sid).events[0].message == "I want a refund"


def test_list_and_delete_like_the_in_memory_store(stores, sid):
    for store in stores:
        SessionStoreProvider.set_store(store)
        store.save(Session(id=f"{sid}-a"))
        store.save(Session(id=f"{sid}-b"))
        assert sorted(store.list_sessions(sid)) == [f"{sid}-a", f"{sid}-b"]
        store.delete(f"{sid}-a")
        assert store.get(f"{sid}-a") is None
        assert store.list_sessions(sid) == [f"{sid}-b"]
