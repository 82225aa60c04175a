"""The advanced session against the SDK's `AdvancedSQLiteSession`, driven the same way, with
only openai-agents and the client installed."""

from __future__ import annotations

import asyncio
import warnings

import pytest
from agents import Runner
from sessionscope_client.openai_agents_advanced import AdvancedSessionscopeSession

from sessions_app.demo_agents import USER_TURNS, build_agents

memory = pytest.importorskip("agents.extensions.memory")
AdvancedSQLiteSession = getattr(memory, "AdvancedSQLiteSession", None)
if AdvancedSQLiteSession is None:  # older releases of the extra's range
    pytest.skip("this openai-agents has no AdvancedSQLiteSession", allow_module_level=True)


async def drive(session) -> dict:
    agent = build_agents()
    for turn in USER_TURNS:
        await session.store_run_usage(await Runner.run(agent, turn, session=session))
    answers: dict = {"main": await session.get_items()}
    await session.create_branch_from_turn(2, "retry")
    await session.store_run_usage(await Runner.run(agent, "Weather in Rome?", session=session))
    answers["retry"] = await session.get_items()
    answers["branches"] = [
        (b["branch_id"], b["message_count"], b["user_turns"], b["is_current"])
        for b in await session.list_branches()
    ]
    usage = await session.get_session_usage()
    answers["usage"] = {k: usage[k] for k in ("requests", "total_tokens", "total_turns")}
    answers["turns"] = [
        (t["user_turn_number"], t["total_tokens"]) for t in await session.get_turn_usage()
    ]
    answers["popped"] = await session.pop_item()
    await session.switch_to_branch("main")
    answers["main-again"] = await session.get_items()
    return answers


def test_branches_and_turn_usage_answer_as_advanced_sqlite_session(client, sid, tmp_path):
    theirs = AdvancedSQLiteSession(session_id=sid, db_path=tmp_path / "a.db", create_tables=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = asyncio.run(drive(theirs))
    theirs.close()
    got = asyncio.run(drive(AdvancedSessionscopeSession(sid, client=client)))
    assert got == expected
