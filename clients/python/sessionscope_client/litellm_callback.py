"""litellm: record every completion into the Sessionscope session named in the call's metadata.

    import litellm
    from sessionscope_client.litellm_callback import SessionscopeLogger
    litellm.callbacks = [SessionscopeLogger(base_url="http://localhost:8000", api_key="ss_...")]
    litellm.completion(model="gpt-4o-mini", messages=msgs, metadata={"session_id": "conv-42"})

Each call records the messages it was given (as OpenAI chat messages) and the response (with
its tool calls), with the model, the tokens and the cost litellm computed (`response_cost`).
Sync, async and streaming calls are recorded alike (a stream once it completes); failures are
recorded as error events. Nothing is sent on the caller's thread: events go to a bounded
in-memory batcher that a background thread sends, retrying while Sessionscope is down, so the
caller never waits for Sessionscope nor sees its errors.

A conversation's history is sent again with every call; messages this process has already
recorded for a session (same position, same content) are not sent twice. Another process
continuing the same conversation records that history once more.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import OrderedDict
from decimal import Decimal, InvalidOperation
from typing import Any

from litellm.integrations.custom_logger import CustomLogger

from .batch import EventBatcher
from .client import SessionscopeClient, client_from

logger = logging.getLogger("sessionscope_client")
SESSION_KEYS = ("sessionscope_session_id", "session_id")
# Sessions whose recorded history this process remembers (the least recently used are
# forgotten first, so a long-lived worker does not grow without bound).
MAX_TRACKED_SESSIONS = 10_000


def _plain(value: Any) -> Any:
    """A pydantic object (litellm's Message) or anything JSON-able, as plain JSON data."""
    if hasattr(value, "model_dump"):
        value = value.model_dump(exclude_none=True)
    return json.loads(json.dumps(value, default=str))


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _history_id(session_id: str, key: str) -> str:
    long = len(session_id) > 200
    prefix = hashlib.sha256(session_id.encode()).hexdigest() if long else session_id
    return f"{prefix}:msg:{key}"


def _chat_message(message: Any) -> dict[str, Any]:
    """An input message as an OpenAI chat message, without SDK-only empty fields."""
    data = _plain(message)
    if not isinstance(data, dict):
        return {"role": "user", "content": str(data)}
    return {k: v for k, v in data.items() if v is not None and k != "provider_specific_fields"}


def _response_message(response: Any) -> dict[str, Any] | None:
    choices = getattr(response, "choices", None) or []
    if not choices:
        return None
    message = getattr(choices[0], "message", None)
    if message is None:
        return None
    item: dict[str, Any] = {"role": "assistant", "content": getattr(message, "content", None)}
    calls = getattr(message, "tool_calls", None) or []
    if calls:
        item["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.function.name, "arguments": call.function.arguments},
            }
            for call in calls
        ]
    return item


def _money(value: Any) -> str | None:
    try:
        return str(Decimal(str(value)).quantize(Decimal("1e-10"))) if value is not None else None
    except (InvalidOperation, ValueError):
        return None


