"""ASGI entry point, what `make run` and the README serve: `gunicorn -k asgi config.asgi`.

Slow clients: under gunicorn's threaded workers each connection takes a thread from the moment
its request starts arriving, so 8 clients trickling a body (2 workers x 4 threads) left nothing
for anyone else, and a held connection was never dropped. Here gunicorn's asyncio worker reads
requests on its event loop; `BufferedWSGI` waits for the whole body there (a coroutine per
client, no thread), within REQUEST_BODY_TIMEOUT seconds or the client gets a 408, and only then
runs the unchanged WSGI application (config/wsgi.py, both middleware chains) on a pool of
WEB_THREADS threads, which overlap their requests' database waits as gunicorn's threads did.

OTLP exports close their connection (`Connection: close` on the answer). An exporter keeps
one keep-alive connection, and `--reuse-port` hands each connection to one worker for good: with
a few exporters, one worker could hold them all while the others idled (seen in bench/otlp.py:
0.00 + 0.83 cores, 2,933 spans/s). Reconnecting for the next export lands it on a worker drawn
anew; an export of hundreds of spans costs far more than the connection (gRPC servers close
connections past an age, MaxConnectionAge, for the same reason). Other requests keep theirs.

Streamed bodies (the exports): the pool thread produces the next part while the event loop
sends the previous one (one part ahead, never more, so a slow client holds at most two parts
in memory), and stops iterating, closing the WSGI body, once the client has gone away (a
server drops what is sent to a closed connection, so nothing else would stop a 100,000-event
export nobody reads).

A send never holds its thread for long. The server's send() of a part waits while the
connection's write buffer is full, and gunicorn's HTTP/1 protocol never ends that wait when the
client goes away (connection_lost() releases it for HTTP/2 only): a thread waiting on it as it
was, `result()` with no timeout, stayed there for good: each cancelled download held a thread,
and after a few more of them than a worker has threads its health checks, ingest and logins
timed out until a restart. So the thread looks up every POLL seconds while a send waits: once
the client is gone (http.disconnect, or the request's coroutine cancelled, as gunicorn does 3 s
after the connection is lost) it cancels the send and gives the response up; and a send still
waiting SEND_TIMEOUT seconds after it was handed over (a client that reads nothing, or too
little to make room) gives the response up too. A response given up is never completed: the app
returns without its last message, the server closes the connection (the client sees a truncated
body, not a whole one), the WSGI body is closed and the thread is free. The same holds for a
large body in one part (the public share page's JSON). What the server had already taken stays
in the connection's buffer until the client reads it or the connection drops: memory on the
event loop, no thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from tempfile import SpooledTemporaryFile
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from config.wsgi import application as wsgi_application

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]

logger = logging.getLogger(__name__)


class _GivenUp(Exception):
    """The response is given up: its client went away, or stopped reading."""


class _Disconnected(Exception):
    """The client went away before its body arrived."""


def _error(status: int, code: str, detail: str) -> tuple[dict, dict]:
    body = json.dumps({"detail": detail, "code": code}).encode()
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ],
    }
    return start, {"type": "http.response.body", "body": body}


def wsgi_environ(scope: Scope, body: Any) -> dict[str, Any]:
    """The WSGI environ of an ASGI HTTP request whose body has been read into `body`."""
    script_name = scope.get("root_path", "").encode("utf8").decode("latin1")
    path_info = scope["path"].encode("utf8").decode("latin1")
    if script_name and path_info.startswith(script_name):
        path_info = path_info[len(script_name) :]
    query = scope.get("query_string", b"").decode("latin1")
    raw_path = scope.get("raw_path") or scope["path"].encode("utf8")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": script_name,
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        # The request target as sent, `%2F` still encoded (config/handlers.py needs it).
        "RAW_URI": raw_path.decode("latin1") + (f"?{query}" if query else ""),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    server = scope.get("server") or ("localhost", 80)
    environ["SERVER_NAME"], environ["SERVER_PORT"] = server[0], str(server[1] or 80)
    if scope.get("client"):
        environ["REMOTE_ADDR"] = scope["client"][0]
    for name, value in scope.get("headers", []):
        key = name.decode("latin1").upper().replace("-", "_")
        if key not in ("CONTENT_LENGTH", "CONTENT_TYPE"):
            key = f"HTTP_{key}"
        text = value.decode("latin1")
        environ[key] = f"{environ[key]},{text}" if key in environ else text
    return environ


class BufferedWSGI:
    """An ASGI application running a WSGI one once the whole request body has arrived."""

    # Seconds between a waiting send's looks at whether its client is gone.
    POLL = 0.1

    def __init__(
        self,
        app: Callable,
        *,
        threads: int,
        body_timeout: float,
        send_timeout: float = 60,
        closing_paths: frozenset[str] = frozenset(),
    ):
        self.app = app
        self.body_timeout = body_timeout
        # Seconds one send may wait for the client to make room before the response is given up.
        self.send_timeout = send_timeout
        # Requests to these paths are answered with `Connection: close`.
        self.closing_paths = closing_paths
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="wsgi")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        with SpooledTemporaryFile(max_size=1024 * 1024) as body:
            try:
                await asyncio.wait_for(self._read(receive, body), self.body_timeout)
            except TimeoutError:
                for message in _error(
                    408,
                    "request_timeout",
                    f"The request body did not arrive within {self.body_timeout:g} seconds.",
                ):
                    await send(message)
                return
            except _Disconnected:
                return
            body.seek(0)
            loop = asyncio.get_running_loop()
            gone = threading.Event()
            watcher = asyncio.ensure_future(self._watch(receive, gone))
            try:
                await loop.run_in_executor(
                    self.executor, self._run, wsgi_environ(scope, body), send, loop, gone
                )
            finally:
                # Cancelled (gunicorn cancels a request some seconds after its connection is
                # lost): the thread, which runs on, must stop sending too.
                gone.set()
                # Only now: a server may treat a receive() cancelled as the client gone.
                watcher.cancel()

    @staticmethod
    async def _watch(receive: Receive, gone: threading.Event) -> None:
        """Set `gone` when the client disconnects (receive() answers once the body is read)."""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                gone.set()
                return

    @staticmethod
    async def _read(receive: Receive, body: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            body.write(message.get("body", b""))
            if not message.get("more_body"):
                return

    def _run(
        self,
        environ: dict,
        send: Send,
        loop: asyncio.AbstractEventLoop,
        gone: threading.Event | None = None,
    ) -> None:
        """Run the WSGI application in a pool thread, sending what it returns: each message
        goes to the event loop without waiting, and the next is awaited only once the one
        before it has been sent (one ahead); the body is left unread once the client is gone,
        and the response is given up (never completed) once a send has waited for the client
        longer than `send_timeout` or the client is gone while a send waits."""
        gone = gone or threading.Event()
        in_flight: Future | None = None
        handed_at = 0.0

        def wait_sent() -> None:
            """Wait for the send in flight, looking at the client every POLL seconds."""
            nonlocal in_flight
            if in_flight is None:
                return
            deadline = handed_at + self.send_timeout
            while True:
                try:
                    in_flight.result(timeout=max(0.0, min(self.POLL, deadline - time.monotonic())))
                except TimeoutError:
                    pass
                except CancelledError:  # by the event loop (the worker shutting down)
                    in_flight = None
                    raise _GivenUp from None
                else:
                    in_flight = None
                    return
                if gone.is_set() or time.monotonic() >= deadline:
                    # Ends the send's wait on the event loop (a task nothing else would end).
                    in_flight.cancel()
                    in_flight = None
                    if not gone.is_set():
                        logger.warning(
                            "Gave up the response to %s %s: the client read nothing for %g s",
                            environ["REQUEST_METHOD"],
                            environ["PATH_INFO"],
                            self.send_timeout,
                        )
                    raise _GivenUp

        def call(message: dict) -> None:
            nonlocal in_flight, handed_at
            wait_sent()
            handed_at = time.monotonic()
            in_flight = asyncio.run_coroutine_threadsafe(send(message), loop)

        start: dict[str, Any] = {}

        def start_response(status: str, headers: list, exc_info: Any = None) -> Callable:
            start["message"] = {
                "type": "http.response.start",
                "status": int(status[:3]),
                "headers": [(k.lower().encode("latin1"), v.encode("latin1")) for k, v in headers],
            }
            # HTTP/1 only: HTTP/2 forbids connection headers (and multiplexes its requests).
            if environ["PATH_INFO"] in self.closing_paths and environ["SERVER_PROTOCOL"] in (
                "HTTP/1.0",
                "HTTP/1.1",
            ):
                start["message"]["headers"].append((b"connection", b"close"))
            return lambda data: None  # the legacy write() callable: Django never uses it

        result: Iterable[bytes] = self.app(environ, start_response)
        try:
            started = False
            parts = iter(result)
            while not gone.is_set():
                chunk = next(parts, None)
                if chunk is None:
                    break
                if not chunk:
                    continue
                if not started:
                    call(start["message"])
                    started = True
                call({"type": "http.response.body", "body": chunk, "more_body": True})
            if not gone.is_set():
                if not started:
                    call(start["message"])
                call({"type": "http.response.body", "body": b"", "more_body": False})
            wait_sent()
        except _GivenUp:
            pass
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()

    @staticmethod
    async def _lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


# The OTLP receiver's two paths (config/urls.py).
OTLP_PATHS = frozenset({"/api/otel/v1/traces", "/v1/traces"})

application = BufferedWSGI(
    wsgi_application,
    threads=int(os.environ.get("WEB_THREADS", "8")),
    body_timeout=float(os.environ.get("REQUEST_BODY_TIMEOUT", "30")),
    send_timeout=float(os.environ.get("SEND_TIMEOUT", "60")),
    closing_paths=OTLP_PATHS,
)
