"""Each importer on files written by the real packages, imported twice: the second import
changes nothing."""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from a2a_session_manager.models.session import Session as A2ASession
from a2a_session_manager.models.session_event import SessionEvent
from a2a_session_manager.models.session_run import SessionRun
from a2a_session_manager.models.token_usage import TokenUsage as A2ATokenUsage
from a2a_session_manager.storage import SessionStoreProvider
from a2a_session_manager.storage.providers.file import FileSessionStore as A2AFileStore
from agent_framework import (
    AgentSession as AFSession,
)
from agent_framework import (
    Content,
    FileHistoryProvider,
    FileSessionStore,
    InMemoryHistoryProvider,
    Message,
)
from agents import Runner, SQLiteSession
from agents.extensions.memory import AdvancedSQLiteSession
from django.core.management import call_command

from sessions_app.demo_agents import USER_TURNS, build_agents
from sessions_app.importers import import_paths
from sessions_app.models import AgentSession, Event, Run, TokenUsage
from sessions_app.selectors.branches import branch_filter, session_branches
from sessions_app.selectors.events import items_page

pytestmark = pytest.mark.django_db


def snapshot() -> tuple:
    """Everything an import could change."""
    return (
        list(
            AgentSession.objects.order_by("pk").values_list(
                "external_id", "updated_at", "event_count", "total_tokens"
            )
        ),
        list(Event.objects.order_by("pk").values_list("external_id", "seq", "payload")),
        TokenUsage.objects.count(),
        list(Run.objects.order_by("pk").values_list("external_id", "status", "updated_at")),
    )


def import_twice(paths: list[Path], project, **kwargs):
    first = import_paths(paths, project=project, **kwargs)
    before = snapshot()
    second = import_paths(paths, project=project, **kwargs)
    assert snapshot() == before
    assert second.events_created == 0
    assert second.events_duplicate == first.events_created + first.events_duplicate
    assert second.sessions_created == second.sessions_updated == 0
    return first, second


def converse(session, *, advanced: bool = False) -> None:
    async def run() -> None:
        agent = build_agents()
        for turn in USER_TURNS:
            result = await Runner.run(agent, turn, session=session)
            if advanced:
                await session.store_run_usage(result)

    asyncio.run(run())


def test_agents_sdk_sqlite_database_imports_every_item_once(project, tmp_path):
    db = tmp_path / "agents.db"
    one, two = SQLiteSession("conv-a", db), SQLiteSession("conv-b", db)
    converse(one)
    converse(two)
    expected = asyncio.run(one.get_items())
    one.close()
    two.close()

    first, _ = import_twice([db], project)

    assert first.sessions_created == 2
    assert first.events_created == 2 * len(expected)
    stored = AgentSession.objects.get(project=project, external_id="conv-a")
    payloads = list(
        Event.objects.filter(session=stored, payload__isnull=False)
        .order_by("seq")
        .values_list("payload", flat=True)
    )
    assert payloads == expected
    assert stored.metadata == {"imported_from": "openai-agents-sqlite"}