class SessionscopeLogger(CustomLogger):
    """A litellm custom logger that stores completions in Sessionscope sessions."""

    def __init__(
        self,
        *,
        client: SessionscopeClient | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 5.0,
        default_session: str | None = None,
        flush_interval: float = 1.0,
        max_pending: int = 10_000,
        background: bool = True,
    ) -> None:
        super().__init__()
        self.client = client_from(client, base_url, api_key, timeout)
        self.default_session = default_session
        self.batcher = EventBatcher(
            self.client,
            flush_interval=flush_interval,
            max_pending=max_pending,
            background=background,
        )
        self._recorded: OrderedDict[str, set[str]] = OrderedDict()
        self._announced: set[str] = set()

    # -- litellm's interface ----------------------------------------------------------------

    def log_success_event(
        self, kwargs: dict, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        """A finished sync (or streamed) call."""
        self._safely(self._record, kwargs, response_obj)

    async def async_log_success_event(
        self, kwargs: dict, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        """A finished async (or streamed) call; queuing never blocks the event loop."""
        self._safely(self._record, kwargs, response_obj)

    def log_failure_event(
        self, kwargs: dict, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        """A failed call, recorded as an error event."""
        self._safely(self._record_failure, kwargs)

    async def async_log_failure_event(
        self, kwargs: dict, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        """A failed async call, recorded as an error event."""
        self._safely(self._record_failure, kwargs)

    # -- recording ----------------------------------------------------------------------------

    def flush(self) -> bool:
        """Send what is queued now (True when nothing is left)."""
        return self.batcher.flush()

    def close(self, timeout: float = 5.0) -> None:
        """Send what is pending (waiting at most `timeout`) and stop the background thread."""
        self.batcher.close(timeout)

    @staticmethod
    def _safely(func: Any, *args: Any) -> None:
        try:
            func(*args)
        except Exception:  # a logging callback must never break the caller's completion
            logger.exception("Sessionscope: could not record a litellm call")

    def _session_of(self, kwargs: dict) -> str | None:
        metadata = (kwargs.get("litellm_params") or {}).get("metadata") or {}
        for key in SESSION_KEYS:
            value = metadata.get(key)
            if isinstance(value, str) and value:
                return value
        return self.default_session

    def _announce(self, session_id: str, kwargs: dict) -> None:
        if session_id in self._announced:
            return
        self._announced.add(session_id)
        metadata = (kwargs.get("litellm_params") or {}).get("metadata") or {}
        fields = {}
        if isinstance(metadata.get("agent_name"), str):
            fields["agent_name"] = metadata["agent_name"]
        if isinstance(kwargs.get("user"), str) and kwargs["user"]:
            fields["user_ref"] = kwargs["user"]
        if fields:
            self.batcher.upsert_session(session_id, **fields)

    def _seen(self, session_id: str) -> set[str]:
        seen = self._recorded.pop(session_id, None) or set()
        self._recorded[session_id] = seen
        while len(self._recorded) > MAX_TRACKED_SESSIONS:
            self._recorded.popitem(last=False)
        return seen

    def _record(self, kwargs: dict, response: Any) -> None:
        session_id = self._session_of(kwargs)
        if not session_id:
            return
        self._announce(session_id, kwargs)
        seen = self._seen(session_id)
        call_id = kwargs.get("litellm_call_id") or ""
        messages = kwargs.get("messages") or []
        for index, message in enumerate(messages):
            item = _chat_message(message)
            key = f"{index}:{_digest(item)}"
            if key in seen:
                continue
            seen.add(key)
            # Same session, position and content: the same id, so a resend is a duplicate.
            self.batcher.add(
                session_id,
                {"id": _history_id(session_id, key), "format": "openai_chat", "item": item},
            )
        reply = _response_message(response)
        if reply is None:
            return
        # The response comes back as history in the next call: remember it under its position.
        seen.add(f"{len(messages)}:{_digest(reply)}")
        usage = getattr(response, "usage", None)
        model = kwargs.get("model") or getattr(response, "model", "") or ""
        token_usage: dict[str, Any] = {"model": model}
        if usage is not None:
            token_usage.update(
                prompt_tokens=getattr(usage, "prompt_tokens", None),
                completion_tokens=getattr(usage, "completion_tokens", None),
                total_tokens=getattr(usage, "total_tokens", None),
            )
        cost = _money(kwargs.get("response_cost"))
        if cost is not None:
            token_usage["cost_usd"] = cost
        self.batcher.add(
            session_id,
            {
                "id": f"{call_id}:out" if call_id else None,
                "format": "openai_chat",
                "item": reply,
                "model": model,
                "token_usage": token_usage,
                "metadata": {"litellm_call_id": call_id, "stream": bool(kwargs.get("stream"))},
            },
        )

    def _record_failure(self, kwargs: dict) -> None:
        session_id = self._session_of(kwargs)
        if not session_id:
            return
        call_id = kwargs.get("litellm_call_id") or ""
        error = kwargs.get("exception") or kwargs.get("traceback_exception") or "call failed"
        self.batcher.add(
            session_id,
            {
                "id": f"{call_id}:error" if call_id else None,
                "source": "system",
                "type": "error",
                "message": str(error)[:10_000],
                "metadata": {"litellm_call_id": call_id, "model": kwargs.get("model") or ""},
            },
        )
