"""The Agents SDK's Runner over our session and over its own SQLiteSession, compared item by
item, with only openai-agents and the client installed."""

from __future__ import annotations

import asyncio

import pytest
from agents import Runner, SQLiteSession
from sessionscope_client.openai_agents import SessionscopeSession

from sessions_app.demo_agents import USER_TURNS, build_agents


def run(coro):
    return asyncio.run(coro)


async def converse(session, turns=USER_TURNS) -> list[str]:
    agent = build_agents()
    outputs = []
    for turn in turns:
        result = await Runner.run(agent, turn, session=session)
        outputs.append(result.final_output)
    return outputs


def test_runner_turns_store_the_same_items_as_sqlite_session(client, sid):
    ours, theirs = SessionscopeSession(sid, client=client), SQLiteSession(sid)

    assert run(converse(ours)) == run(converse(theirs))

    our_items, their_items = run(ours.get_items()), run(theirs.get_items())
    assert our_items == their_items
    assert len(our_items) == 14
    for limit in (1, 3, 7, 14, 50):
        assert run(ours.get_items(limit=limit)) == run(theirs.get_items(limit))


def test_pop_after_run_usage_returns_the_last_item_and_keeps_the_usage(client, sid):
    ours, theirs = SessionscopeSession(sid, client=client), SQLiteSession(sid)
    agent = build_agents()
    for session in (ours, theirs):
        result = run(Runner.run(agent, "What is the weather in Paris?", session=session))
    run(ours.store_run_usage(result, model="gpt-4o-mini"))
    tokens = client.get_session(sid)["total_tokens"]
    assert tokens > 0

    for _ in range(2):
        assert run(ours.pop_item()) == run(theirs.pop_item())
    assert run(ours.get_items()) == run(theirs.get_items())
    assert run(ours.get_items(limit=1)) == run(theirs.get_items(limit=1))
    # The usage event is never an item, and popping leaves what the run cost recorded.
    assert client.get_session(sid)["total_tokens"] == tokens

    # A later turn continues the same way, and the limit read still agrees.
    a = run(Runner.run(agent, "What is the weather in Oslo?", session=ours))
    b = run(Runner.run(agent, "What is the weather in Oslo?", session=theirs))
    assert a.final_output == b.final_output
    assert run(ours.get_items(limit=3)) == run(theirs.get_items(limit=3))


def test_pop_and_clear_until_empty_behave_like_sqlite_session(client, sid):
    ours, theirs = SessionscopeSession(sid, client=client), SQLiteSession(sid)
    run(converse(ours, USER_TURNS[:2]))
    run(converse(theirs, USER_TURNS[:2]))

    while (item := run(theirs.pop_item())) is not None:
        assert run(ours.pop_item()) == item
    assert run(ours.pop_item()) is None
    assert run(ours.get_items()) == [] and run(ours.get_items(limit=2)) == []

    run(converse(ours, USER_TURNS[:1]))
    run(converse(theirs, USER_TURNS[:1]))
    run(ours.clear_session())
    run(theirs.clear_session())
    assert run(ours.get_items()) == run(theirs.get_items()) == []
    assert run(ours.get_items(limit=5)) == []


def test_a_second_writer_s_items_are_read_by_the_first(client, sid):
    first, second = (SessionscopeSession(sid, client=client) for _ in range(2))
    run(first.add_items([{"role": "user", "content": "one"}]))
    run(second.add_items([{"role": "user", "content": "two"}]))
    assert run(first.get_items(limit=1)) == [{"role": "user", "content": "two"}]


def test_an_unknown_session_is_empty(client, sid):
    session = SessionscopeSession(sid, client=client)
    assert run(session.get_items()) == []
    assert run(session.get_items(limit=3)) == []
    assert run(session.pop_item()) is None


def test_encrypted_session_over_ours_reads_what_it_wrote(client, sid):
    pytest.importorskip("cryptography", reason="EncryptedSession needs openai-agents[encrypt]")
    from agents.extensions.memory import EncryptedSession

    key = "a" * 44
    underlying = SessionscopeSession(sid, client=client)
    ours = EncryptedSession(session_id=sid, underlying_session=underlying, encryption_key=key)
    theirs = EncryptedSession(
        session_id=sid, underlying_session=SQLiteSession(sid), encryption_key=key
    )
    assert run(converse(ours, USER_TURNS[:2])) == run(converse(theirs, USER_TURNS[:2]))
    assert run(ours.get_items()) == run(theirs.get_items())
    assert run(ours.get_items(limit=2)) == run(theirs.get_items(limit=2))
    assert run(ours.pop_item()) == run(theirs.pop_item())