def test_advanced_sqlite_branches_and_turn_usage_are_kept(project, tmp_path):
    db = tmp_path / "advanced.db"
    session = AdvancedSQLiteSession(session_id="conv-adv", db_path=db, create_tables=True)
    converse(session, advanced=True)

    async def branch() -> None:
        await session.create_branch_from_turn(2, "retry-weather")
        result = await Runner.run(build_agents(), "What is the weather in Rome?", session=session)
        await session.store_run_usage(result)

    async def each_branch() -> dict[str, list]:
        found = {}
        for name in ("main", "retry-weather"):
            await session.switch_to_branch(name)
            found[name] = await session.get_items()
        return found

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        asyncio.run(branch())
        sdk_branches = asyncio.run(each_branch())
    session.close()
    with sqlite3.connect(db) as conn:
        (total_tokens,) = conn.execute("SELECT SUM(total_tokens) FROM turn_usage").fetchone()

    import_twice([db], project, model="gpt-4o-mini")

    stored = AgentSession.objects.get(project=project, external_id="conv-adv")
    assert stored.metadata["branches"] == ["main", "retry-weather"]
    events = list(Event.objects.filter(session=stored).order_by("seq"))
    shared = [e for e in events if e.metadata.get("branches") == ["main", "retry-weather"]]
    only_branch = [e for e in events if e.metadata.get("branches") == ["retry-weather"]]
    assert shared and only_branch
    assert all(e.metadata["branch_id"] == "main" for e in shared)
    assert "Rome" in "".join(e.content for e in only_branch)
    # The branch asks for the weather again under the same call id: each result keeps its call.
    for result in (e for e in events if e.type == Event.Type.TOOL_RESULT):
        call = result.parent_event
        assert call.tool_call_id == result.tool_call_id and call.seq < result.seq
        assert call.metadata["branches"] == result.metadata["branches"]
    usages = TokenUsage.objects.filter(session=stored)
    assert usages.count() == len(USER_TURNS) + 1
    assert sum(u.total_tokens for u in usages) == total_tokens == stored.total_tokens
    assert {u.model for u in usages} == {"gpt-4o-mini"}
    # Each branch reads as the SDK reads it: its own items after the ones it shares.
    assert [b.name for b in session_branches(stored)] == ["main", "retry-weather"]
    for name, expected in sdk_branches.items():
        items, _ = items_page(
            stored, fmt="responses", after_seq=0, limit=1000, branch=branch_filter(stored, name)
        )
        assert items == expected, name
    assert len(sdk_branches["main"]) != len(events)


def test_agent_framework_jsonl_history_and_snapshot(project, tmp_path):
    messages = [
        Message(role="user", contents=[Content.from_text("Where is order 7?")]),
        Message(
            role="assistant",
            contents=[Content.from_function_call(call_id="c1", name="lookup", arguments={"id": 7})],
        ),
        Message(role="tool", contents=[Content.from_function_result(call_id="c1", result="late")]),
        Message(
            role="assistant",
            contents=[
                Content.from_text("It is late."),
                Content.from_uri("https://example.com/map.png", media_type="image/png"),
            ],
        ),
    ]
    memory = InMemoryHistoryProvider()
    af_session = AFSession(session_id="af-snap")
    af_session.state["mood"] = {"level": 3}

    async def write() -> None:
        await FileHistoryProvider(tmp_path / "history").save_messages("af-hist", messages)
        # An id that is not a safe file name is encoded in the file name; it comes back decoded.
        await FileHistoryProvider(tmp_path / "history").save_messages("team/af 2", messages[:1])
        state = af_session.state.setdefault(memory.source_id, {})
        await memory.save_messages("af-snap", messages[:2], state=state)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            await FileSessionStore(tmp_path / "snapshots").set("af-snap", af_session)

    asyncio.run(write())
    (tmp_path / "history" / "notes.txt").write_text("not a session")

    first, _ = import_twice([tmp_path / "history", tmp_path / "snapshots"], project)

    hist = AgentSession.objects.get(project=project, external_id="af-hist")
    events = list(Event.objects.filter(session=hist).order_by("seq"))
    # The assistant message that asked for the tool, then the call derived from it.
    assert [e.type for e in events] == ["message", "message", "tool_call", "tool_result", "message"]
    assert events[2].name == "lookup" and events[3].tool_call_id == "c1"
    assert events[3].parent_event_id == events[2].pk
    assert events[4].payload["contents"][1] == {
        "type": "uri",
        "uri": "https://example.com/map.png",
        "media_type": "image/png",
        "additional_properties": {},
    }
    assert AgentSession.objects.get(project=project, external_id="team/af 2").event_count == 1
    snap = AgentSession.objects.get(project=project, external_id="af-snap")
    assert snap.state["mood"] == {"level": 3}
    assert AFSession.from_dict({"session_id": "af-snap", "state": snap.state}).state["mood"] == {
        "level": 3
    }
    assert snap.event_count == 3  # the user message, the assistant's call and its tool_call
    assert [s.where for s in first.skipped] == [str(tmp_path / "history" / "notes.txt")]
    assert "neither" in first.skipped[0].reason or "not SQLite" in first.skipped[0].reason


