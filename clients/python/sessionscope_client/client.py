"""The HTTP client for the Sessionscope agents' API (`/api/v1/`); its asyncio twin is in
`async_client`.

Every event gets its idempotency id (`id`) before the first attempt, so a retry after a timeout
or a 5xx can never store an event twice: the server answers `duplicate` for an id it already
holds. Requests that are not idempotent (popping the last item) are retried only when the
connection was never made.
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

DEFAULT_TIMEOUT = 10.0
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
# Errors raised before a request reached the server: retrying them is always safe.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class SessionscopeError(Exception):
    """An error answer from Sessionscope (status, stable code, detail, field)."""

    def __init__(self, status: int, detail: Any, code: str = "", field: str | None = None) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.detail = detail
        self.code = code
        self.field = field


class NotFoundError(SessionscopeError):
    """The session, run or summary does not exist (or belongs to another project)."""


class ConflictError(SessionscopeError):
    """An idempotency id reused with a different body, or a forbidden transition."""


def new_event_id() -> str:
    """A fresh idempotency id for an event."""
    return uuid.uuid4().hex


def with_ids(events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Copies of the events, each with an `id` (kept when given): set once, reused by retries."""
    return [dict(e) if e.get("id") else {**e, "id": new_event_id()} for e in events]


# The most items one read returns (the server's `limit` bound).
MAX_TAIL = 1000
# Below the server's defaults (1,000 events, 5 MiB per request), with room for the envelope.
MAX_BATCH_EVENTS = 500
MAX_BATCH_BYTES = 4 * 1024 * 1024