def test_placeholder_ids_of_chat_completions_items_are_not_identities(client, sid):
    # The SDK's Chat Completions model gives every output item the id "__fake_id__".
    replies = [
        {
            "id": "__fake_id__",
            "type": "message",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": f"reply {n}", "annotations": []}],
        }
        for n in (1, 2, 3)
    ]
    for reply in replies:
        answer = client._http.post(
            f"/sessions/{sid}/events", json={"events": [{"format": "responses", "item": reply}]}
        )
        assert answer.status_code == 201, answer.text
    assert list(client.iter_events(sid, fmt="responses")) == replies


def test_each_add_and_each_limited_read_of_a_turn_is_one_request(client, sid):
    from agents.memory import SessionSettings

    run(converse(SessionscopeSession(sid, client=client), USER_TURNS[:1]))
    # A fresh session object on a stored session, as a web app builds one per request.
    session = SessionscopeSession(sid, client=client, session_settings=SessionSettings(limit=5))
    calls: list[str] = []
    for name in ("add_items", "get_items"):
        method = getattr(session, name)

        async def counted(*args, _method=method, _name=name, **kwargs):
            calls.append(_name)
            return await _method(*args, **kwargs)

        setattr(session, name, counted)
    sent: list = []
    client._http.event_hooks["request"] = [sent.append]
    try:
        run(converse(session, USER_TURNS[1:2]))
    finally:
        client._http.event_hooks["request"] = []
    requests = [(r.method, r.url.path.rsplit("/", 1)[-1]) for r in sent]
    assert calls.count("get_items") >= 1 and calls.count("add_items") >= 2
    assert requests.count(("GET", "events")) == calls.count("get_items")
    assert requests.count(("POST", "events")) == calls.count("add_items")
    assert len(requests) == len(calls)  # no session fetch, nothing else


def test_write_behind_turns_store_the_same_items_as_sqlite_session(client, sid):
    ours = SessionscopeSession(sid, client=client, write_behind=True, agent_name="triage")
    theirs = SQLiteSession(sid)

    assert run(converse(ours)) == run(converse(theirs))
    for limit in (None, 1, 3, 14, 50):
        assert run(ours.get_items(limit)) == run(theirs.get_items(limit))
    assert run(ours.pop_item()) == run(theirs.pop_item())
    run(ours.add_items([{"role": "user", "content": "late"}]))
    ours.close()  # sends what is queued
    assert client.get_session(sid)["agent_name"] == "triage"
    assert list(client.iter_events(sid, fmt="responses"))[-1] == {
        "role": "user",
        "content": "late",
    }


def test_append_then_read_answers_what_a_post_then_a_get_answer(client, sid):
    first = [
        {"format": "responses", "item": {"role": "user", "content": f"m{i}"}} for i in range(4)
    ]
    client.append_events(sid, first)
    more = [{"format": "responses", "item": {"role": "user", "content": "m4"}}]
    for read in ({"limit": 3, "tail": True}, {"limit": 2, "after_seq": 1}, {"limit": 10}):
        results, page = client.append_then_read(sid, more, fmt="responses", **read)
        assert [r["status"] for r in results] == ["created"]
        assert page == client._run(
            client._events(
                sid,
                "responses",
                read.get("after_seq", 0),
                read["limit"],
                None,
                read.get("tail", False),
            )
        )


def test_with_write_behind_a_turn_is_about_one_request(client, sid):
    from agents.memory import SessionSettings

    run(converse(SessionscopeSession(sid, client=client), USER_TURNS[:1]))
    session = SessionscopeSession(
        sid,
        client=client,
        write_behind=True,
        linger=1.0,  # longer than a turn, however loaded the machine
        session_settings=SessionSettings(limit=5),
    )
    sent: list = []
    client._http.event_hooks["request"] = [sent.append]
    try:
        run(converse(session, USER_TURNS[1:3]))
        session.flush()
    finally:
        client._http.event_hooks["request"] = []
    requests = [(r.method, r.url.path.rsplit("/", 1)[-1]) for r in sent]
    # The first read has nothing queued before it (a GET); the second turn's read carries the
    # first turn's items, and the second turn's items go at the flush.
    assert requests == [("GET", "events"), ("POST", "events"), ("POST", "events")]