def test_a2a_file_store_sessions_with_tree_runs_and_usage(project, tmp_path):
    store = A2AFileStore(tmp_path / "a2a")
    SessionStoreProvider.set_store(store)
    try:
        parent = A2ASession(id="a2a-parent")
        parent.metadata.set_property("title", "Order help")
        run = SessionRun(id="run-a2a-1")
        run.mark_running()
        run.mark_completed()
        parent.runs.append(run)
        parent.add_event(SessionEvent(id="ev-1", message="Hello", source="user"))
        parent.add_event(
            SessionEvent(
                id="ev-2",
                message="Hi! How can I help?",
                source="llm",
                task_id="run-a2a-1",
                token_usage=A2ATokenUsage(
                    model="gpt-4o-mini", prompt_tokens=12, completion_tokens=7
                ),
            )
        )
        parent.add_event(
            SessionEvent(
                id="ev-3",
                message={"tool": "lookup", "arguments": {"id": 1}, "result": "ok", "error": None},
                source="system",
                type="tool_call",
            )
        )
        # What a2a's tool processor logs for a tool it ran: the ToolResult's model_dump().
        started = datetime(2025, 5, 1, 10, 0, tzinfo=UTC)
        parent.add_event(
            SessionEvent(
                id="ev-3r",
                message={"tool": "lookup", "result": "2 rows", "error": None,
                         "start_time": started, "end_time": started + timedelta(seconds=1.5)},
                source="system",
                type="tool_call",
                metadata={"parent_event_id": "ev-2"},
            )
        )  # fmt: skip
        store.save(parent)
        child = A2ASession(id="a2a-child", parent_id="a2a-parent")
        child.add_event(SessionEvent(id="ev-4", message="sub-task", source="llm"))
        store.save(child)
    finally:
        SessionStoreProvider.set_store(None)

    first, _ = import_twice([tmp_path / "a2a"], project)

    assert first.runs_created == 1 and first.events_created == 5
    stored = AgentSession.objects.get(project=project, external_id="a2a-parent")
    assert stored.title == "Order help"
    assert stored.children_count == 1
    assert AgentSession.objects.get(external_id="a2a-child").parent_id == stored.pk
    assert Run.objects.get(external_id="run-a2a-1").status == Run.Status.COMPLETED
    usage = TokenUsage.objects.get(event__external_id="ev-2")
    assert (usage.prompt_tokens, usage.completion_tokens, usage.model) == (12, 7, "gpt-4o-mini")
    assert usage.cost_source == TokenUsage.CostSource.COMPUTED
    tool = Event.objects.get(external_id="ev-3")
    assert (tool.type, tool.name) == ("tool_call", "lookup")
    result = Event.objects.get(external_id="ev-3r")
    assert (result.type, result.name, result.content, result.duration_ms) == (
        "tool_result",
        "lookup",
        "2 rows",
        1500,
    )
    assert result.parent_event.external_id == "ev-2"


def test_command_prints_a_summary_with_skip_reasons(project, tmp_path):
    db = tmp_path / "agents.db"
    session = SQLiteSession("conv-cmd", db)
    converse(session)
    session.close()
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO agent_messages (session_id, message_data) VALUES ('conv-cmd', '{oops')"
        )
    (tmp_path / "other.json").write_text(json.dumps({"hello": "world"}))

    out, err = io.StringIO(), io.StringIO()
    call_command("import_sessions", str(tmp_path), project="acme", stdout=out, stderr=err)
    text = out.getvalue()
    assert "Sessions: 1 created" in text
    assert "Events: 14 imported, 0 already there" in text
    assert "Skipped: 2" in text
    assert "unreadable item" in text and "other.json" in text

    out = io.StringIO()
    call_command("import_sessions", str(tmp_path), project="acme", no_progress=True, stdout=out)
    assert "Events: 0 imported, 14 already there" in out.getvalue()


def test_command_refuses_an_unknown_project(db, tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No project"):
        call_command("import_sessions", str(tmp_path), project="nope")