def batches(
    events: list[dict[str, Any]],
    *,
    max_events: int = MAX_BATCH_EVENTS,
    max_bytes: int = MAX_BATCH_BYTES,
) -> Iterator[list[dict[str, Any]]]:
    """Split events, in order, into requests under the server's count and size limits."""
    batch: list[dict[str, Any]] = []
    size = 0
    for event in events:
        event_size = len(json.dumps(event, default=str)) + 1
        if batch and (len(batch) >= max_events or size + event_size > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(event)
        size += event_size
    if batch:
        yield batch


def _path_id(value: str) -> str:
    return quote(value, safe="")


@dataclass(frozen=True)
class _Call:
    """One API call: what to send, whether a retry is safe, and what a 404 means."""

    method: str
    path: str
    json: Any = None
    params: dict[str, Any] = field(default_factory=dict)
    # "always": idempotent, retry on any transport error or retryable status;
    # "unsent": retry only errors raised before the request was sent.
    retry: str = "always"
    none_on_404: bool = False


def _error(response: httpx.Response) -> SessionscopeError:
    try:
        body = response.json()
    except ValueError:
        body = {"detail": response.text}
    if not isinstance(body, dict):
        body = {"detail": body}
    cls = {404: NotFoundError, 409: ConflictError}.get(response.status_code, SessionscopeError)
    return cls(
        response.status_code, body.get("detail"), str(body.get("code", "")), body.get("field")
    )


ENV_URL = "SESSIONSCOPE_URL"
ENV_API_KEY = "SESSIONSCOPE_API_KEY"


def _configured(base_url: str | None, api_key: str | None) -> tuple[str, str]:
    url = base_url or os.environ.get(ENV_URL)
    key = api_key or os.environ.get(ENV_API_KEY)
    if not url or not key:
        raise ValueError(
            f"Pass client=, or base_url= and api_key= (or set {ENV_URL} and {ENV_API_KEY})."
        )
    return url, key


class _Base:
    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        backoff: float = 0.25,
        max_backoff: float = 8.0,
    ) -> None:
        base_url, api_key = _configured(base_url, api_key)
        self.base_url = base_url.rstrip("/")
        if not self.base_url.endswith("/api/v1"):
            self.base_url += "/api/v1"
        self.api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff

    @property
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}", "User-Agent": "sessionscope-client/0.1"}

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None and response.headers.get("Retry-After", "").isdigit():
            return min(float(response.headers["Retry-After"]), self.max_backoff)
        # Full jitter: many agents retrying after one outage do not come back in lockstep.
        return random.uniform(0, min(self.max_backoff, self.backoff * 2**attempt))

    def _retryable(
        self, call: _Call, exc: Exception | None, response: httpx.Response | None
    ) -> bool:
        if exc is not None:
            return isinstance(exc, NOT_SENT) or (
                call.retry == "always" and isinstance(exc, httpx.TransportError)
            )
        assert response is not None
        if response.status_code == 429 or (call.retry == "always"):
            return response.status_code in RETRY_STATUSES
        return False

    @staticmethod
    def _result(call: _Call, response: httpx.Response) -> Any:
        if response.status_code == 404 and call.none_on_404:
            return None
        if response.status_code >= 400:
            raise _error(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    # -- the calls, shared by both clients -------------------------------------------------

    @staticmethod
    def _upsert_session(session_id: str, fields: Mapping[str, Any]) -> _Call:
        return _Call("PUT", f"/sessions/{_path_id(session_id)}", json=dict(fields))

    @staticmethod
    def _get_session(session_id: str) -> _Call:
        return _Call("GET", f"/sessions/{_path_id(session_id)}", none_on_404=True)

    @staticmethod
    def _list_sessions(filters: Mapping[str, Any], cursor: str | None) -> _Call:
        params = {k: v for k, v in filters.items() if v is not None}
        if cursor:
            params["cursor"] = cursor
        return _Call("GET", "/sessions", params=params)

    @staticmethod
    def _delete_session(session_id: str) -> _Call:
        return _Call("DELETE", f"/sessions/{_path_id(session_id)}", none_on_404=True)

    @staticmethod
    def _append(
        session_id: str, events: list[dict[str, Any]], read: dict[str, Any] | None = None
    ) -> _Call:
        body: dict[str, Any] = {"events": events}
        if read is not None:
            body["read"] = read
        return _Call("POST", f"/sessions/{_path_id(session_id)}/events", json=body)

    @staticmethod
    def _read(
        fmt: str | None, limit: int, tail: bool, after_seq: int, branch: str | None
    ) -> dict[str, Any]:
        read: dict[str, Any] = {"limit": limit, "after_seq": after_seq}
        if fmt:
            read["format"] = fmt
        if tail:
            read["tail"] = True
        if branch:
            read["branch"] = branch
        return read

    @staticmethod
    def _events(
        session_id: str,
        fmt: str | None,
        after_seq: int,
        limit: int,
        branch: str | None = None,
        tail: bool = False,
    ) -> _Call:
        params: dict[str, Any] = {"after_seq": after_seq, "limit": limit}
        if fmt:
            params["format"] = fmt
        if branch:
            params["branch"] = branch
        if tail:
            params["tail"] = "true"
        return _Call(
            "GET", f"/sessions/{_path_id(session_id)}/events", params=params, none_on_404=True
        )

    @staticmethod
    def _pop(session_id: str, fmt: str | None = None, branch: str | None = None) -> _Call:
        params = {k: v for k, v in (("format", fmt), ("branch", branch)) if v}
        return _Call(
            "DELETE",
            f"/sessions/{_path_id(session_id)}/events/last",
            params=params,
            retry="unsent",
            none_on_404=True,
        )

    @staticmethod
    def _clear(session_id: str) -> _Call:
        return _Call("DELETE", f"/sessions/{_path_id(session_id)}/events", none_on_404=True)

    @staticmethod
    def _create_run(session_id: str, run: Mapping[str, Any]) -> _Call:
        return _Call("POST", f"/sessions/{_path_id(session_id)}/runs", json=dict(run))

    @staticmethod
    def _update_run(run_id: str, fields: Mapping[str, Any]) -> _Call:
        # A repeated status change to a finished run is a 409: only retry what was never sent.
        return _Call("PATCH", f"/runs/{_path_id(run_id)}", json=dict(fields), retry="unsent")

    @staticmethod
    def _ingest(items: list[Mapping[str, Any]]) -> _Call:
        return _Call("POST", "/ingest", json={"items": list(items)})


class SessionscopeClient(_Base):
    """Blocking client (thread-safe: one `httpx.Client` with its connection pool).

    `base_url` and `api_key` default to the `SESSIONSCOPE_URL` and `SESSIONSCOPE_API_KEY`
    environment variables."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        backoff: float = 0.25,
        max_backoff: float = 8.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            base_url,
            api_key,
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            max_backoff=max_backoff,
        )
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=self.base_url, headers=self._headers, timeout=timeout, transport=transport
        )

    def _run(self, call: _Call) -> Any:
        return self._run_status(call)[0]

    def _run_status(self, call: _Call) -> tuple[Any, int, bool]:
        """The call's result, the final response's status and whether an earlier attempt may
        have reached the server (sent and then lost, or answered with a retryable status): a
        `200` "already done" then may be this call's own first attempt."""
        attempt = 0
        maybe_done = False
        while True:
            response: httpx.Response | None = None
            try:
                response = self._http.request(
                    call.method, call.path, json=call.json, params=call.params or None
                )
            except httpx.TransportError as exc:
                if attempt >= self.max_retries or not self._retryable(call, exc, None):
                    raise
                maybe_done = maybe_done or not isinstance(exc, NOT_SENT)
            else:
                if attempt >= self.max_retries or not self._retryable(call, None, response):
                    return self._result(call, response), response.status_code, maybe_done
                maybe_done = maybe_done or response.status_code != 429
            self._sleep(self._delay(attempt, response))
            attempt += 1

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> SessionscopeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def upsert_session(self, session_id: str, **fields: Any) -> dict[str, Any]:
        """Create or update a session (parent_id, kind, title, agent_name, user_ref, status,
        metadata, state, service_session_id); only the fields given change."""
        return self._run(self._upsert_session(session_id, fields))

    def get_session(self, session_id: str) -> dict[str, Any] | None:
        """A session with its rollups, or None when it does not exist."""
        return self._run(self._get_session(session_id))

    def iter_sessions(self, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every session matching the filters, following the cursor."""
        cursor = None
        while True:
            page = self._run(self._list_sessions(filters, cursor))
            yield from page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def delete_session(self, session_id: str) -> None:
        """Delete a session and its subtree (nothing happens when it does not exist)."""
        self._run(self._delete_session(session_id))

    def append_events(
        self, session_id: str, events: Sequence[Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        """Append events in order; events without an `id` get one. Returns `{id, seq, status}`
        per event, `status` being `created` or `duplicate`. Large lists are sent in several
        requests under the server's limits (each request is all or nothing)."""
        results: list[dict[str, Any]] = []
        for batch in batches(with_ids(events)):
            results.extend(self._run(self._append(session_id, batch))["results"])
        return results

    def append_then_read(
        self,
        session_id: str,
        events: Sequence[Mapping[str, Any]],
        *,
        fmt: str | None = None,
        limit: int = 100,
        tail: bool = False,
        after_seq: int = 0,
        branch: str | None = None,
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Append events (as `append_events`) and read, in the same request, the page
        `{items, next_after_seq}` a read with these parameters gives once they are stored:
        `(results, page)`. With no events, only the read is sent."""
        if not events:
            page = self._run(self._events(session_id, fmt, after_seq, limit, branch, tail))
            return [], page or {"items": [], "next_after_seq": None}
        parts = list(batches(with_ids(events)))
        results: list[dict[str, Any]] = []
        for batch in parts[:-1]:
            results.extend(self._run(self._append(session_id, batch))["results"])
        read = self._read(fmt, limit, tail, after_seq, branch)
        answer = self._run(self._append(session_id, parts[-1], read))
        results.extend(answer["results"])
        return results, answer["read"]

    def events_page(
        self, session_id: str, *, fmt: str | None = None, after_seq: int = 0, limit: int = 100
    ) -> dict[str, Any]:
        """One page `{items, next_after_seq}`; an unknown session is an empty page."""
        page = self._run(self._events(session_id, fmt, after_seq, limit))
        return page or {"items": [], "next_after_seq": None}

    def iter_events(
        self,
        session_id: str,
        *,
        fmt: str | None = None,
        after_seq: int = 0,
        page_size: int = 500,
        branch: str | None = None,
    ) -> Iterator[Any]:
        """All events after `after_seq` (or, with `fmt`, the items written in that format);
        with `branch`, that branch's only."""
        while True:
            page = self._run(self._events(session_id, fmt, after_seq, page_size, branch)) or {
                "items": [],
                "next_after_seq": None,
            }
            yield from page["items"]
            if page["next_after_seq"] is None:
                return
            after_seq = page["next_after_seq"]

    def latest_items(
        self, session_id: str, *, fmt: str, limit: int, branch: str | None = None
    ) -> list[Any]:
        """The latest `limit` items written in `fmt` (oldest first): one request up to 1,000
        items (an SDK session's `get_items(limit)`); an unknown session has none."""
        if limit <= 0:
            return []
        if limit > MAX_TAIL:
            return list(self.iter_events(session_id, fmt=fmt, branch=branch))[-limit:]
        page = self._run(self._events(session_id, fmt, 0, limit, branch, tail=True))
        return page["items"] if page else []

    def pop_event(
        self, session_id: str, *, fmt: str | None = None, branch: str | None = None
    ) -> dict[str, Any] | None:
        """Remove and return the latest item of a session (None when empty or unknown); with
        `fmt`, the latest written in that format; with `branch`, on that branch."""
        answer = self._run(self._pop(session_id, fmt, branch))
        return answer.get("item") if answer else None

    def clear_events(self, session_id: str) -> int:
        """Remove every event of a session; returns how many were deleted."""
        answer = self._run(self._clear(session_id))
        return answer["deleted"] if answer else 0

    def create_run(self, session_id: str, run_id: str, **fields: Any) -> dict[str, Any]:
        """Create a run in a session (idempotent by run id)."""
        return self._run(self._create_run(session_id, {"id": run_id, **fields}))

    def update_run(self, run_id: str, **fields: Any) -> dict[str, Any]:
        """Change a run's status, reason, ended_at or metadata."""
        return self._run(self._update_run(run_id, fields))

    def ingest(self, items: list[Mapping[str, Any]]) -> dict[str, Any]:
        """A mixed batch (`op`: session, events, run, run_update), one result per item."""
        return self._run(self._ingest(items))


def append_with_session(
    client: SessionscopeClient,
    session_id: str,
    fields: Mapping[str, Any],
    events: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Upsert a session's fields and append its events in one request (`/ingest`): an
    adapter's first write. Returns the events' results; raises the first item's error."""
    events = with_ids(events)
    if len(events) > MAX_BATCH_EVENTS or len(list(batches(events))) > 1:
        client.upsert_session(session_id, **fields)
        return client.append_events(session_id, events)
    answer = client.ingest(
        [
            {"op": "session", "id": session_id, **fields},
            {"op": "events", "session_id": session_id, "events": events},
        ]
    )
    for result in answer["results"]:
        if result["status"] >= 400:
            body = result.get("body") or {}
            cls = {404: NotFoundError, 409: ConflictError}.get(result["status"], SessionscopeError)
            raise cls(
                result["status"], body.get("detail"), str(body.get("code", "")), body.get("field")
            )
    return answer["results"][1]["body"]["results"]


def client_from(
    client: SessionscopeClient | None,
    base_url: str | None = None,
    api_key: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> SessionscopeClient:
    """The client given, or one built from arguments / SESSIONSCOPE_URL and SESSIONSCOPE_API_KEY."""
    if client is not None:
        return client
    return SessionscopeClient(base_url, api_key, timeout=timeout)
