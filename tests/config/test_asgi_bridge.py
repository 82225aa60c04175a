"""The ASGI bridge around the WSGI application (config/asgi.py) with a streamed body: it makes
the next part while the previous one is sent, never more than one ahead, and stops reading the
body (closing it) once the client has gone away."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from config.asgi import BufferedWSGI
from config.wsgi import application
from sessions_app.models import AgentSession

SCOPE = {
    "type": "http",
    "method": "GET",
    "path": "/export.json",
    "query_string": b"",
    "headers": [],
    "server": ("testserver", 80),
}


class Body:
    """A streamed WSGI body that records the parts it made and whether it was closed."""

    def __init__(self, parts: int | None):
        self.made: list[int] = []
        self.closed = False
        self.parts = parts

    def __iter__(self) -> Iterator[bytes]:
        i = 0
        while self.parts is None or i < self.parts:
            self.made.append(i)
            yield b"part %d;" % i
            i += 1

    def close(self) -> None:
        self.closed = True


def app_of(body: Body):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/json")])
        return body

    return app


def receiver(disconnect: asyncio.Event):
    """The request's (empty) body, then http.disconnect once `disconnect` is set."""
    messages = iter([{"type": "http.request", "body": b"", "more_body": False}])

    async def receive() -> dict:
        message = next(messages, None)
        if message is not None:
            return message
        await disconnect.wait()
        return {"type": "http.disconnect"}

    return receive


def test_the_next_part_is_made_while_the_previous_one_is_sent_and_no_further():
    body = Body(parts=5)
    made_while_sending: list[list[int]] = []
    sent: list[dict] = []

    async def scenario() -> None:
        bridge = BufferedWSGI(app_of(body), threads=1, body_timeout=5)

        async def send(message: dict) -> None:
            if message.get("body") == b"part 0;":
                deadline = time.monotonic() + 5
                while len(body.made) < 2 and time.monotonic() < deadline:
                    await asyncio.sleep(0.01)
                await asyncio.sleep(0.2)  # time enough to make more, were it allowed to
                made_while_sending.append(list(body.made))
            sent.append(message)

        await asyncio.wait_for(bridge(SCOPE, receiver(asyncio.Event()), send), 10)

    asyncio.run(scenario())
    assert made_while_sending == [[0, 1]]
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 200
    assert b"".join(m["body"] for m in sent[1:]) == b"".join(b"part %d;" % i for i in range(5))
    assert sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    assert body.closed


def test_a_client_that_goes_away_stops_the_body_and_closes_it():
    body = Body(parts=None)  # endless: only the disconnect can stop it

    async def scenario() -> list[dict]:
        bridge = BufferedWSGI(app_of(body), threads=1, body_timeout=5)
        disconnect = asyncio.Event()
        sent: list[dict] = []

        async def send(message: dict) -> None:
            sent.append(message)
            if len(sent) == 4:  # the start and three parts: the client hangs up
                disconnect.set()
                await asyncio.sleep(0.05)

        await asyncio.wait_for(bridge(SCOPE, receiver(disconnect), send), 10)
        return sent

    sent = asyncio.run(scenario())
    assert body.closed
    assert len(body.made) <= 6, body.made
    assert not any(m.get("more_body") is False for m in sent)


def test_an_empty_body_is_still_answered():
    body = Body(parts=0)

    async def scenario() -> list[dict]:
        sent: list[dict] = []

        async def send(message: dict) -> None:
            sent.append(message)

        bridge = BufferedWSGI(app_of(body), threads=1, body_timeout=5)
        await asyncio.wait_for(bridge(SCOPE, receiver(asyncio.Event()), send), 10)
        return sent

    sent = asyncio.run(scenario())
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[1]["more_body"] is False and body.closed


@pytest.mark.django_db(transaction=True)
def test_a_download_of_an_export_the_client_leaves_half_read_stops_the_export(
    project, viewer, monkeypatch
):
    """Through the real application: Django's streamed response is closed by the bridge, which
    closes the export's generator, so it reads no further chunk of events."""
    from django.conf import settings
    from django.db import connections
    from django.test import Client
    from django.urls import reverse

    from sessions_app import exports
    from sessions_app.inputs import EventInput
    from sessions_app.services.events import events_append
    from sessions_app.services.sessions import session_upsert

    session_upsert(project=project, external_id="long", fields={})
    events = [EventInput(external_id=f"e{i}", source="user", content=f"{i}") for i in range(30)]
    events_append(project=project, session_external_id="long", events=events)
    session = AgentSession.objects.get(external_id="long")
    monkeypatch.setitem(exports.export_jsonl.__kwdefaults__, "chunk", 1)  # a part per event
    read: list[bytes] = []
    closed: list[bool] = []
    parts_of = exports._event_parts

    def spied(*args, **kwargs):
        try:
            for part in parts_of(*args, **kwargs):
                read.append(part)
                yield part
        finally:
            closed.append(True)

    monkeypatch.setattr(exports, "_event_parts", spied)
    client = Client()
    client.force_login(viewer)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    path = reverse("dashboard:session_export", args=[project.slug, session.pk, "jsonl"])
    scope = {
        **SCOPE,
        "path": path,
        "headers": [(b"host", b"testserver"), (b"cookie", cookie.encode())],
    }

    async def scenario() -> list[dict]:
        bridge = BufferedWSGI(application, threads=1, body_timeout=5)
        disconnect = asyncio.Event()
        sent: list[dict] = []

        async def send(message: dict) -> None:
            sent.append(message)
            if len(sent) == 4:  # the start, the head and two events: the client hangs up
                disconnect.set()
                await asyncio.sleep(0.1)

        await asyncio.wait_for(bridge(scope, receiver(disconnect), send), 20)
        # The pool thread's own database connection, closed before the test database goes.
        bridge.executor.submit(connections.close_all).result()
        bridge.executor.shutdown(wait=True)
        return sent

    sent = asyncio.run(scenario())
    assert sent[0]["status"] == 200
    assert closed == [True]
    assert 2 <= len(read) <= 5, len(read)


