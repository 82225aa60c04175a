"""A minimal list session of OpenAI chat messages (agentsilex's `Session` shape) in Sessionscope.

    from sessionscope_client.agentsilex import SessionscopeListSession
    session = SessionscopeListSession("conv-42", base_url=..., api_key=...)
    session.add_new_messages([{"role": "user", "content": "Hi"}])
    messages = session.get_dialogs()

Messages are stored as OpenAI chat messages (`format=openai_chat`, tool calls and tool results
included) and returned exactly as added.
"""

from __future__ import annotations

from typing import Any

from .client import SessionscopeClient, new_event_id
from .openai_agents import client_from

FORMAT = "openai_chat"


class SessionscopeListSession:
    """`get_dialogs()` / `add_new_messages()` / `clean()` over one Sessionscope session."""

    def __init__(
        self,
        session_id: str,
        *,
        client: SessionscopeClient | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.session_id = session_id
        self.client = client_from(client, base_url, api_key, timeout)

    def get_dialogs(self) -> list[dict[str, Any]]:
        """Every message of the session, oldest first."""
        return list(self.client.iter_events(self.session_id, fmt=FORMAT))

    def add_new_messages(self, messages: list[dict[str, Any]]) -> None:
        """Append messages in order."""
        events = [{"id": new_event_id(), "format": FORMAT, "item": m} for m in messages]
        self.client.append_events(self.session_id, events)

    def clean(self) -> None:
        """Remove every message (the session stays, empty)."""
        self.client.clear_events(self.session_id)
