"""Microsoft Agent Framework: a `HistoryProvider` and a `SessionStore` over Sessionscope.

    from sessionscope_client.agent_framework import SessionscopeHistoryProvider
    agent = Agent(client=chat_client, context_providers=[SessionscopeHistoryProvider(
        base_url="http://localhost:8000", api_key="ss_...")])

Messages are stored as Agent Framework `Message` dicts (`format=agent_framework`) and read back
unchanged, every content type included. The provider's `load_messages`, `store_inputs`,
`store_outputs`, `store_context_messages` and `skip_excluded` flags work as in the framework's
own providers, and like its file provider it stores only the messages after the overlap with
the stored history (a full transcript replayed is not stored twice). A run's token usage (the
response's `usage_details`) is recorded with its last message, priced by the chat client's
model. `SessionscopeSessionStore` keeps `AgentSession` snapshots (`to_dict()`) in the session's
`state` and `service_session_id`. Session ids are sent percent-encoded, `/` included.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from agent_framework import AgentSession, HistoryProvider, Message, SessionStore

from .client import SessionscopeClient, client_from, new_event_id

try:  # The framework's own overlap rule (file and in-memory providers), where it has one.
    from agent_framework._sessions import filter_new_messages
except ImportError:  # pragma: no cover - releases without it append every message
    filter_new_messages = None  # type: ignore[assignment]

FORMAT = "agent_framework"


class SessionscopeHistoryProvider(HistoryProvider):
    """Conversation history of Agent Framework sessions, stored in Sessionscope."""

    DEFAULT_SOURCE_ID = "sessionscope"

    def __init__(
        self,
        *,
        client: SessionscopeClient | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 10.0,
        source_id: str = DEFAULT_SOURCE_ID,
        load_messages: bool = True,
        store_inputs: bool = True,
        store_context_messages: bool = False,
        store_context_from: set[str] | None = None,
        store_outputs: bool = True,
        skip_excluded: bool = False,
        agent_name: str | None = None,
        model: str | None = None,
    ) -> None:
        super().__init__(
            source_id,
            load_messages=load_messages,
            store_inputs=store_inputs,
            store_context_messages=store_context_messages,
            store_context_from=store_context_from,
            store_outputs=store_outputs,
        )
        self.client = client_from(client, base_url, api_key, timeout)
        self.skip_excluded = skip_excluded
        self.agent_name = agent_name
        self.model = model
        self._announced: set[str] = set()
        # The usage of the run being stored, per session id: set by `after_run` just before
        # the base class calls `save_messages`, taken by the save.
        self._run_usage: dict[str, dict[str, Any]] = {}

    def _load(self, session_id: str) -> list[Message]:
        return [Message.from_dict(item) for item in self.client.iter_events(session_id, fmt=FORMAT)]

    async def get_messages(
        self, session_id: str | None, *, state: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[Message]:
        """The session's stored messages, oldest first (none for a session without an id)."""
        if not session_id:
            return []
        messages = await asyncio.to_thread(self._load, session_id)
        if self.skip_excluded:
            messages = [m for m in messages if not m.additional_properties.get("_excluded")]
        return messages

    async def after_run(self, *, agent: Any, session: Any, context: Any, state: Any) -> None:
        """Store the run's messages (as the base class does) with the run's token usage."""
        response = getattr(context, "response", None)
        usage = _usage(response, agent, self.model)
        if usage and context.session_id:
            self._run_usage[context.session_id] = usage
        try:
            await super().after_run(agent=agent, session=session, context=context, state=state)
        finally:
            if context.session_id:
                self._run_usage.pop(context.session_id, None)

    def _save(self, session_id: str, messages: Sequence[Message], usage: Any) -> None:
        if self.agent_name and session_id not in self._announced:
            self.client.upsert_session(session_id, agent_name=self.agent_name)
            self._announced.add(session_id)
        if filter_new_messages is not None:
            messages = filter_new_messages(self._load(session_id), list(messages))
        # Fresh ids, set before sending: the client's retries reuse them, so a retry after a
        # lost answer is a duplicate.
        events: list[dict[str, Any]] = [
            {"id": new_event_id(), "format": FORMAT, "item": message.to_dict()}
            for message in messages
        ]
        if usage and events:
            # On the run's last message: the answer the tokens paid for.
            events[-1]["token_usage"] = usage
        if events:
            self.client.append_events(session_id, events)

    async def save_messages(
        self,
        session_id: str | None,
        messages: Sequence[Message],
        *,
        state: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Append messages to the session, in order."""
        if session_id and messages:
            usage = self._run_usage.pop(session_id, None)
            await asyncio.to_thread(self._save, session_id, list(messages), usage)


def _usage(response: Any, agent: Any, model: str | None) -> dict[str, Any] | None:
    """A response's `usage_details` as our `token_usage`, or None when it carries none."""
    details = getattr(response, "usage_details", None) or {}
    prompt = details.get("input_token_count")
    completion = details.get("output_token_count")
    if prompt is None and completion is None:
        return None
    client = getattr(agent, "client", None) or getattr(agent, "chat_client", None)
    raw = getattr(response, "raw_representation", None)
    candidates = (
        model,
        getattr(raw, "model", None),
        getattr(response, "model", None),
        getattr(client, "model", None),
        getattr(client, "model_id", None),
    )
    name = next((c for c in candidates if isinstance(c, str) and c), None)
    usage: dict[str, Any] = {
        "model": name or "unknown",
        "prompt_tokens": prompt or 0,
        "completion_tokens": completion or 0,
        "total_tokens": details.get("total_token_count") or (prompt or 0) + (completion or 0),
    }
    cached = details.get("cache_read_input_token_count")
    reasoning = details.get("reasoning_output_token_count")
    if cached:
        usage["cached_tokens"] = cached
    if reasoning:
        usage["reasoning_tokens"] = reasoning
    return usage


def session_fields(session: AgentSession) -> dict[str, Any]:
    """The Sessionscope fields that hold an `AgentSession.to_dict()` snapshot."""
    snapshot = session.to_dict()
    fields: dict[str, Any] = {"state": snapshot["state"]}
    service = snapshot.get("service_session_id")
    if isinstance(service, str) or service is None:
        fields["service_session_id"] = service or ""
    else:
        # A structured service session id (a mapping) has no column of its own.
        fields["metadata"] = {"service_session_id": service}
    return fields


def session_from(stored: dict[str, Any]) -> AgentSession:
    """An `AgentSession` restored from a Sessionscope session (`get_session()`)."""
    service = stored.get("service_session_id") or (stored.get("metadata") or {}).get(
        "service_session_id"
    )
    return AgentSession.from_dict(
        {
            "type": "session",
            "session_id": stored["id"],
            "service_session_id": service or None,
            "state": stored.get("state") or {},
        }
    )


class SessionscopeSessionStore(SessionStore):
    """Agent Framework's `SessionStore` (get/set/delete snapshots) over Sessionscope sessions."""

    def __init__(
        self,
        *,
        client: SessionscopeClient | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.client = client_from(client, base_url, api_key, timeout)

    async def get(self, session_id: str) -> AgentSession | None:
        """The stored snapshot, or None when the session does not exist."""
        self.validate_session_id(session_id)
        stored = await asyncio.to_thread(self.client.get_session, session_id)
        return session_from(stored) if stored is not None else None

    async def set(self, session_id: str, session: AgentSession) -> None:
        """Store a snapshot (state and service session id) under `session_id`."""
        self.validate_session_id(session_id)
        await asyncio.to_thread(self.client.upsert_session, session_id, **session_fields(session))

    async def delete(self, session_id: str) -> None:
        """Delete the session (with its events) from Sessionscope."""
        self.validate_session_id(session_id)
        await asyncio.to_thread(self.client.delete_session, session_id)
