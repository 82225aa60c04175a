"""a2a-session-manager: a session store (get/save/delete/list_sessions) over Sessionscope.

    from a2a_session_manager.storage import SessionStoreProvider
    from sessionscope_client.a2a_store import SessionscopeA2AStore
    SessionStoreProvider.set_store(SessionscopeA2AStore(base_url=..., api_key=...))

A `Session` becomes a Sessionscope session with the same id and parent (so the dashboard shows
the tree); its `SessionEvent`s become events with the same ids (sent as they are: our API takes
a2a events natively), its runs become runs. Fields with no column of their own (the metadata's
times and properties, child and task ids, the runs as a2a wrote them) are kept under
`metadata["a2a"]`, so `get()` returns the session as it was saved.

`save()` sends only what this store has not sent yet; an event changed after it was saved (same
id, another body) is kept as first stored and reported in the log (a warning on the
`sessionscope_client` logger), not raised. A parent's `child_ids` are those it was saved with
plus every session stored with it as parent: `get()` returns a new object each time, so an app
saving a parent object it held from before a child was created does not drop that child.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from a2a_session_manager.models.session import Session
from a2a_session_manager.models.session_event import SessionEvent
from a2a_session_manager.models.session_metadata import SessionMetadata
from a2a_session_manager.models.session_run import RunStatus, SessionRun
from a2a_session_manager.storage.base import SessionStoreInterface

from .client import ConflictError, SessionscopeClient, client_from

logger = logging.getLogger("sessionscope_client")
TERMINAL = {RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED}


def _event_body(event: SessionEvent) -> dict[str, Any]:
    body = event.model_dump(mode="json", exclude_none=True)
    # An a2a event may have no message: sent as an explicit null, and read back as None.
    body.setdefault("message", None)
    return body


def _digest(body: dict[str, Any]) -> str:
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _event_from(stored: dict[str, Any]) -> SessionEvent:
    """An a2a event from a stored one: the payload as a2a sent it, or built from our fields."""
    payload = stored.get("payload")
    if stored.get("payload_format") == "native" and isinstance(payload, dict):
        return SessionEvent.model_validate(payload)
    source = stored.get("source")
    return SessionEvent(
        id=stored["id"],
        timestamp=stored["timestamp"],
        message=stored.get("content", ""),
        task_id=stored.get("run_id"),
        source=source if source in ("user", "llm", "system") else "system",
        type=stored["type"] if stored.get("type") != "tool_result" else "tool_call",
        metadata=stored.get("metadata") or {},
    )


class SessionscopeA2AStore(SessionStoreInterface):
    """a2a-session-manager's `SessionStoreInterface`, persisting `Session` objects."""

    def __init__(
        self,
        *,
        client: SessionscopeClient | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.client = client_from(client, base_url, api_key, timeout)
        # Per session: the digest of each event body this store sent or read, by event id.
        self._sent_events: dict[str, dict[str, str]] = {}
        self._sent_runs: dict[str, str] = {}

    def get(self, session_id: str) -> Session | None:
        """The session with its events and runs, or None when it does not exist."""
        stored = self.client.get_session(session_id)
        if stored is None:
            return None
        extra = (stored.get("metadata") or {}).get("a2a") or {}
        session = Session.model_validate(
            {
                "id": stored["id"],
                "metadata": extra.get("metadata") or SessionMetadata().model_dump(),
                "child_ids": extra.get("child_ids") or [],
                "task_ids": extra.get("task_ids") or [],
                "runs": extra.get("runs") or [],
                "state": stored.get("state") or {},
            }
        )
        # Set after validation: a2a's validator would otherwise load and re-save the parent.
        session.parent_id = stored.get("parent_id")
        for child in self._children(session_id):
            session.add_child(child)
        events = [_event_from(e) for e in self.client.iter_events(session_id)]
        for event in events:
            session.add_event(event)
        self._sent_events[session_id] = {e.id: _digest(_event_body(e)) for e in events}
        for run in session.runs:
            self._sent_runs[run.id] = run.status.value
        return session

    def save(self, session: Session) -> None:
        """Create or update the session, then send its new runs, run changes and events."""
        self.client.upsert_session(
            session.id,
            parent_id=session.parent_id,
            state=session.state,
            metadata={
                "a2a": {
                    "metadata": session.metadata.model_dump(mode="json"),
                    "child_ids": session.child_ids,
                    "task_ids": session.task_ids,
                    "runs": [run.model_dump(mode="json") for run in session.runs],
                }
            },
        )
        for run in session.runs:
            self._save_run(session.id, run)
        sent = self._sent_events.setdefault(session.id, {})
        fresh = []
        for event in session.events:
            digest = _digest(_event_body(event))
            if event.id not in sent:
                fresh.append(event)
            elif sent[event.id] != digest:
                logger.warning(
                    "a2a event %s of session %s changed after it was stored; "
                    "Sessionscope keeps it as first stored",
                    event.id,
                    session.id,
                )
                sent[event.id] = digest  # reported once per change
        if fresh:
            self._append(session.id, fresh)
            sent.update((e.id, _digest(_event_body(e))) for e in fresh)

    def _children(self, session_id: str) -> list[str]:
        """Ids of the sessions stored with this one as parent, oldest first."""
        found = self.client.iter_sessions(parent=session_id, limit=200)
        return [s["id"] for s in sorted(found, key=lambda s: (s["created_at"], s["id"]))]

    def _append(self, session_id: str, events: list[SessionEvent]) -> None:
        try:
            self.client.append_events(session_id, [_event_body(e) for e in events])
        except ConflictError:
            # One event was changed after it was stored: send the others one by one.
            for event in events:
                try:
                    self.client.append_events(session_id, [_event_body(event)])
                except ConflictError as exc:
                    logger.warning(
                        "a2a event %s of session %s changed after it was stored; "
                        "Sessionscope keeps it as first stored (%s)",
                        event.id,
                        session_id,
                        exc,
                    )

    def _save_run(self, session_id: str, run: SessionRun) -> None:
        status = run.status.value
        if self._sent_runs.get(run.id) == status:
            return
        if run.id not in self._sent_runs:
            self.client.create_run(
                session_id,
                run.id,
                status="pending" if run.status == RunStatus.PENDING else "running",
                started_at=run.started_at.isoformat(),
                metadata=run.metadata,
            )
        if run.status in TERMINAL:
            self.client.update_run(
                run.id,
                status=status,
                ended_at=run.ended_at.isoformat() if run.ended_at else None,
            )
        elif run.status == RunStatus.RUNNING and self._sent_runs.get(run.id) == "pending":
            self.client.update_run(run.id, status=status)
        self._sent_runs[run.id] = status

    def delete(self, session_id: str) -> None:
        """Delete the session (and its sub-sessions) from Sessionscope."""
        self.client.delete_session(session_id)
        self._sent_events.pop(session_id, None)

    def list_sessions(self, prefix: str = "") -> list[str]:
        """Ids of the project's sessions, optionally only those starting with `prefix`."""
        return [s["id"] for s in self.client.iter_sessions(limit=200) if s["id"].startswith(prefix)]
