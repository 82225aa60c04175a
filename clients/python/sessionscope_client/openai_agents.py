"""OpenAI Agents SDK: Sessionscope as the `Session` of `Runner.run(..., session=...)`.

    from sessionscope_client.openai_agents import SessionscopeSession
    session = SessionscopeSession("conv-42", base_url="http://localhost:8000", api_key="ss_...")
    await Runner.run(agent, "Hello", session=session)

Items are stored as Responses items (`format=responses`) exactly as the SDK gives them and read
back unchanged, in order. `SessionscopeRunHooks` opens a child session for each handoff so the
dashboard's tree shows which agent took over; the conversation itself stays in one session, as
the SDK keeps it.

With `write_behind=True`, `add_items` returns at once and a background thread sends the items
(a turn's adds in one request), and `get_items` sends what is queued together with its read:
about one request a turn instead of four. The trade-off: items not yet sent are lost if the
process dies before they go out (see `write_behind`).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any

from agents import Agent, RunContextWrapper, RunHooks
from agents.memory.session_settings import SessionSettings, resolve_session_limit

from .client import (
    MAX_TAIL,
    SessionscopeClient,
    append_with_session,
    client_from,
    new_event_id,
)
from .write_behind import DEFAULT_LINGER, WriteBehind

FORMAT = "responses"


class SessionscopeSession:
    """An openai-agents `Session` stored in Sessionscope (the SDK's Session protocol)."""

    session_settings: SessionSettings | None = None

    def __init__(
        self,
        session_id: str,
        *,
        client: SessionscopeClient | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 10.0,
        session_settings: SessionSettings | None = None,
        agent_name: str | None = None,
        user_ref: str | None = None,
        title: str | None = None,
        metadata: dict[str, Any] | None = None,
        parent_id: str | None = None,
        write_behind: bool = False,
        linger: float = DEFAULT_LINGER,
    ) -> None:
        self.session_id = session_id
        self._owns_client = client is None
        self.client = client_from(client, base_url, api_key, timeout)
        self.session_settings = session_settings or SessionSettings()
        fields = {
            "agent_name": agent_name,
            "user_ref": user_ref,
            "title": title,
            "metadata": metadata,
            "parent_id": parent_id,
        }
        self._fields = {k: v for k, v in fields.items() if v is not None}
        if parent_id is not None:
            self._fields["kind"] = "child"
        self._announced = not self._fields
        self._queue: WriteBehind | None = None
        if write_behind:
            self._queue = WriteBehind(self.client, session_id, linger=linger, send=self._append)

    def _announce(self) -> None:
        # The session's own fields are sent once, before anything else that needs the session.
        if not self._announced:
            self.client.upsert_session(self.session_id, **self._fields)
            self._announced = True

    def _append(self, events: list[dict[str, Any]]) -> None:
        # The session's fields travel with its first items (one request, not two).
        if self._announced:
            self.client.append_events(self.session_id, events)
        else:
            append_with_session(self.client, self.session_id, self._fields, events)
            self._announced = True

    def _items_sync(self, limit: int | None) -> list[Any]:
        if self._queue is not None:
            return self._items_behind(limit)
        if limit is None or limit < 0 or limit > MAX_TAIL:
            # The latest 1,000 in one request are every item of all but the longest sessions.
            items = self.client.latest_items(self.session_id, fmt=FORMAT, limit=MAX_TAIL)
            return items if len(items) < MAX_TAIL else self._all_items(limit)
        # One request: the server returns the latest `limit` items of this format, whatever
        # other events (usage, native ones) sit among them.
        return self.client.latest_items(self.session_id, fmt=FORMAT, limit=limit)

    def _all_items(self, limit: int | None) -> list[Any]:
        items = list(self.client.iter_events(self.session_id, fmt=FORMAT, page_size=MAX_TAIL))
        return items if limit is None or limit < 0 else items[-limit:]

    def _items_behind(self, limit: int | None) -> list[Any]:
        # The queued adds and the read in one request.
        assert self._queue is not None
        if not self._announced:
            self._queue.flush()  # the first items go with the session's fields (/ingest)
        if limit == 0:
            self._queue.flush()
            return []
        wanted = MAX_TAIL if limit is None or limit < 0 or limit > MAX_TAIL else limit
        items: list[Any] = self._queue.read(fmt=FORMAT, limit=wanted, tail=True)["items"]
        if wanted == MAX_TAIL and len(items) == MAX_TAIL and limit != MAX_TAIL:
            return self._all_items(limit)  # a session longer than one read (all flushed now)
        return items

    async def get_items(self, limit: int | None = None) -> list[Any]:
        """The stored items, oldest first; with `limit`, the latest `limit` of them."""
        resolved = resolve_session_limit(limit, self.session_settings)
        return await asyncio.to_thread(self._items_sync, resolved)

    def _add_sync(self, items: list[Any]) -> None:
        self._append([{"id": new_event_id(), "format": FORMAT, "item": item} for item in items])

    async def add_items(self, items: list[Any]) -> None:
        """Append items in order (each gets its own idempotency id, so retries are safe); with
        write-behind, queue them and return at once."""
        if not items:
            return
        if self._queue is not None:
            self._queue.add([{"format": FORMAT, "item": item} for item in items])
            return
        await asyncio.to_thread(self._add_sync, list(items))

    def flush(self) -> None:
        """With write-behind: send every queued item now and wait until they are stored (a
        failed earlier send is raised here). Without, nothing is ever queued."""
        if self._queue is not None:
            self._queue.flush()

    def _pop_sync(self) -> Any | None:
        self.flush()
        # Only this session's own items come off (`format=responses`): a run's usage (a native
        # event, perhaps later than the last item) is never returned, popped or lost. The
        # server keeps the popped item in its record, out of every read of ours.
        event = self.client.pop_event(self.session_id, fmt=FORMAT)
        return None if event is None else event.get("payload")

    async def pop_item(self) -> Any | None:
        """Remove and return the latest item, or None when the session has none."""
        return await asyncio.to_thread(self._pop_sync)

    def _clear_sync(self) -> None:
        self.flush()
        self.client.clear_events(self.session_id)

    async def clear_session(self) -> None:
        """Remove every item (the session itself stays, empty, in the dashboard)."""
        await asyncio.to_thread(self._clear_sync)

    async def store_run_usage(self, result: Any, *, model: str | None = None) -> None:
        """Record a run's token usage (as `AdvancedSQLiteSession.store_run_usage` does).

        The SDK keeps usage out of the items, so it is stored as a `reference` event of its own,
        which `get_items` never returns; `model` prices it (default: the last agent's model
        when it is a name).
        """
        usage = result.context_wrapper.usage
        if usage is None or not usage.requests:
            return
        agent_model = getattr(result.last_agent, "model", None)
        name = model or (agent_model if isinstance(agent_model, str) else "") or "unknown"
        event = {
            "id": new_event_id(),
            # Sent, not left to the server: a pop that passes this event puts it back with the
            # same body, so the usage keeps the day it was spent.
            "timestamp": datetime.now(timezone.utc).isoformat(),  # noqa: UP017 (Python 3.10)
            "source": "llm",
            "type": "reference",
            "message": f"Run usage: {usage.requests} model requests, {usage.total_tokens} tokens",
            "metadata": {"run_usage": True, "agent": result.last_agent.name},
            "token_usage": {
                "model": name,
                "prompt_tokens": usage.input_tokens,
                "completion_tokens": usage.output_tokens,
                "total_tokens": usage.total_tokens,
                "cached_tokens": usage.input_tokens_details.cached_tokens or 0,
                "reasoning_tokens": usage.output_tokens_details.reasoning_tokens or 0,
            },
        }
        if self._queue is not None:
            self._queue.add([event])  # after the run's items, in order
            return
        await asyncio.to_thread(self._append, [event])

    def close(self) -> None:
        """Send what write-behind still holds, then close the connection pool of the client
        this session made (as `SQLiteSession.close`); a client passed in stays open for its
        other users."""
        try:
            if self._queue is not None:
                self._queue.close()
        finally:
            if self._owns_client:
                self.client.close()

    def child(self, agent_name: str, session_id: str | None = None) -> SessionscopeSession:
        """A session for a sub-agent, shown under this one in the dashboard's tree."""
        return SessionscopeSession(
            session_id or f"{self.session_id}:{agent_name}",
            client=self.client,
            session_settings=self.session_settings,
            agent_name=agent_name,
            parent_id=self.session_id,
        )


class SessionscopeRunHooks(RunHooks[Any]):
    """Run hooks that record each handoff as a child session of the conversation's session."""

    def __init__(self, session: SessionscopeSession) -> None:
        self.session = session
        self.handoffs: list[str] = []

    async def on_handoff(
        self, context: RunContextWrapper[Any], from_agent: Agent[Any], to_agent: Agent[Any]
    ) -> None:
        """Open (or reuse) the child session of the agent that takes over."""
        child_id = f"{self.session.session_id}:{to_agent.name}"
        # With write-behind, the parent's queued items go first: the child names its parent.
        await asyncio.to_thread(self.session.flush)
        # The conversation stays in the parent session (as the SDK keeps it); the child records
        # when the agent took over, so its node in the tree says what happened. Its fields and
        # that event go in one request (/ingest).
        await asyncio.to_thread(
            append_with_session,
            self.session.client,
            child_id,
            {
                "parent_id": self.session.session_id,
                "kind": "child",
                "agent_name": to_agent.name,
                "metadata": {"handoff_from": from_agent.name},
            },
            [
                {
                    "source": "system",
                    "type": "context_bridge",
                    "message": f"{from_agent.name} handed the conversation to {to_agent.name}.",
                    "metadata": {"parent_session": self.session.session_id},
                }
            ],
        )
        self.handoffs.append(child_id)
