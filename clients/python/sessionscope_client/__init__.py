"""Sessionscope client: store AI agents' sessions, events and runs in Sessionscope over HTTP.

The framework integrations live in their own modules and import their framework only there:
`openai_agents`, `agent_framework`, `litellm_callback`, `a2a_store`, `agentsilex`.
"""

from .async_client import AsyncSessionscopeClient
from .batch import EventBatcher
from .client import (
    ConflictError,
    NotFoundError,
    SessionscopeClient,
    SessionscopeError,
    client_from,
    new_event_id,
)

__all__ = [
    "AsyncSessionscopeClient",
    "ConflictError",
    "EventBatcher",
    "NotFoundError",
    "SessionscopeClient",
    "SessionscopeError",
    "client_from",
    "new_event_id",
]
