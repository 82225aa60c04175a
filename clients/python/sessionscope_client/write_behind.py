"""Write-behind for one session: adds return at once, a background thread sends them in order.

`add()` only queues. A sender thread, started by the first add and gone once the queue is
empty, waits `linger` seconds so the adds of one agent turn go out as one request, then sends
what is queued, in order, one request at a time. Everything that must see the adds waits for
them first: `read()` sends what is still queued together with the read, in one request
(`append_then_read`); `flush()` (before a pop or a clear, on close, at interpreter exit) sends
it alone. A failed send is raised by the next call; its events stay queued with their ids, so
sending them again cannot store them twice, unless the server refused them (a 4xx other than
408/425/429), which sending again would not change.

The trade-off: events queued and not yet sent are lost if the process dies (a crash, a kill,
`os._exit`) before they go out. A clean exit flushes them.
"""

from __future__ import annotations

import atexit
import functools
import logging
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from .client import RETRY_STATUSES, SessionscopeClient, SessionscopeError, with_ids

logger = logging.getLogger("sessionscope_client")

DEFAULT_LINGER = 0.05


def _kept(exc: BaseException) -> bool:
    """Whether the events of a failed send stay queued (the server did not refuse them)."""
    return not (isinstance(exc, SessionscopeError) and exc.status not in RETRY_STATUSES)


class WriteBehind:
    """The queued adds of one session and the thread that sends them (see the module)."""

    def __init__(
        self,
        client: SessionscopeClient,
        session_id: str,
        *,
        linger: float = DEFAULT_LINGER,
        send: Callable[[list[dict[str, Any]]], object] | None = None,
    ) -> None:
        self.client = client
        self.session_id = session_id
        self.linger = linger
        # How queued events go out when no read goes with them (default: `append_events`).
        self._append = send or functools.partial(client.append_events, session_id)
        self._pending: list[dict[str, Any]] = []
        # When the oldest queued event was added: the sender sends it `linger` seconds later.
        self._queued_at = 0.0
        self._cond = threading.Condition()
        self._sending = False  # a request with queued events is out (the sender's or a caller's)
        self._in_flight = 0  # the events of that request
        self._sender = False  # a sender thread is alive
        self._error: BaseException | None = None
        self._closed = False
        # A weak reference: the exit hook must not keep every session object alive.
        self._at_exit = functools.partial(_flush_at_exit, weakref.ref(self))
        atexit.register(self._at_exit)

    @property
    def pending(self) -> int:
        """Events queued and not yet stored (including those of a request in flight)."""
        with self._cond:
            return len(self._pending) + self._in_flight

    def add(self, events: list[Mapping[str, Any]]) -> None:
        """Queue events (each with its id, set now); raises the error of a failed send."""
        with self._cond:
            self._raise_error()
            if self._closed:
                raise RuntimeError("This session's write-behind is closed.")
            if not self._pending:
                self._queued_at = time.monotonic()
            self._pending.extend(with_ids(events))
            if not self._sender:
                self._sender = True
                threading.Thread(
                    target=self._send_loop, name="sessionscope-write-behind", daemon=True
                ).start()

    def flush(self) -> None:
        """Send every queued event now, and wait until they are stored."""
        batch = self._take()
        if batch:
            self._send(batch, None)

    def read(
        self, *, fmt: str, limit: int, tail: bool, after_seq: int = 0, branch: str | None = None
    ) -> dict[str, Any]:
        """The page a read with these parameters gives once every queued event is stored: the
        queued events and the read go in one request."""
        batch = self._take()
        read: dict[str, Any] = {
            "fmt": fmt,
            "limit": limit,
            "tail": tail,
            "after_seq": after_seq,
            "branch": branch,
        }
        if not batch:
            return self.client.append_then_read(self.session_id, [], **read)[1]
        return self._send(batch, read)

    def close(self) -> None:
        """Flush, then refuse further adds."""
        try:
            self.flush()
        finally:
            with self._cond:
                self._closed = True
            atexit.unregister(self._at_exit)

    # -- internals -------------------------------------------------------------------------

    def _raise_error(self) -> None:
        # Called with the lock held.
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _take(self) -> list[dict[str, Any]]:
        """Wait for the request in flight, raise its error if it failed, and take the queue
        (the caller then sends it: nothing else sends meanwhile, so the order holds)."""
        with self._cond:
            while self._sending:
                self._cond.wait()
            self._raise_error()
            batch, self._pending = self._pending, []
            self._sending = bool(batch)
            self._in_flight = len(batch)
            return batch

    def _send(
        self, batch: list[dict[str, Any]], read: dict[str, Any] | None, background: bool = False
    ) -> Any:
        error: BaseException | None = None
        try:
            if read is None:
                return self._append(batch)
            return self.client.append_then_read(self.session_id, batch, **read)[1]
        except BaseException as exc:
            error = exc
            if not background:
                raise
        finally:
            with self._cond:
                self._sending = False
                self._in_flight = 0
                if error is not None and _kept(error):
                    if not self._pending:
                        self._queued_at = time.monotonic()
                    self._pending[:0] = batch  # first again, ids unchanged
                if error is not None and background:
                    self._error = error  # raised by the session's next call
                self._cond.notify_all()

    def _send_loop(self) -> None:
        while True:
            with self._cond:
                # Linger: the rest of the turn's adds join this request. The wait counts from
                # the oldest queued event, whatever wakes this thread: a read that took the
                # queue and sent it wakes it too, and events added just after that read (the
                # next turn's) must wait their own linger, not go out alone at once.
                while True:
                    if self._error is not None or not (self._pending or self._sending):
                        self._sender = False
                        return
                    if self._sending:
                        self._cond.wait()
                        continue
                    left = self._queued_at + self.linger - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                batch, self._pending = self._pending, []
                self._sending = True
                self._in_flight = len(batch)
            self._send(batch, None, background=True)

    def _exit_flush(self) -> None:
        try:
            self.flush()
        except Exception:
            logger.exception("Sessionscope: events of session %r not sent at exit", self.session_id)


def _flush_at_exit(ref: weakref.ref[WriteBehind]) -> None:
    queue = ref()
    if queue is not None:
        queue._exit_flush()