@pytest.mark.parametrize(
    ("path", "version", "closes"),
    [
        ("/v1/traces", "1.1", True),
        ("/v1/traces", "1.0", True),
        ("/v1/traces", "2", False),  # HTTP/2 forbids connection headers
        ("/api/v1/health", "1.1", False),
    ],
)
def test_only_an_http1_request_to_a_closing_path_is_answered_connection_close(
    path, version, closes
):
    async def scenario() -> list[dict]:
        sent: list[dict] = []

        async def send(message: dict) -> None:
            sent.append(message)

        bridge = BufferedWSGI(
            app_of(Body(parts=1)),
            threads=1,
            body_timeout=5,
            closing_paths=frozenset({"/v1/traces"}),
        )
        scope = {**SCOPE, "path": path, "http_version": version}
        await asyncio.wait_for(bridge(scope, receiver(asyncio.Event()), send), 10)
        return sent

    start = asyncio.run(scenario())[0]
    assert ((b"connection", b"close") in start["headers"]) is closes


def stuck_sender(stall_at: int, disconnect: asyncio.Event | None = None):
    """A send like gunicorn's over HTTP/1 with the connection's write buffer full: from the
    `stall_at`-th message on, it waits for a drain nothing will ever end, even once the client
    is gone (its connection_lost() releases it for HTTP/2 only); a send after the disconnect
    returns at once, as gunicorn's does once the connection is closed. Records its messages,
    and whether its wait was cancelled."""
    sent: list[dict] = []
    stalled = asyncio.Event()
    cancelled: list[bool] = []

    async def send(message: dict) -> None:
        if disconnect is not None and disconnect.is_set():
            return
        sent.append(message)
        if len(sent) >= stall_at:
            stalled.set()
            try:
                await asyncio.get_running_loop().create_future()  # nobody sets it
            except asyncio.CancelledError:
                cancelled.append(True)
                raise

    return send, sent, stalled, cancelled


@pytest.mark.parametrize("parts", [None, 1], ids=["streamed", "one large part"])
def test_a_send_stuck_on_a_full_buffer_lets_go_of_its_thread_once_the_client_is_gone(parts):
    """The client leaves while a part waits for room that never comes: the thread gives the
    response up within a bound (not at the send timeout), cancels the send and closes the body;
    the response is never completed."""
    body = Body(parts=parts)

    async def scenario() -> float:
        bridge = BufferedWSGI(app_of(body), threads=1, body_timeout=5)  # send timeout: 60 s
        disconnect = asyncio.Event()
        send, sent, stalled, cancelled = stuck_sender(stall_at=2, disconnect=disconnect)
        call = asyncio.ensure_future(bridge(SCOPE, receiver(disconnect), send))
        await asyncio.wait_for(stalled.wait(), 5)
        await asyncio.sleep(0.2)
        disconnect.set()
        left = time.monotonic()
        await asyncio.wait_for(call, 5)
        released = time.monotonic() - left
        # The pool's one thread is free for the next request.
        await asyncio.wait_for(asyncio.wrap_future(bridge.executor.submit(lambda: None)), 1)
        assert cancelled == [True]
        assert not any(m.get("more_body") is False for m in sent)
        return released

    released = asyncio.run(scenario())
    assert released < 2, released
    assert body.closed
    assert len(body.made) <= 3, body.made


def test_a_client_that_reads_nothing_has_its_response_given_up_after_the_send_timeout():
    body = Body(parts=None)

    async def scenario() -> tuple[float, list[dict], list[bool]]:
        bridge = BufferedWSGI(app_of(body), threads=1, body_timeout=5, send_timeout=1)
        send, sent, _, cancelled = stuck_sender(stall_at=3)
        began = time.monotonic()
        await asyncio.wait_for(bridge(SCOPE, receiver(asyncio.Event()), send), 10)
        await asyncio.wait_for(asyncio.wrap_future(bridge.executor.submit(lambda: None)), 1)
        return time.monotonic() - began, sent, cancelled

    took, sent, cancelled = asyncio.run(scenario())
    assert 1 <= took < 3, took
    assert cancelled == [True]
    assert body.closed and len(body.made) <= 4, body.made
    assert not any(m.get("more_body") is False for m in sent)


def test_a_request_cancelled_while_its_send_is_stuck_frees_its_thread():
    """gunicorn cancels a request's task some seconds after its connection is lost: the thread
    stops as well, even if no http.disconnect reached the bridge."""
    body = Body(parts=None)

    async def scenario() -> None:
        bridge = BufferedWSGI(app_of(body), threads=1, body_timeout=5)
        send, _, stalled, cancelled = stuck_sender(stall_at=2)
        call = asyncio.ensure_future(bridge(SCOPE, receiver(asyncio.Event()), send))
        await asyncio.wait_for(stalled.wait(), 5)
        call.cancel()
        await asyncio.wait_for(asyncio.wrap_future(bridge.executor.submit(lambda: None)), 2)
        assert cancelled == [True]

    asyncio.run(scenario())
    assert body.closed
