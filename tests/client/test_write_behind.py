"""Write-behind (`SessionscopeSession(write_behind=True)`) and `append_then_read`, against an
in-memory server behind httpx's MockTransport: order, coalescing, errors, waiting, exit."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import httpx
import pytest
from sessionscope_client import SessionscopeClient, SessionscopeError
from sessionscope_client.write_behind import WriteBehind

CLIENT_SRC = Path(__file__).resolve().parents[2] / "clients" / "python"


class ItemServer:
    """Just enough of the events API: items stored in order, read back (tail or pages), the
    `read` of a POST, pop, clear, /ingest. `gate` holds POSTs until set; `fail` answers the
    next POSTs with that status."""

    def __init__(self) -> None:
        self.items: list[dict] = []
        self.ids: set[str] = set()
        self.requests: list[tuple[str, str, dict]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.fail: list[int] = []

    def page(self, fmt, limit, tail, after_seq) -> dict:
        rows = [(seq, e) for seq, e in enumerate(self.items, start=1) if seq > after_seq]
        rows = [(seq, e) for seq, e in rows if e.get("format") == fmt]
        if tail:
            return {"items": [e["item"] for _, e in rows[-limit:]], "next_after_seq": None}
        more = len(rows) > limit
        return {
            "items": [e["item"] for _, e in rows[:limit]],
            "next_after_seq": rows[limit - 1][0] if more else None,
        }

    def store(self, events) -> list[dict]:
        results = []
        for event in events:
            status = "duplicate" if event["id"] in self.ids else "created"
            if status == "created":
                self.ids.add(event["id"])
                self.items.append(event)
            results.append({"id": event["id"], "seq": len(self.items), "status": status})
        return results

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else {}
        path = request.url.path
        self.requests.append((request.method, path.rsplit("/", 1)[-1], body))
        if request.method == "POST":
            assert self.gate.wait(10)
            if self.fail:
                status = self.fail.pop(0)
                return httpx.Response(status, json={"detail": "no", "code": "nope"})
        if request.method == "POST" and path.endswith("/ingest"):
            session, events = body["items"]
            results = self.store(events["events"])
            return httpx.Response(
                207,
                json={
                    "results": [
                        {"index": 0, "op": "session", "status": 200, "body": {"id": session["id"]}},
                        {
                            "index": 1,
                            "op": "events",
                            "status": 201,
                            "body": {"session_id": "s", "results": results},
                        },
                    ]
                },
            )
        if request.method == "POST":
            answer = {"session_id": "s", "results": self.store(body["events"])}
            if "read" in body:
                r = body["read"]
                answer["read"] = self.page(
                    r.get("format"), r["limit"], r.get("tail", False), r["after_seq"]
                )
            return httpx.Response(201, json=answer)
        if request.method == "GET":
            p = request.url.params
            return httpx.Response(
                200,
                json=self.page(
                    p.get("format"), int(p["limit"]), p.get("tail") == "true", int(p["after_seq"])
                ),
            )
        if path.endswith("/last"):
            item = self.items.pop() if self.items else None
            return httpx.Response(200, json={"item": item and {"payload": item["item"]}})
        deleted, self.items = len(self.items), []
        return httpx.Response(200, json={"deleted": deleted})

    def posted(self) -> list[list[str]]:
        """The item texts of each POST, in order."""
        return [
            [e["item"]["content"] for e in body["events"]]
            for method, _, body in self.requests
            if method == "POST"
        ]


@pytest.fixture
def server() -> ItemServer:
    return ItemServer()


@pytest.fixture
def client(server):
    with SessionscopeClient(
        "http://test", "k", transport=httpx.MockTransport(server), max_retries=0
    ) as c:
        yield c


def session(client, **kwargs):
    from sessionscope_client.openai_agents import SessionscopeSession

    pytest.importorskip("agents")
    return SessionscopeSession("s", client=client, write_behind=True, **kwargs)


def msg(text: str) -> dict:
    return {"role": "user", "content": text}


def run(coro):
    return asyncio.run(coro)


def test_append_then_read_stores_then_answers_the_read_in_one_request(client, server):
    client.append_events("s", [{"format": "responses", "item": msg("a")}])
    results, page = client.append_then_read(
        "s", [{"format": "responses", "item": msg("b")}], fmt="responses", limit=5, tail=True
    )
    assert [r["status"] for r in results] == ["created"]
    assert page == {"items": [msg("a"), msg("b")], "next_after_seq": None}
    assert [(m, body.get("read")) for m, _, body in server.requests][-1] == (
        "POST",
        {"limit": 5, "after_seq": 0, "format": "responses", "tail": True},
    )
    # No events: only the read is sent.
    assert client.append_then_read("s", [], fmt="responses", limit=1, tail=True) == (
        [],
        {"items": [msg("b")], "next_after_seq": None},
    )
    assert server.requests[-1][0] == "GET"


def test_adds_return_at_once_and_a_turn_s_adds_go_in_one_request_in_order(client, server):
    ours = session(client, linger=1.0)
    server.gate.clear()  # nothing is stored until the gate opens: an add that sent would hang
    started = time.perf_counter()
    for text in ("a", "b", "c"):
        run(ours.add_items([msg(text)]))
    run(ours.add_items([msg("d"), msg("e")]))
    assert time.perf_counter() - started < 1.0
    server.gate.set()
    deadline = time.monotonic() + 10
    while ours._queue.pending and time.monotonic() < deadline:
        time.sleep(0.01)  # the sender, after its linger, with no flush asked
    assert server.posted() == [["a", "b", "c", "d", "e"]]
    assert [e["item"]["content"] for e in server.items] == ["a", "b", "c", "d", "e"]


def test_the_sender_sends_after_the_linger_without_being_asked(client, server):
    ours = session(client, linger=0.01)
    run(ours.add_items([msg("a")]))
    deadline = time.monotonic() + 5
    while ours._queue.pending and time.monotonic() < deadline:
        time.sleep(0.01)  # stored once the answer is back
    assert ours._queue.pending == 0
    assert server.posted() == [["a"]]


def test_a_read_sends_the_queued_items_with_it_in_one_request(client, server):
    ours = session(client, linger=5)
    run(ours.add_items([msg("a"), msg("b")]))
    run(ours.add_items([msg("c")]))
    assert run(ours.get_items(limit=2)) == [msg("b"), msg("c")]
    assert [(m, "read" in body) for m, _, body in server.requests] == [("POST", True)]
    assert run(ours.get_items()) == [msg("a"), msg("b"), msg("c")]
    assert server.requests[-1][0] == "GET"  # nothing queued: the read alone


def test_a_read_waits_for_a_send_in_flight_and_keeps_the_order(client, server):
    ours = session(client, linger=0)
    server.gate.clear()
    run(ours.add_items([msg("a")]))
    deadline = time.monotonic() + 5
    while not server.requests and time.monotonic() < deadline:
        time.sleep(0.01)  # the sender's request is out, held at the gate
    run(ours.add_items([msg("b")]))
    threading.Timer(0.2, server.gate.set).start()
    assert run(ours.get_items(limit=5)) == [msg("a"), msg("b")]
    assert server.posted() == [["a"], ["b"]]


def test_items_added_just_after_a_read_wait_their_own_linger(client, server):
    # A turn: its read sends the last turn's items; the adds that follow at once are the new
    # turn's and must wait for the rest of that turn, not go out alone (a CI run saw the sender,
    # woken by the read's answer, send them at once: two requests a turn instead of one).
    queue = WriteBehind(client, "s", linger=0.6)
    queue.add([{"format": "responses", "item": msg("a")}])
    for n in range(20):
        queue.read(fmt="responses", limit=5, tail=True)
        queue.add([{"format": "responses", "item": msg(f"b{n}")}])
        time.sleep(0.005)
        assert queue.pending == 1, "the sender sent the new turn's item at once"
    assert len(server.posted()) == 20
    queue.flush()
    assert [e["item"]["content"] for e in server.items] == ["a"] + [f"b{n}" for n in range(20)]


@pytest.mark.parametrize("call", ["pop_item", "clear_session"])
def test_pop_and_clear_wait_for_the_queue(client, server, call):
    ours = session(client, linger=5)
    run(ours.add_items([msg("a"), msg("b")]))
    answer = run(getattr(ours, call)())
    if call == "pop_item":
        assert answer == msg("b")
        assert [e["item"] for e in server.items] == [msg("a")]
    else:
        assert server.items == []
    assert server.posted() == [["a", "b"]]


def test_a_failed_send_is_raised_by_the_next_call_and_its_items_are_sent_again(client, server):
    ours = session(client, linger=0)
    server.fail = [503]
    run(ours.add_items([msg("a")]))
    deadline = time.monotonic() + 5
    while ours._queue._error is None and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(SessionscopeError) as raised:
        run(ours.add_items([msg("b")]))
    assert raised.value.status == 503
    # Raised once; the failed items stay first in the queue, with their ids.
    ours.flush()
    assert [e["item"]["content"] for e in server.items] == ["a"]
    assert server.posted()[0] == server.posted()[1] == ["a"]


def test_items_the_server_refused_are_not_sent_again(client, server):
    ours = session(client, linger=5)
    run(ours.add_items([msg("a")]))
    server.fail = [422]
    with pytest.raises(SessionscopeError):
        ours.flush()
    run(ours.add_items([msg("b")]))
    ours.flush()
    assert server.posted() == [["a"], ["b"]]


def test_a_read_raises_a_failed_background_send(client, server):
    ours = session(client, linger=0)
    server.fail = [500]
    run(ours.add_items([msg("a")]))
    deadline = time.monotonic() + 5
    while ours._queue._error is None and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(SessionscopeError):
        run(ours.get_items())
    assert run(ours.get_items()) == [msg("a")]


def test_the_session_s_fields_go_with_its_first_items(client, server):
    ours = session(client, linger=5, agent_name="triage")
    run(ours.add_items([msg("a")]))
    assert run(ours.get_items(limit=3)) == [msg("a")]
    run(ours.add_items([msg("b")]))
    ours.flush()
    kinds = [(m, last) for m, last, _ in server.requests]
    assert kinds == [("POST", "ingest"), ("GET", "events"), ("POST", "events")]
    assert server.requests[0][2]["items"][0] == {"op": "session", "id": "s", "agent_name": "triage"}


def test_close_flushes_and_then_refuses_adds(client, server):
    queue = WriteBehind(client, "s", linger=5)
    queue.add([{"format": "responses", "item": msg("a")}])
    queue.close()
    assert server.posted() == [["a"]]
    with pytest.raises(RuntimeError):
        queue.add([{"format": "responses", "item": msg("b")}])


def test_queued_items_are_sent_at_interpreter_exit(tmp_path):
    log = tmp_path / "sent.jsonl"
    script = textwrap.dedent(
        f"""
        import json, sys
        sys.path.insert(0, {str(CLIENT_SRC)!r})
        import httpx
        from sessionscope_client import SessionscopeClient
        from sessionscope_client.write_behind import WriteBehind

        def handler(request):
            with open({str(log)!r}, "a") as f:
                f.write(request.content.decode() + "\\n")
            events = json.loads(request.content)["events"]
            results = [{{"id": e["id"], "seq": 1, "status": "created"}} for e in events]
            return httpx.Response(201, json={{"session_id": "s", "results": results}})

        client = SessionscopeClient("http://test", "k", transport=httpx.MockTransport(handler))
        queue = WriteBehind(client, "s", linger=60)
        queue.add([{{"format": "responses", "item": {{"role": "user", "content": "bye"}}}}])
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    sent = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["item"]["content"] for body in sent for e in body["events"]] == ["bye"]


