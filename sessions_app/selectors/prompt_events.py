"""The reads behind a prompt: the few events each strategy needs, loaded once each.

Every probe is an indexed lookup on (session, seq) or (parent_event), so a session of 20,000
events costs about what one of 20 does.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Max

from ..models import AgentSession, Event
from ..prompts.base import (
    CHILD_TYPES,
    COLUMNS,
    NO_RESULT,
    Source,
    Tool,
    arguments_of,
    function_name,
    logged_as_call,
    payload_message,
    text_of,
)


class SessionLoader:
    """Loads, once each, the few events the strategies need from one session."""

    def __init__(self, session: AgentSession):
        self.session = session
        self._cache: dict[Any, Any] = {}

    def _events(self):
        # What an agent popped or cleared is not part of its prompt (it stays in the record).
        return Event.objects.filter(session_id=self.session.pk, removed_at__isnull=True).only(
            *COLUMNS
        )

    def _memo(self, key: Any, compute: Any) -> Any:
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def has_events(self) -> bool:
        """Whether the session has any event (an empty session gives an empty prompt)."""
        return self._memo("any", lambda: self._events().exists())

    def first_user(self) -> Event | None:
        """The first user message."""
        return self._memo(
            "first_user",
            lambda: (
                self._events()
                .filter(type=Event.Type.MESSAGE, source=Event.Source.USER)
                .order_by("seq")
                .first()
            ),
        )

    def latest_user(self) -> Event | None:
        """The latest user message."""
        return self._memo(
            "latest_user",
            lambda: (
                self._events()
                .filter(type=Event.Type.MESSAGE, source=Event.Source.USER)
                .order_by("-seq")
                .first()
            ),
        )

    def latest_assistant(self) -> Event | None:
        """The latest message from any source but the user (a2a counts system as assistant)."""
        return self._memo(
            "latest_assistant",
            lambda: (
                self._events()
                .filter(type=Event.Type.MESSAGE)
                .exclude(source=Event.Source.USER)
                .order_by("-seq")
                .first()
            ),
        )

    def recent_messages(self, n: int) -> list[Event]:
        """The last `n` message events, in seq order."""
        return self._memo(
            ("recent", n),
            lambda: list(self._events().filter(type=Event.Type.MESSAGE).order_by("-seq")[:n])[::-1],
        )

    def _children(self, event: Event) -> list[Event]:
        return self._memo(
            ("children", event.pk),
            lambda: list(
                self._events()
                .filter(parent_event_id=event.pk, type__in=CHILD_TYPES)
                .order_by("seq")
            ),
        )

    def summary_children(self, event: Event) -> list[Event]:
        """Summary events whose parent is `event`, in seq order."""
        return [e for e in self._children(event) if e.type == Event.Type.SUMMARY]

    def tools(self, event: Event) -> list[Tool]:
        """The tool calls `event` asked for, each with its result and error, in seq order."""
        return self._memo(("tools", event.pk), lambda: self._load_tools(event))

    def _load_tools(self, event: Event) -> list[Tool]:
        children = self._children(event)
        asked = [e for e in children if e.type == Event.Type.TOOL_CALL]
        call_ids = [c.tool_call_id for c in asked if c.tool_call_id]
        # A result a2a logged as a call stands for that call, with its own outcome (unless it
        # answers one of the calls here, which then finds it by its id).
        calls = [
            e
            for e in children
            if e.type == Event.Type.TOOL_CALL
            or (logged_as_call(e) and e.tool_call_id not in call_ids)
        ]
        if not calls:
            return []
        results: dict[int, Event] = {}
        by_call_id: dict[str, Event] = {}
        for r in (
            self._events()
            .filter(type=Event.Type.TOOL_RESULT, parent_event_id__in=[c.pk for c in asked])
            .order_by("seq")
            if asked
            else []
        ):
            results.setdefault(r.parent_event_id, r)
        missing = [cid for c in asked if c.pk not in results and (cid := c.tool_call_id)]
        if missing and call_ids:
            for r in (
                self._events()
                .filter(type=Event.Type.TOOL_RESULT, tool_call_id__in=missing)
                .order_by("seq")
            ):
                by_call_id.setdefault(r.tool_call_id, r)
        tools = []
        for call in calls:
            inner = payload_message(call)
            result_event = (
                results.get(call.pk) or by_call_id.get(call.tool_call_id)
                if call.type == Event.Type.TOOL_CALL
                else None
            )
            sources = [Source(call.session_id, call.seq)]
            if result_event is not None:
                result = result_event.content
                is_error = result_event.is_error or call.is_error
                error = text_of(inner.get("error")) or (result if is_error else "")
                sources.append(Source(result_event.session_id, result_event.seq))
            else:
                result = text_of(inner.get("result")) if "result" in inner else ""
                error = text_of(inner.get("error")) or ("tool call failed" if call.is_error else "")
            tools.append(
                Tool(
                    call=call,
                    call_id=call.tool_call_id or f"call_{call.session_id}_{call.seq}",
                    name=function_name(
                        call.name or text_of(inner.get("tool") or inner.get("tool_name"))
                    ),
                    arguments=arguments_of(call),
                    result=result or NO_RESULT,
                    error=error,
                    sources=sources,
                )
            )
        return tools

    def ancestor_summaries(self) -> list[Event]:
        """The latest summary event of every ancestor, root first (two queries)."""

        def load() -> list[Event]:
            ids = [int(p) for p in self.session.path.strip("/").split("/")[:-1] if p]
            if not ids:
                return []
            latest = dict(
                Event.objects.filter(
                    session_id__in=ids, type=Event.Type.SUMMARY, removed_at__isnull=True
                )
                .values("session_id")
                .annotate(seq=Max("seq"))
                .values_list("session_id", "seq")
            )
            if not latest:
                return []
            rows = Event.objects.filter(session_id__in=list(latest), type=Event.Type.SUMMARY).only(
                *COLUMNS
            )
            by_session = {e.session_id: e for e in rows if latest.get(e.session_id) == e.seq}
            return [by_session[i] for i in ids if i in by_session]

        return self._memo("ancestor_summaries", load)
