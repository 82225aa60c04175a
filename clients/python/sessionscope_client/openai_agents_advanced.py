"""OpenAI Agents SDK: an `AdvancedSQLiteSession` backed by Sessionscope (branches, usage per turn).

    from sessionscope_client.openai_agents_advanced import AdvancedSessionscopeSession
    session = AdvancedSessionscopeSession("conv-42")  # SESSIONSCOPE_URL / SESSIONSCOPE_API_KEY
    result = await Runner.run(agent, "Hello", session=session)
    await session.store_run_usage(result)
    await session.create_branch_from_turn(2, "retry")   # and switch to it, as the SDK does

Every public method of the SDK's `AdvancedSQLiteSession` is here with its signature and answers
(turn browsing, search, tool usage, branch deletion included); the analytics are computed from
one read of the branch (`openai_agents_turns`), the rest are the server's.

Branches live on the server as branches (each event carries the branch it was written on; a
branch shares its parent's items before the turn it was made from), so the dashboard's branch
selector shows each one. Usage is stored per user turn of a branch, as the SDK's `turn_usage`.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
from typing import Any

from agents.memory.session_settings import resolve_session_limit

from . import openai_agents_turns as turns_of
from .client import SessionscopeError, _Call, _path_id, new_event_id
from .openai_agents import FORMAT, SessionscopeSession

MAIN = "main"


class AdvancedSessionscopeSession(SessionscopeSession):
    """`SessionscopeSession` with `AdvancedSQLiteSession`'s branches and usage per turn."""

    def __init__(self, session_id: str, **kwargs: Any) -> None:
        if kwargs.get("write_behind"):
            raise ValueError("write_behind is not available on the advanced session yet.")
        super().__init__(session_id, **kwargs)
        self._branch = MAIN

    @property
    def current_branch_id(self) -> str:
        """The branch reads and writes go to (`main` until another is created or chosen)."""
        return self._branch

    # -- items, on the current branch ------------------------------------------------------

    def _items_sync(self, limit: int | None, branch: str | None = None) -> list[Any]:
        branch = branch or self._branch
        if limit is None or limit < 0:
            return list(self.client.iter_events(self.session_id, fmt=FORMAT, branch=branch))
        return self.client.latest_items(self.session_id, fmt=FORMAT, limit=limit, branch=branch)

    async def get_items(self, limit: int | None = None, branch_id: str | None = None) -> list[Any]:
        """The current branch's items (or `branch_id`'s), oldest first; with `limit`, the
        latest `limit` of them."""
        resolved = resolve_session_limit(limit, self.session_settings)
        return await asyncio.to_thread(self._items_sync, resolved, branch_id)

    def _add_sync(self, items: list[Any]) -> None:
        self._announce()
        events = [
            {"id": new_event_id(), "format": FORMAT, "item": item, "branch": self._branch}
            for item in items
        ]
        self.client.append_events(self.session_id, events)

    def _pop_sync(self) -> Any | None:
        event = self.client.pop_event(self.session_id, fmt=FORMAT, branch=self._branch)
        return None if event is None else event.get("payload")

    # -- branches ----------------------------------------------------------------------------

    def _branches_sync(self) -> list[dict[str, Any]]:
        call = _Call("GET", f"/sessions/{_path_id(self.session_id)}/branches", none_on_404=True)
        answer = self.client._run(call)
        return answer["items"] if answer else []

    async def list_branches(self) -> list[dict[str, Any]]:
        """Every branch holding items, with `branch_id`, `message_count`, `user_turns`,
        `is_current` and `created_at` (UTC, `YYYY-MM-DD HH:MM:SS`), as the SDK lists them
        (main first). As in the SDK, a branch without items is not listed."""
        rows = await asyncio.to_thread(self._branches_sync)
        return [
            {
                "branch_id": b["name"],
                "message_count": b["message_count"],
                "user_turns": b["user_turns"],
                "is_current": b["name"] == self._branch,
                "created_at": turns_of.sqlite_time(b["created_at"]),
            }
            for b in rows
            if b["message_count"]
        ]

    def _create_sync(self, turn_number: int, name: str | None) -> str:
        self._announce()
        # The SDK's generated name, with `_2`, `_3`, ... when a second passes without a new one.
        base = f"branch_from_turn_{turn_number}_{int(time.time())}"
        attempt = 1
        while True:
            chosen = name or (base if attempt == 1 else f"{base}_{attempt}")
            call = _Call(
                "POST",
                f"/sessions/{_path_id(self.session_id)}/branches",
                json={"name": chosen, "parent": self._branch, "from_turn": turn_number},
            )
            try:
                _, status, maybe_done = self.client._run_status(call)
            except SessionscopeError as exc:
                if exc.status == 409 and name is None:
                    attempt += 1
                    continue
                if exc.status in (404, 409, 422):
                    raise ValueError(str(exc.detail)) from exc
                raise
            # `200`: the server had this very branch already (its answer to a retry). Unless
            # this call's own earlier attempt made it, the name was used before: the SDK's
            # ValueError.
            if status == 200 and not maybe_done:
                if name is None:
                    attempt += 1
                    continue
                raise ValueError(
                    f"Branch ID '{chosen}' has already been used. Choose a new branch ID."
                )
            return chosen

    async def create_branch_from_turn(
        self, turn_number: int, branch_name: str | None = None
    ) -> str:
        """A branch holding the current branch's items before user turn `turn_number`, made
        current; returns its id. A used name, or a turn without a user message, is a
        ValueError, as in the SDK."""
        if branch_name is not None and not branch_name.strip():
            raise ValueError("Branch name cannot be empty")
        self._branch = await asyncio.to_thread(self._create_sync, turn_number, branch_name)
        return self._branch

    async def create_branch_from_content(
        self, search_term: str, branch_name: str | None = None
    ) -> str:
        """A branch from the first user turn holding `search_term` (made current); ValueError
        when no user turn holds it."""
        found = await self.find_turns_by_content(search_term)
        if not found:
            raise ValueError(f"No user turns found containing '{search_term}'")
        return await self.create_branch_from_turn(found[0]["turn"], branch_name)

    async def switch_to_branch(self, branch_id: str) -> None:
        """Make `branch_id` current; ValueError when the session has no such branch (one
        without items, as in the SDK)."""
        names = [b["branch_id"] for b in await self.list_branches()]
        if branch_id not in names:
            raise ValueError(f"Branch '{branch_id}' does not exist")
        self._branch = branch_id

    def _delete_sync(self, branch_id: str) -> None:
        call = _Call(
            "DELETE",
            f"/sessions/{_path_id(self.session_id)}/branches/{_path_id(branch_id)}",
            retry="unsent",
        )
        try:
            self.client._run(call)
        except SessionscopeError as exc:
            if exc.status in (404, 422):
                raise ValueError(f"Branch '{branch_id}' does not exist") from exc
            raise

    async def delete_branch(self, branch_id: str, force: bool = False) -> None:
        """Delete a branch; its name stays taken. Main cannot be deleted, nor the current
        branch without `force` (with it, main becomes current). The server keeps the branch's
        items in its record, marked removed by `delete_branch`."""
        if not branch_id or not branch_id.strip():
            raise ValueError("Branch ID cannot be empty")
        if branch_id == MAIN:
            raise ValueError("Cannot delete the 'main' branch")
        listed = any(b["branch_id"] == branch_id for b in await self.list_branches())
        if branch_id == self._branch:
            if not force:
                raise ValueError(
                    f"Cannot delete current branch '{branch_id}'. "
                    "Use force=True or switch branches first"
                )
            if not listed:
                raise ValueError(f"Branch '{branch_id}' does not exist")
            await self.switch_to_branch(MAIN)
        if not listed:
            raise ValueError(f"Branch '{branch_id}' does not exist")
        await asyncio.to_thread(self._delete_sync, branch_id)

    def _clear_sync(self) -> None:
        super()._clear_sync()
        self._branch = MAIN  # every branch is emptied: the SDK starts again on main

    # -- browsing turns, searching, tools (computed from one read of the branch) ------------

    def _stamped_sync(self, branch: str | None) -> list[tuple[Any, str | None]]:
        # A native read: the items with the time each was written.
        return [
            (e["payload"], e.get("timestamp"))
            for e in self.client.iter_events(self.session_id, branch=branch or self._branch)
            if e.get("payload_format") == FORMAT and e.get("payload") is not None
        ]

    async def get_conversation_turns(self, branch_id: str | None = None) -> list[dict[str, Any]]:
        """The branch's user turns: `turn`, `content` (100 characters), `full_content`,
        `timestamp` (when the message was written) and `can_branch`."""
        rows = await asyncio.to_thread(self._stamped_sync, branch_id)
        return turns_of.user_turns(rows, 100)

    async def find_turns_by_content(
        self, search_term: str, branch_id: str | None = None
    ) -> list[dict[str, Any]]:
        """The branch's user turns whose text holds `search_term` (ASCII case-insensitive),
        as `get_conversation_turns` rows with the whole content."""
        rows = await asyncio.to_thread(self._stamped_sync, branch_id)
        return [
            turn
            for turn in turns_of.user_turns(rows, None)
            if turns_of.matches(turn["full_content"], search_term)
        ]

    async def get_conversation_by_turns(
        self, branch_id: str | None = None
    ) -> dict[int, list[dict[str, str | None]]]:
        """The branch's items grouped by user turn, each as `{"type", "tool_name"}`."""
        items = await asyncio.to_thread(self._items_sync, None, branch_id)
        return turns_of.by_turns(items)

    async def get_tool_usage(
        self, branch_id: str | None = None
    ) -> list[tuple[str | None, int, int]]:
        """`(tool_name, calls, user_turn)` for each tool used in each turn of the branch."""
        items = await asyncio.to_thread(self._items_sync, None, branch_id)
        return turns_of.tool_usage(items)

    # -- usage per turn ----------------------------------------------------------------------

    async def store_run_usage(self, result: Any, *, model: str | None = None) -> None:
        """Record a run's usage on the current branch's current user turn."""
        usage = result.context_wrapper.usage
        if usage is None or not usage.requests:
            return
        turns = next((b["user_turns"] for b in await self.list_branches() if b["is_current"]), 0)
        agent_model = getattr(result.last_agent, "model", None)
        name = model or (agent_model if isinstance(agent_model, str) else "") or "unknown"
        details_in = usage.input_tokens_details
        details_out = usage.output_tokens_details
        event = {
            "id": new_event_id(),
            "timestamp": datetime.now(timezone.utc).isoformat(),  # noqa: UP017 (Python 3.10)
            "source": "llm",
            "type": "reference",
            "branch": self._branch,
            "message": f"Turn {turns} usage: {usage.total_tokens} tokens",
            "metadata": {
                "run_usage": True,
                "agent": result.last_agent.name,
                "user_turn": turns,
                "requests": usage.requests,
                "input_tokens_details": {"cached_tokens": details_in.cached_tokens or 0},
                "output_tokens_details": {"reasoning_tokens": details_out.reasoning_tokens or 0},
            },
            "token_usage": {
                "model": name,
                "prompt_tokens": usage.input_tokens,
                "completion_tokens": usage.output_tokens,
                "total_tokens": usage.total_tokens,
                "cached_tokens": details_in.cached_tokens or 0,
                "reasoning_tokens": details_out.reasoning_tokens or 0,
            },
        }
        await asyncio.to_thread(self.client.append_events, self.session_id, [event])

    def _usage_events(self, branch: str | None) -> list[dict[str, Any]]:
        # Live events only: a popped turn's or a deleted branch's usage is the SDK's deleted
        # `turn_usage` row (the server still counts it in its costs).
        return [
            e
            for e in self.client.iter_events(self.session_id, branch=branch)
            if (e.get("metadata") or {}).get("run_usage")
            and e.get("token_usage")
            and (branch is None or e.get("branch") == branch)
        ]

    @staticmethod
    def _by_turn(events: list[dict[str, Any]]) -> dict[tuple[str, int], dict[str, Any]]:
        turns: dict[tuple[str, int], dict[str, Any]] = {}
        for e in events:
            meta, usage = e["metadata"], e["token_usage"]
            key = (e.get("branch", MAIN), int(meta.get("user_turn", 0)))
            row = turns.setdefault(
                key,
                {
                    "user_turn_number": key[1],
                    "requests": 0,
                    "input_tokens": 0,
                    "output_tokens": 0,
                    "total_tokens": 0,
                    "input_tokens_details": {"cached_tokens": 0},
                    "output_tokens_details": {"reasoning_tokens": 0},
                },
            )
            row["requests"] += int(meta.get("requests", 1))
            row["input_tokens"] += usage["prompt_tokens"]
            row["output_tokens"] += usage["completion_tokens"]
            row["total_tokens"] += usage["total_tokens"]
            row["input_tokens_details"]["cached_tokens"] += usage.get("cached_tokens", 0)
            row["output_tokens_details"]["reasoning_tokens"] += usage.get("reasoning_tokens", 0)
        return turns

    async def get_session_usage(self, branch_id: str | None = None) -> dict[str, int] | None:
        """Requests, tokens and turns of the whole session or of one branch (None: no usage)."""
        events = await asyncio.to_thread(self._usage_events, branch_id)
        turns = self._by_turn(events)
        if not turns:
            return None
        return {
            "requests": sum(t["requests"] for t in turns.values()),
            "input_tokens": sum(t["input_tokens"] for t in turns.values()),
            "output_tokens": sum(t["output_tokens"] for t in turns.values()),
            "total_tokens": sum(t["total_tokens"] for t in turns.values()),
            "total_turns": len(turns),
        }

    async def get_turn_usage(
        self, user_turn_number: int | None = None, branch_id: str | None = None
    ) -> list[dict[str, Any]] | dict[str, Any]:
        """Usage per user turn of a branch (the current one by default), oldest first; with
        `user_turn_number`, that turn's (an empty dict when it has none)."""
        branch = branch_id or self._branch
        events = await asyncio.to_thread(self._usage_events, branch)
        rows = [row for (_, turn), row in sorted(self._by_turn(events).items())]
        if user_turn_number is None:
            return rows
        for row in rows:
            if row["user_turn_number"] == user_turn_number:
                return {k: v for k, v in row.items() if k != "user_turn_number"}
        return {}
