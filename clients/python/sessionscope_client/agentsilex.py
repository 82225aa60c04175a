"""A minimal list session of OpenAI chat messages (agentsilex's `Session` shape) in Sessionscope.

    from sessionscope_client.agentsilex import SessionscopeListSession
    session = SessionscopeListSession("conv-42", base_url=..., api_key=...)
    session.add_new_messages([{"role": "user", "content": "Hi"}])
    messages = session.get_dialogs()

Messages are stored as OpenAI chat messages (`format=openai_chat`, tool calls and tool results
included) and returned as added. agentsilex's Runner adds litellm `Message` objects (pydantic
models) next to plain dicts: they are stored as their JSON dict (`model_dump()`, unset fields
left out) and come back as dicts, which litellm takes as messages. No framework is imported.
"""

from __future__ import annotations

import json
from typing import Any

from .client import SessionscopeClient, client_from, new_event_id

FORMAT = "openai_chat"


def chat_message(message: Any) -> dict[str, Any]:
    """A message as a plain JSON dict: a dict as it is, a pydantic object (litellm's `Message`)
    through `model_dump`, anything else that holds its fields through `dict()`."""
    if isinstance(message, dict):
        data = message
    elif hasattr(message, "model_dump"):
        data = message.model_dump(exclude_none=True)
    elif hasattr(message, "to_dict"):
        data = message.to_dict()
    else:
        data = dict(message)
    # Round-trip through JSON once: nested pydantic objects and tuples become plain data, so
    # what the server stores is what `get_dialogs` returns.
    return json.loads(json.dumps(data, default=_plain))


def _plain(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(exclude_none=True)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


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

    def add_new_messages(self, messages: list[Any]) -> None:
        """Append messages in order (dicts or litellm `Message` objects)."""
        events = [
            {"id": new_event_id(), "format": FORMAT, "item": chat_message(m)} for m in messages
        ]
        if events:
            self.client.append_events(self.session_id, events)

    def clean(self) -> None:
        """Remove every message (the session stays, empty)."""
        self.client.clear_events(self.session_id)