def test_write_through_is_the_default(client, server):
    from sessionscope_client.openai_agents import SessionscopeSession

    pytest.importorskip("agents")
    ours = SessionscopeSession("s", client=client)
    run(ours.add_items([msg("a")]))
    assert server.posted() == [["a"]]
    assert ours._queue is None


@pytest.mark.parametrize("write_behind", [True, False])
def test_get_items_without_limit_reads_the_latest_1000_then_everything_when_there_are_more(
    client, server, write_behind
):
    from sessionscope_client.openai_agents import SessionscopeSession

    pytest.importorskip("agents")
    ours = SessionscopeSession("s", client=client, write_behind=write_behind, linger=5)
    run(ours.add_items([msg(f"m{i}") for i in range(998)]))
    ours.flush()
    server.requests.clear()
    assert [m["content"] for m in run(ours.get_items())] == [f"m{i}" for i in range(998)]
    assert len(server.requests) == 1  # one tail read of 1,000 held them all

    run(ours.add_items([msg(f"m{i}") for i in range(998, 1005)]))
    everything = [f"m{i}" for i in range(1005)]
    assert [m["content"] for m in run(ours.get_items())] == everything
    assert [m["content"] for m in run(ours.get_items(1002))] == everything[-1002:]
    assert [m["content"] for m in run(ours.get_items(1000))] == everything[-1000:]


