"""The asyncio client for the Sessionscope agents' API: the same calls as `SessionscopeClient`,
built on the same request descriptions (`client._Base`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import httpx

from .client import DEFAULT_TIMEOUT, MAX_TAIL, _Base, _Call, batches, with_ids


class AsyncSessionscopeClient(_Base):
    """Asyncio client with the same calls as `SessionscopeClient`. Use it from one event loop."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        backoff: float = 0.25,
        max_backoff: float = 8.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            base_url,
            api_key,
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            max_backoff=max_backoff,
        )
        self._http = httpx.AsyncClient(
            base_url=self.base_url, headers=self._headers, timeout=timeout, transport=transport
        )

    async def _run(self, call: _Call) -> Any:
        attempt = 0
        while True:
            response: httpx.Response | None = None
            try:
                response = await self._http.request(
                    call.method, call.path, json=call.json, params=call.params or None
                )
            except httpx.TransportError as exc:
                if attempt >= self.max_retries or not self._retryable(call, exc, None):
                    raise
            else:
                if attempt >= self.max_retries or not self._retryable(call, None, response):
                    return self._result(call, response)
            await asyncio.sleep(self._delay(attempt, response))
            attempt += 1

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncSessionscopeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def upsert_session(self, session_id: str, **fields: Any) -> dict[str, Any]:
        """Create or update a session; only the fields given change."""
        return await self._run(self._upsert_session(session_id, fields))

    async def get_session(self, session_id: str) -> dict[str, Any] | None:
        """A session with its rollups, or None when it does not exist."""
        return await self._run(self._get_session(session_id))

    async def iter_sessions(self, **filters: Any) -> AsyncIterator[dict[str, Any]]:
        """Every session matching the filters, following the cursor."""
        cursor = None
        while True:
            page = await self._run(self._list_sessions(filters, cursor))
            for item in page["items"]:
                yield item
            cursor = page.get("next_cursor")
            if not cursor:
                return

    async def delete_session(self, session_id: str) -> None:
        """Delete a session and its subtree (nothing happens when it does not exist)."""
        await self._run(self._delete_session(session_id))

    async def append_events(
        self, session_id: str, events: Sequence[Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        """Append events in order; events without an `id` get one."""
        results: list[dict[str, Any]] = []
        for batch in batches(with_ids(events)):
            results.extend((await self._run(self._append(session_id, batch)))["results"])
        return results

    async def append_then_read(
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
        """Append events and read, in the same request, the page a read with these parameters
        gives once they are stored: `(results, page)`. With no events, only the read is sent."""
        if not events:
            page = await self._run(self._events(session_id, fmt, after_seq, limit, branch, tail))
            return [], page or {"items": [], "next_after_seq": None}
        parts = list(batches(with_ids(events)))
        results: list[dict[str, Any]] = []
        for batch in parts[:-1]:
            results.extend((await self._run(self._append(session_id, batch)))["results"])
        read = self._read(fmt, limit, tail, after_seq, branch)
        answer = await self._run(self._append(session_id, parts[-1], read))
        results.extend(answer["results"])
        return results, answer["read"]

    async def events_page(
        self, session_id: str, *, fmt: str | None = None, after_seq: int = 0, limit: int = 100
    ) -> dict[str, Any]:
        """One page `{items, next_after_seq}`; an unknown session is an empty page."""
        page = await self._run(self._events(session_id, fmt, after_seq, limit))
        return page or {"items": [], "next_after_seq": None}

    async def iter_events(
        self, session_id: str, *, fmt: str | None = None, after_seq: int = 0, page_size: int = 500
    ) -> AsyncIterator[Any]:
        """All events after `after_seq` (or, with `fmt`, the items written in that format)."""
        while True:
            page = await self.events_page(session_id, fmt=fmt, after_seq=after_seq, limit=page_size)
            for item in page["items"]:
                yield item
            if page["next_after_seq"] is None:
                return
            after_seq = page["next_after_seq"]

    async def latest_items(self, session_id: str, *, fmt: str, limit: int) -> list[Any]:
        """The latest `limit` items written in `fmt` (oldest first), in one request up to
        1,000 items; an unknown session has none."""
        if limit <= 0:
            return []
        if limit > MAX_TAIL:
            items = [i async for i in self.iter_events(session_id, fmt=fmt)]
            return items[-limit:]
        page = await self._run(self._events(session_id, fmt, 0, limit, tail=True))
        return page["items"] if page else []

    async def pop_event(
        self, session_id: str, *, fmt: str | None = None, branch: str | None = None
    ) -> dict[str, Any] | None:
        """Remove and return the latest item of a session (None when empty or unknown); with
        `fmt`, the latest written in that format; with `branch`, on that branch."""
        answer = await self._run(self._pop(session_id, fmt, branch))
        return answer.get("item") if answer else None

    async def clear_events(self, session_id: str) -> int:
        """Remove every event of a session; returns how many were deleted."""
        answer = await self._run(self._clear(session_id))
        return answer["deleted"] if answer else 0

    async def create_run(self, session_id: str, run_id: str, **fields: Any) -> dict[str, Any]:
        """Create a run in a session (idempotent by run id)."""
        return await self._run(self._create_run(session_id, {"id": run_id, **fields}))

    async def update_run(self, run_id: str, **fields: Any) -> dict[str, Any]:
        """Change a run's status, reason, ended_at or metadata."""
        return await self._run(self._update_run(run_id, fields))

    async def ingest(self, items: list[Mapping[str, Any]]) -> dict[str, Any]:
        """A mixed batch (`op`: session, events, run, run_update), one result per item."""
        return await self._run(self._ingest(items))
