"""The Agent Framework provider round-trips messages with their content types through a live
server, honours its load/store flags in real agent runs, and snapshots restore sessions."""

from __future__ import annotations

import asyncio
import warnings

import pytest
from agent_framework import (
    Agent,
    AgentSession,
    BaseChatClient,
    ChatResponse,
    Content,
    Message,
)
from sessionscope_client.agent_framework import (
    SessionscopeHistoryProvider,
    SessionscopeSessionStore,
)

from sessions_app.models import AgentSession as StoredSession
from sessions_app.models import Event

pytestmark = pytest.mark.django_db(transaction=True)


class EchoClient(BaseChatClient):
    """A chat client that answers with how many messages it was sent (no network)."""

    async def _inner_get_response(self, *, messages, stream, options, **kwargs):
        text = f"seen {len(messages)}: {messages[-1].text}"
        return ChatResponse(messages=[Message(role="assistant", contents=[text])])


def messages() -> list[Message]:
    return [
        Message(role="system", contents=[Content.from_text("Be helpful.")]),
        Message(
            role="user",
            contents=[Content.from_text("Where is order 7?")],
            author_name="ana",
            message_id="m-1",
        ),
        Message(
            role="assistant",
            contents=[Content.from_function_call(call_id="c1", name="lookup", arguments={"id": 7})],
        ),
        Message(
            role="tool",
            contents=[Content.from_function_result(call_id="c1", result={"eta": "Friday"})],
        ),
        Message(
            role="assistant",
            contents=[
                Content.from_text("It arrives Friday."),
                Content.from_uri("https://example.com/map.png", media_type="image/png"),
                Content.from_data(b"\x89PNG", media_type="image/png"),
            ],
        ),
    ]


def test_messages_round_trip_with_their_content_types(client):
    provider = SessionscopeHistoryProvider(client=client, agent_name="helper")
    sent = messages()
    asyncio.run(provider.save_messages("af-1", sent))
    loaded = asyncio.run(provider.get_messages("af-1"))

    assert [m.to_dict() for m in loaded] == [m.to_dict() for m in sent]
    assert [c.type for c in loaded[4].contents] == ["text", "uri", "data"]
    assert loaded[1].author_name == "ana" and loaded[1].message_id == "m-1"
    stored = StoredSession.objects.get(external_id="af-1")
    assert stored.agent_name == "helper"
    assert Event.objects.filter(session=stored, type=Event.Type.TOOL_CALL, name="lookup").exists()
    assert asyncio.run(provider.get_messages("af-unknown")) == []


def run_twice(provider) -> list[str]:
    agent = Agent(client=EchoClient(), context_providers=[provider])
    session = agent.create_session(session_id="af-run")

    async def go() -> list[str]:
        first = await agent.run("one", session=session)
        second = await agent.run("two", session=session)
        return [first.text, second.text]

    return asyncio.run(go())


def test_agent_runs_load_and_store_history(client):
    answers = run_twice(SessionscopeHistoryProvider(client=client))
    # The second run saw the first run's two messages plus its own input.
    assert answers == ["seen 1: one", "seen 3: two"]
    stored = StoredSession.objects.get(external_id="af-run")
    assert list(
        Event.objects.filter(session=stored).order_by("seq").values_list("role", "content")
    ) == [
        ("user", "one"),
        ("assistant", "seen 1: one"),
        ("user", "two"),
        ("assistant", "seen 3: two"),
    ]


def test_store_flags_are_honoured(client):
    run_twice(SessionscopeHistoryProvider(client=client, store_inputs=False))
    roles = list(Event.objects.filter(session__external_id="af-run").values_list("role", flat=True))
    assert roles == ["assistant", "assistant"]


def test_load_flag_is_honoured(client):
    provider = SessionscopeHistoryProvider(client=client, load_messages=False)
    loads = []
    original = provider.get_messages

    async def counting(*args, **kwargs):
        loads.append(args)
        return await original(*args, **kwargs)

    provider.get_messages = counting
    run_twice(provider)
    # An audit-only provider is never asked for history, and still stores every message.
    assert loads == []
    assert Event.objects.filter(session__external_id="af-run").count() == 4


def test_session_snapshots_are_stored_in_state_and_restored(client):
    store = SessionscopeSessionStore(client=client)
    session = AgentSession(session_id="af-snap", service_session_id="thread_42")
    session.state["profile"] = {"tier": "gold", "visits": 3}

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        asyncio.run(store.set("af-snap", session))
        restored = asyncio.run(store.get("af-snap"))
        missing = asyncio.run(store.get("af-none"))

    assert restored.to_dict() == session.to_dict()
    assert missing is None
    stored = StoredSession.objects.get(external_id="af-snap")
    assert stored.state == session.to_dict()["state"]
    assert stored.service_session_id == "thread_42"
    asyncio.run(store.delete("af-snap"))
    assert not StoredSession.objects.filter(external_id="af-snap").exists()