def test_the_async_client_appends_then_reads_in_one_request(server):
    from sessionscope_client import AsyncSessionscopeClient

    async def go():
        async with AsyncSessionscopeClient(
            "http://test", "k", transport=httpx.MockTransport(server)
        ) as c:
            await c.append_events("s", [{"format": "responses", "item": msg("a")}])
            first = await c.append_then_read(
                "s",
                [{"format": "responses", "item": msg("b")}],
                fmt="responses",
                limit=1,
                tail=True,
            )
            second = await c.append_then_read("s", [], fmt="responses", limit=5)
            return first, second

    (results, page), (none, everything) = run(go())
    assert [r["status"] for r in results] == ["created"]
    assert page == {"items": [msg("b")], "next_after_seq": None}
    assert none == [] and everything["items"] == [msg("a"), msg("b")]
    assert [m for m, _, _ in server.requests] == ["POST", "POST", "GET"]


def test_pending_counts_the_events_queued_and_in_flight(client, server):
    ours = session(client, linger=0)
    server.gate.clear()
    run(ours.add_items([msg("a"), msg("b")]))
    deadline = time.monotonic() + 5
    while not server.requests and time.monotonic() < deadline:
        time.sleep(0.01)  # the sender's request is out, held at the gate
    run(ours.add_items([msg("c")]))
    assert ours._queue.pending == 3
    server.gate.set()
    ours.flush()
    assert ours._queue.pending == 0
