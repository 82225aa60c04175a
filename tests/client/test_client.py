"""The Python client alone, against an httpx MockTransport: retries, idempotency ids, batching."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from sessionscope_client import (
    AsyncSessionscopeClient,
    ConflictError,
    EventBatcher,
    NotFoundError,
    SessionscopeClient,
    SessionscopeError,
)


class FlakyServer:
    """Fails the first `failures` requests (status or exception), then answers like the API,
    remembering event ids so a retried batch is answered `duplicate`."""

    def __init__(self, failures: int = 0, failure: int | Exception = 503):
        self.failures = failures
        self.failure = failure
        self.requests: list[httpx.Request] = []
        self.stored: dict[str, int] = {}
        self.store_then_fail = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.failures:
            self.failures -= 1
            if isinstance(self.failure, Exception):
                raise self.failure
            return httpx.Response(self.failure, json={"detail": "down", "code": "unavailable"})
        if request.method == "POST" and request.url.path.endswith("/events"):
            results = []
            for event in json.loads(request.content)["events"]:
                status = "duplicate" if event["id"] in self.stored else "created"
                self.stored.setdefault(event["id"], len(self.stored) + 1)
                results.append(
                    {"id": event["id"], "seq": self.stored[event["id"]], "status": status}
                )
            if self.store_then_fail:
                # The server stored the batch but the answer was lost on the way back.
                self.store_then_fail = False
                raise httpx.ReadTimeout("answer lost", request=request)
        if request.method == "POST" and request.url.path.endswith("/events"):
            return httpx.Response(201, json={"session_id": "s", "results": results})
        if request.method == "DELETE" and request.url.path.endswith("/events/last"):
            return httpx.Response(200, json={"item": {"payload": {"role": "user"}}})
        if request.url.path.endswith("/missing"):
            return httpx.Response(404, json={"detail": "No session", "code": "not_found"})
        return httpx.Response(200, json={"id": "s", "last_seq": 0})


def make_client(server: FlakyServer, **kwargs) -> SessionscopeClient:
    return SessionscopeClient(
        "http://ss.test",
        "ss_key",
        transport=httpx.MockTransport(server),
        sleep=lambda s: None,
        **kwargs,
    )


def sent_ids(request: httpx.Request) -> list[str]:
    return [e["id"] for e in json.loads(request.content)["events"]]


def test_a_retried_batch_carries_the_same_ids():
    server = FlakyServer(failures=2, failure=503)
    results = make_client(server).append_events("s", [{"message": "a"}, {"message": "b"}])

    assert len(server.requests) == 3
    assert sent_ids(server.requests[0]) == sent_ids(server.requests[2])
    assert [r["status"] for r in results] == ["created", "created"]


def test_a_lost_answer_is_retried_and_stored_once():
    server = FlakyServer()
    server.store_then_fail = True
    results = make_client(server).append_events("s", [{"id": "e1", "message": "a"}])

    assert len(server.requests) == 2
    assert results == [{"id": "e1", "seq": 1, "status": "duplicate"}]
    assert list(server.stored) == ["e1"]


def test_retries_stop_after_max_retries():
    server = FlakyServer(failures=10, failure=503)
    with pytest.raises(SessionscopeError) as info:
        make_client(server, max_retries=2).append_events("s", [{"message": "a"}])
    assert info.value.status == 503
    assert len(server.requests) == 3


def test_pop_is_not_retried_once_the_request_may_have_reached_the_server():
    server = FlakyServer(failures=1, failure=httpx.ReadTimeout("slow"))
    with pytest.raises(httpx.ReadTimeout):
        make_client(server).pop_event("s")
    assert len(server.requests) == 1


def test_pop_is_retried_when_the_connection_was_never_made():
    server = FlakyServer(failures=1, failure=httpx.ConnectError("refused"))
    assert make_client(server).pop_event("s") == {"payload": {"role": "user"}}
    assert len(server.requests) == 2


def test_errors_carry_status_code_and_field():
    def answer(request):
        return httpx.Response(
            409, json={"detail": "reused", "code": "idempotency_conflict", "field": "id"}
        )

    client = SessionscopeClient("http://ss.test", "k", transport=httpx.MockTransport(answer))
    with pytest.raises(ConflictError) as info:
        client.append_events("s", [{"id": "x", "message": "a"}])
    assert (info.value.status, info.value.code, info.value.field) == (
        409,
        "idempotency_conflict",
        "id",
    )


def test_unknown_session_reads_are_none_or_empty():
    server = FlakyServer()
    client = make_client(server)
    assert client.get_session("missing") is None
    with pytest.raises(NotFoundError):
        client.upsert_session("missing", title="x")


def test_session_ids_are_escaped_in_paths_and_the_key_is_sent():
    server = FlakyServer()
    make_client(server).get_session("conv 1?x")
    request = server.requests[0]
    assert request.url.raw_path == b"/api/v1/sessions/conv%201%3Fx"
    assert request.headers["Authorization"] == "Bearer ss_key"


def test_async_client_retries_with_the_same_ids():
    server = FlakyServer(failures=1, failure=502)

    async def run():
        async with AsyncSessionscopeClient(
            "http://ss.test", "k", transport=httpx.MockTransport(server), backoff=0
        ) as client:
            return await client.append_events("s", [{"message": "a"}])

    results = asyncio.run(run())
    assert results[0]["status"] == "created"
    assert sent_ids(server.requests[0]) == sent_ids(server.requests[1])


def test_batcher_keeps_events_while_the_server_is_down_and_sends_them_later():
    server = FlakyServer(failures=100, failure=httpx.ConnectError("refused"))
    batcher = EventBatcher(make_client(server, max_retries=0), background=False)
    ids = [batcher.add("s1", {"message": str(i)}) for i in range(3)]
    batcher.add("s2", {"message": "other"})

    assert batcher.flush() is False
    assert batcher.pending == 4

    server.failures = 0
    assert batcher.flush() is True
    assert batcher.pending == 0
    assert list(server.stored)[:3] == ids
    assert batcher.sent == 4
    batcher.close()


def test_batcher_is_bounded_and_counts_what_it_dropped():
    server = FlakyServer(failures=100, failure=httpx.ConnectError("refused"))
    batcher = EventBatcher(make_client(server, max_retries=0), background=False, max_pending=5)
    for i in range(8):
        batcher.add("s", {"message": str(i)})
    assert (batcher.pending, batcher.dropped) == (5, 3)
    batcher.close(timeout=0)


def test_batcher_flushes_on_leaving_its_block():
    server = FlakyServer()
    with EventBatcher(make_client(server), flush_interval=60) as batcher:
        batcher.upsert_session("s", title="T")
        batcher.add("s", {"message": "a"})
    assert batcher.pending == 0
    assert [r.method for r in server.requests] == ["PUT", "POST"]
    batcher.add("s", {"message": "too late"})
    assert (batcher.pending, batcher.dropped) == (0, 1)


def test_large_lists_are_split_under_the_servers_limits_in_order():
    server = FlakyServer()
    client = make_client(server)
    events = [{"message": "x" * 1000} for _ in range(1200)]
    results = client.append_events("s", events)

    sizes = [len(json.loads(r.content)["events"]) for r in server.requests]
    assert sizes == [500, 500, 200]
    assert [r["seq"] for r in results] == list(range(1, 1201))
    big = [{"message": "y" * 1_500_000} for _ in range(5)]
    client.append_events("s", big)
    assert [len(json.loads(r.content)["events"]) for r in server.requests[3:]] == [2, 2, 1]


def test_the_client_reads_its_address_and_key_from_the_environment(monkeypatch):
    monkeypatch.setenv("SESSIONSCOPE_URL", "http://sessionscope.test/")
    monkeypatch.setenv("SESSIONSCOPE_API_KEY", "ss_from_env")
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(404, json={"detail": "no", "code": "not_found"})

    client = SessionscopeClient(transport=httpx.MockTransport(answer))
    assert client.get_session("a/b c") is None
    assert client.base_url == "http://sessionscope.test/api/v1"
    assert seen[0].headers["Authorization"] == "Bearer ss_from_env"
    # A session id is one path segment, whatever it holds: "/" is sent encoded.
    assert seen[0].url.raw_path == b"/api/v1/sessions/a%2Fb%20c"


def test_a_client_without_address_or_key_says_what_to_set(monkeypatch):
    monkeypatch.delenv("SESSIONSCOPE_URL", raising=False)
    monkeypatch.delenv("SESSIONSCOPE_API_KEY", raising=False)
    with pytest.raises(ValueError, match="SESSIONSCOPE_URL"):
        SessionscopeClient()
    with pytest.raises(ValueError, match="SESSIONSCOPE_API_KEY"):
        AsyncSessionscopeClient("http://sessionscope.test")


def test_the_latest_items_are_one_tail_read_of_the_format():
    seen: list[httpx.Request] = []

    def server(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/missing/events"):
            return httpx.Response(404, json={"detail": "No session", "code": "not_found"})
        return httpx.Response(200, json={"items": [{"n": 2}, {"n": 3}], "next_after_seq": None})

    client = SessionscopeClient("http://ss.test", "k", transport=httpx.MockTransport(server))
    assert client.latest_items("s/1", fmt="responses", limit=2, branch="b") == [{"n": 2}, {"n": 3}]
    assert seen[0].url.raw_path.split(b"?")[0] == b"/api/v1/sessions/s%2F1/events"
    assert dict(seen[0].url.params) == {
        "after_seq": "0",
        "limit": "2",
        "format": "responses",
        "branch": "b",
        "tail": "true",
    }
    assert client.latest_items("s", fmt="responses", limit=0) == []
    assert client.latest_items("missing", fmt="responses", limit=5) == []
    assert len(seen) == 2  # a zero limit asks nothing

    async def run() -> list:
        async with AsyncSessionscopeClient(
            "http://ss.test", "k", transport=httpx.MockTransport(server)
        ) as aclient:
            return await aclient.latest_items("s", fmt="responses", limit=2)

    assert asyncio.run(run()) == [{"n": 2}, {"n": 3}]
    assert seen[-1].url.params["tail"] == "true"
