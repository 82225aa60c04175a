"""Agent Framework runs over our history provider and over the framework's own file provider,
compared message by message, with only agent-framework-core and the client installed."""

from __future__ import annotations

import asyncio
import warnings

import pytest
from agent_framework import Agent, BaseChatClient, ChatResponse, Content, Message
from sessionscope_client.agent_framework import SessionscopeHistoryProvider

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from agent_framework import FileHistoryProvider

pytestmark = pytest.mark.filterwarnings("ignore")


class EchoClient(BaseChatClient):
    """A chat client that answers with how many messages it was sent, and reports usage."""

    model_id = "gpt-4o-mini"

    async def _inner_get_response(self, *, messages, stream, options, **kwargs):
        text = f"seen {len(messages)}: {messages[-1].text}"
        return ChatResponse(
            messages=[Message(role="assistant", contents=[text])],
            usage_details={"input_token_count": 40, "output_token_count": 8},
            model=self.model_id,
        )


def dicts(messages: list[Message]) -> list[dict]:
    return [m.to_dict() for m in messages]


def converse(provider, session_id: str, turns=("one", "two", "three")) -> list[str]:
    agent = Agent(client=EchoClient(), context_providers=[provider])
    session = agent.create_session(session_id=session_id)

    async def go() -> list[str]:
        return [(await agent.run(turn, session=session)).text for turn in turns]

    return asyncio.run(go())


def test_agent_runs_store_and_load_what_the_file_provider_does(client, sid, tmp_path):
    ours = SessionscopeHistoryProvider(client=client, agent_name="helper")
    theirs = FileHistoryProvider(tmp_path)

    assert (
        converse(ours, sid)
        == converse(theirs, sid)
        == [
            "seen 1: one",
            "seen 3: two",
            "seen 5: three",
        ]
    )
    assert dicts(asyncio.run(ours.get_messages(sid))) == dicts(
        asyncio.run(theirs.get_messages(sid))
    )
    assert client.get_session(sid)["agent_name"] == "helper"


def test_each_run_s_usage_is_recorded_with_its_model(client, sid):
    converse(SessionscopeHistoryProvider(client=client), sid, ("one", "two"))
    stored = client.get_session(sid)
    assert (stored["prompt_tokens"], stored["completion_tokens"]) == (80, 16)
    assert float(stored["cost_usd"]) > 0
    usages = [e["token_usage"] for e in client.iter_events(sid) if e["token_usage"]]
    assert [u["model"] for u in usages] == ["gpt-4o-mini", "gpt-4o-mini"]


def test_a_replayed_transcript_is_stored_once_as_by_the_file_provider(client, sid, tmp_path):
    ours = SessionscopeHistoryProvider(client=client)
    theirs = FileHistoryProvider(tmp_path)
    first = [Message(role="user", contents=["hi"]), Message(role="assistant", contents=["hello"])]
    later = [*first, Message(role="user", contents=["again"])]
    for provider in (ours, theirs):
        asyncio.run(provider.save_messages(sid, first))
        asyncio.run(provider.save_messages(sid, later))
    assert dicts(asyncio.run(ours.get_messages(sid))) == dicts(
        asyncio.run(theirs.get_messages(sid))
    )
    assert len(asyncio.run(ours.get_messages(sid))) == 3


def test_skip_excluded_hides_excluded_messages_as_the_file_provider_does(client, sid, tmp_path):
    ours = SessionscopeHistoryProvider(client=client, skip_excluded=True)
    theirs = FileHistoryProvider(tmp_path, skip_excluded=True)
    messages = [
        Message(role="user", contents=["old"], additional_properties={"_excluded": True}),
        Message(role="assistant", contents=["summary"]),
        Message(role="user", contents=["new"]),
    ]
    for provider in (ours, theirs):
        asyncio.run(provider.save_messages(sid, messages))
    loaded = asyncio.run(ours.get_messages(sid))
    assert dicts(loaded) == dicts(asyncio.run(theirs.get_messages(sid)))
    assert [m.text for m in loaded] == ["summary", "new"]
    # Excluded from what the agent loads, not from the record.
    assert len(list(client.iter_events(sid, fmt="agent_framework"))) == 3


def test_messages_round_trip_with_their_content_types(client, sid, tmp_path):
    ours, theirs = SessionscopeHistoryProvider(client=client), FileHistoryProvider(tmp_path)
    sent = [
        Message(role="system", contents=[Content.from_text("Be helpful.")]),
        Message(role="user", contents=["Where is order 7?"], author_name="ana", message_id="m-1"),
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
    for provider in (ours, theirs):
        asyncio.run(provider.save_messages(sid, sent))
    loaded = asyncio.run(ours.get_messages(sid))
    assert dicts(loaded) == dicts(sent)
    assert dicts(loaded) == dicts(asyncio.run(theirs.get_messages(sid)))
    assert asyncio.run(ours.get_messages(f"{sid}-unknown")) == []
