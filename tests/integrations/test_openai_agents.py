"""The Agents SDK's Runner with our session gives what it gives with the SDK's SQLiteSession."""

from __future__ import annotations

import asyncio

import pytest
from agents import Runner, SQLiteSession
from sessionscope_client.openai_agents import SessionscopeRunHooks, SessionscopeSession

from sessions_app.demo_agents import USER_TURNS, build_agents
from sessions_app.models import AgentSession, Event

pytestmark = pytest.mark.django_db(transaction=True)


async def _converse(session, hooks=None) -> list[str]:
    agent = build_agents()
    outputs = []
    for turn in USER_TURNS:
        result = await Runner.run(agent, turn, session=session, hooks=hooks)
        outputs.append(result.final_output)
    return outputs


def test_runner_over_several_turns_stores_the_same_items_as_sqlite_session(client):
    ours = SessionscopeSession("conv-1", client=client, agent_name="triage")
    theirs = SQLiteSession("conv-1")

    our_outputs = asyncio.run(_converse(ours))
    their_outputs = asyncio.run(_converse(theirs))

    assert our_outputs == their_outputs
    our_items = asyncio.run(ours.get_items())
    their_items = asyncio.run(theirs.get_items())
    assert our_items == their_items
    assert len(our_items) == 14
    for limit in (1, 3, 7, 14, 50):
        assert asyncio.run(ours.get_items(limit=limit)) == asyncio.run(theirs.get_items(limit))

    stored = AgentSession.objects.get(external_id="conv-1")
    assert stored.agent_name == "triage"
    kinds = list(Event.objects.filter(session=stored).values_list("type", flat=True))
    assert kinds.count("tool_call") == 3 and kinds.count("tool_result") == 3


def test_pop_and_clear_behave_like_sqlite_session(client):
    ours = SessionscopeSession("conv-2", client=client)
    theirs = SQLiteSession("conv-2")
    asyncio.run(_converse(ours))
    asyncio.run(_converse(theirs))

    for _ in range(3):
        assert asyncio.run(ours.pop_item()) == asyncio.run(theirs.pop_item())
    assert asyncio.run(ours.get_items()) == asyncio.run(theirs.get_items())
    assert asyncio.run(ours.get_items(limit=2)) == asyncio.run(theirs.get_items(limit=2))

    # A new turn after popping continues the stored conversation the same way.
    agent = build_agents()
    a = asyncio.run(Runner.run(agent, "What is the weather in Oslo?", session=ours))
    b = asyncio.run(Runner.run(agent, "What is the weather in Oslo?", session=theirs))
    assert a.final_output == b.final_output
    assert asyncio.run(ours.get_items()) == asyncio.run(theirs.get_items())

    asyncio.run(ours.clear_session())
    asyncio.run(theirs.clear_session())
    assert asyncio.run(ours.get_items()) == asyncio.run(theirs.get_items()) == []
    assert asyncio.run(ours.pop_item()) is asyncio.run(theirs.pop_item()) is None
    # Gone from the agent's reads, kept in the record: every event is marked removed.
    stored = Event.objects.filter(session__external_id="conv-2")
    assert stored.exists()
    assert not stored.filter(removed_at=None).exists()
    assert {e.removed_by for e in stored} == {"pop", "clear"}


def test_an_unknown_session_is_empty(client):
    session = SessionscopeSession("never-written", client=client)
    assert asyncio.run(session.get_items()) == []
    assert asyncio.run(session.get_items(limit=3)) == []
    assert asyncio.run(session.pop_item()) is None


@pytest.mark.parametrize("write_behind", [False, True])
def test_handoffs_open_child_sessions(client, write_behind):
    session = SessionscopeSession(
        "conv-3", client=client, agent_name="triage", write_behind=write_behind
    )
    hooks = SessionscopeRunHooks(session)
    sent: list = []
    client._http.event_hooks["request"] = [sent.append]
    asyncio.run(_converse(session, hooks))
    session.flush()
    client._http.event_hooks["request"] = []

    # The child's fields and its bridge event went in one request.
    assert sum(r.url.path.endswith("/ingest") for r in sent) == 2  # the parent's and the child's
    assert not any(r.method == "PUT" for r in sent)
    assert hooks.handoffs == ["conv-3:refunds"]
    child = AgentSession.objects.get(external_id="conv-3:refunds")
    assert child.parent.external_id == "conv-3"
    assert child.kind == AgentSession.Kind.CHILD
    assert child.agent_name == "refunds"
    bridge = Event.objects.get(session=child)
    assert (bridge.type, bridge.content) == (
        "context_bridge",
        "triage handed the conversation to refunds.",
    )


def test_run_usage_is_recorded_without_changing_the_items(client):
    session = SessionscopeSession("conv-usage", client=client)
    agent = build_agents()
    result = asyncio.run(Runner.run(agent, "What is the weather in Paris?", session=session))
    asyncio.run(session.store_run_usage(result, model="gpt-4o-mini"))

    stored = AgentSession.objects.get(external_id="conv-usage")
    usage = result.context_wrapper.usage
    assert (stored.prompt_tokens, stored.completion_tokens) == (
        usage.input_tokens,
        usage.output_tokens,
    )
    assert stored.cost_usd > 0
    assert len(asyncio.run(session.get_items())) == 4
