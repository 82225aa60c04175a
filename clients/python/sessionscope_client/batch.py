"""A background batcher: events are queued in memory and sent in batches per session.

`add()` never blocks on the network and never raises because Sessionscope is down: a failed
batch stays queued and is retried on the next flush, with its ids unchanged, so a batch that
did reach the server before the connection broke comes back as `duplicate`, not as a second
copy. The queue is bounded; past `max_pending` the oldest events are dropped and counted.
Pending events are flushed when the batcher is closed, on leaving its `with` block, and at
interpreter exit.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import deque
from collections.abc import Mapping
from typing import Any

from .client import SessionscopeClient, SessionscopeError, with_ids

logger = logging.getLogger("sessionscope_client")


class EventBatcher:
    """Queue events and send them in the background, at most `max_batch` per request."""

    def __init__(
        self,
        client: SessionscopeClient,
        *,
        flush_interval: float = 1.0,
        max_batch: int = 100,
        max_pending: int = 10_000,
        background: bool = True,
    ) -> None:
        self.client = client
        self.flush_interval = flush_interval
        self.max_batch = max_batch
        self.max_pending = max_pending
        self.dropped = 0
        self.sent = 0
        self.rejected = 0
        self._queue: deque[tuple[str, dict[str, Any]]] = deque()
        self._sessions: deque[tuple[str, dict[str, Any]]] = deque()
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(
                target=self._loop, name="sessionscope-batcher", daemon=True
            )
            self._thread.start()
        atexit.register(self.close)

    @property
    def pending(self) -> int:
        """Events queued and not yet acknowledged by the server."""
        return len(self._queue)

    def upsert_session(self, session_id: str, **fields: Any) -> None:
        """Queue a session upsert, sent before the events queued after it."""
        with self._lock:
            self._sessions.append((session_id, fields))
        self._wake.set()

    def add(self, session_id: str, event: Mapping[str, Any]) -> str:
        """Queue one event and return its idempotency id."""
        (event,) = with_ids([event])
        if self._closed:
            # Nothing would send it any more (late callbacks at exit): count it as dropped.
            self.dropped += 1
            return event["id"]
        with self._lock:
            self._queue.append((session_id, event))
            while len(self._queue) > self.max_pending:
                self._queue.popleft()
                self.dropped += 1
        if len(self._queue) >= self.max_batch:
            self._wake.set()
        return event["id"]

    def flush(self) -> bool:
        """Send what is queued now; True when nothing is left pending."""
        with self._flush_lock:
            if not self._send_sessions():
                return False
            while True:
                with self._lock:
                    if not self._queue:
                        return True
                    session_id = self._queue[0][0]
                    batch = []
                    for sid, event in self._queue:
                        if sid == session_id:
                            batch.append(event)
                            if len(batch) >= self.max_batch:
                                break
                        elif batch:
                            # Keep each session's order: stop at the first event of another.
                            break
                if not self._send(session_id, batch):
                    return False

    def _send_sessions(self) -> bool:
        while self._sessions:
            session_id, fields = self._sessions[0]
            try:
                self.client.upsert_session(session_id, **fields)
            except SessionscopeError as exc:
                if exc.status < 500 and exc.status != 429:
                    logger.warning("Sessionscope refused session %s: %s", session_id, exc)
                else:
                    return False
            except Exception as exc:
                logger.debug("Sessionscope unreachable, will retry: %s", exc)
                return False
            with self._lock:
                self._sessions.popleft()
        return True

    def _send(self, session_id: str, batch: list[dict[str, Any]]) -> bool:
        try:
            self.client.append_events(session_id, batch)
        except SessionscopeError as exc:
            if exc.status >= 500 or exc.status == 429:
                return False
            # Bad input is not fixed by retrying: drop the batch, say so, and carry on.
            logger.warning("Sessionscope refused %d events of %s: %s", len(batch), session_id, exc)
            self.rejected += len(batch)
        except Exception as exc:
            logger.debug("Sessionscope unreachable, will retry: %s", exc)
            return False
        else:
            self.sent += len(batch)
        ids = {e["id"] for e in batch}
        with self._lock:
            kept = [(s, e) for s, e in self._queue if not (s == session_id and e["id"] in ids)]
            self._queue.clear()
            self._queue.extend(kept)
        return True

    def _loop(self) -> None:
        failures = 0
        while not self._closed:
            self._wake.wait(self.flush_interval * (2 ** min(failures, 5)))
            self._wake.clear()
            if self._closed:
                return
            try:
                failures = 0 if self.flush() else failures + 1
            except Exception:  # the thread must survive anything a flush throws
                logger.exception("Sessionscope batcher flush failed")
                failures += 1

    def close(self, timeout: float = 5.0) -> None:
        """Stop the background thread and try, within `timeout`, to send what is pending."""
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        deadline = time.monotonic() + timeout
        while (self._queue or self._sessions) and time.monotonic() < deadline:
            if self.flush():
                break
            time.sleep(0.1)
        if self._queue:
            logger.warning("Sessionscope: %d events could not be sent", len(self._queue))
        atexit.unregister(self.close)

    def __enter__(self) -> EventBatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
