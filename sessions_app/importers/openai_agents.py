"""OpenAI Agents SDK SQLite databases (`SQLiteSession`, `AdvancedSQLiteSession`).

`agent_sessions` gives the sessions, `agent_messages` their Responses items in id order. When
the database was written by `AdvancedSQLiteSession`, `message_structure` tells on which
branches and in which user turn each item sits, and `turn_usage` the tokens of each turn:
branch and turn go into each event's metadata (`branch_id`, `branches`, `user_turn`) so the
transcript can show them, and a turn's usage is attached to the last assistant message of that
turn on its branch. The SDK records no model name with the usage; `model` names it (else the
usage is stored with model `unknown` and an unknown price).
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import normalize
from ..errors import DomainError
from ..inputs import EventInput, UsageInput
from ..models import MAIN_BRANCH, Event, Project
from ..services.branches import branch_record
from .base import ImportReport, append, parse_time, stable_id, upsert_if_changed, with_origin

SESSIONS_TABLE = "agent_sessions"
MESSAGES_TABLE = "agent_messages"


def is_sqlite(path: Path) -> bool:
    """Whether a file is an SQLite database (by its header)."""
    try:
        with path.open("rb") as handle:
            return handle.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _structure(conn: sqlite3.Connection, session_id: str) -> dict[int, list[dict[str, Any]]]:
    """Branch placements of each message id, in the order they were written."""
    placements: dict[int, list[dict[str, Any]]] = defaultdict(list)
    rows = conn.execute(
        "SELECT message_id, branch_id, user_turn_number, branch_turn_number, message_type, "
        "tool_name FROM message_structure WHERE session_id = ? ORDER BY id",
        (session_id,),
    )
    for message_id, branch, user_turn, branch_turn, kind, tool in rows:
        placements[message_id].append(
            {
                "branch_id": branch,
                "user_turn": user_turn,
                "branch_turn": branch_turn,
                "message_type": kind,
                "tool_name": tool,
            }
        )
    return placements


def _turn_usage(conn: sqlite3.Connection, session_id: str) -> list[tuple]:
    return list(
        conn.execute(
            "SELECT branch_id, user_turn_number, requests, input_tokens, output_tokens, "
            "total_tokens, input_tokens_details, output_tokens_details FROM turn_usage "
            "WHERE session_id = ? ORDER BY id",
            (session_id,),
        )
    )


def _detail(raw: Any, key: str) -> int:
    try:
        value = json.loads(raw).get(key, 0) if raw else 0
    except (ValueError, AttributeError):
        return 0
    return value if isinstance(value, int) else 0


def import_sqlite(
    path: Path,
    *,
    project: Project,
    model: str = "",
    report: ImportReport,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Import every session of an Agents SDK SQLite database."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = _tables(conn)
        if MESSAGES_TABLE not in tables:
            report.skip(str(path), f"no {MESSAGES_TABLE} table: not an Agents SDK database")
            return
        advanced = "message_structure" in tables
        has_usage = "turn_usage" in tables
        sessions: dict[str, tuple[Any, Any]] = {}
        if SESSIONS_TABLE in tables:
            for sid, created, updated in conn.execute(
                f"SELECT session_id, created_at, updated_at FROM {SESSIONS_TABLE} ORDER BY rowid"
            ):
                sessions[sid] = (created, updated)
        # Messages whose session row is missing are still a conversation worth importing.
        for (sid,) in conn.execute(f"SELECT DISTINCT session_id FROM {MESSAGES_TABLE}"):
            sessions.setdefault(sid, (None, None))
        total = len(sessions)
        for done, sid in enumerate(sessions, start=1):
            _import_session(
                conn,
                path,
                sid,
                project=project,
                model=model,
                report=report,
                advanced=advanced,
                has_usage=has_usage,
            )
            if progress:
                progress(done, total)
    finally:
        conn.close()


def _import_session(
    conn: sqlite3.Connection,
    path: Path,
    sid: str,
    *,
    project: Project,
    model: str,
    report: ImportReport,
    advanced: bool,
    has_usage: bool,
) -> None:
    where = f"{path.name}:{sid}"
    placements = _structure(conn, sid) if advanced else {}
    usage_rows = _turn_usage(conn, sid) if has_usage else []
    branches = sorted({p["branch_id"] for places in placements.values() for p in places})
    metadata: dict[str, Any] = {"imported_from": "openai-agents-sqlite"}
    if branches:
        metadata["branches"] = branches
    session = upsert_if_changed(
        project=project, external_id=sid, fields={"metadata": metadata}, report=report
    )

    items: list[tuple[int, list[EventInput]]] = []
    for row_id, data, created in conn.execute(
        f"SELECT id, message_data, created_at FROM {MESSAGES_TABLE} WHERE session_id = ? "
        "ORDER BY id",
        (sid,),
    ):
        try:
            item = json.loads(data)
            if not isinstance(item, dict):
                raise ValueError("not an object")
            events = normalize.normalize_item(
                item, fmt=Event.Format.RESPONSES, event_id=stable_id("oai", path.name, sid, row_id)
            )
        except (ValueError, DomainError) as exc:
            report.skip(f"{where} message {row_id}", f"unreadable item: {exc}")
            continue
        origin: dict[str, Any] = {"import_row": row_id}
        places = placements.get(row_id)
        if places:
            # An item sits first on the branch it was written on; the SDK copies it onto the
            # branches made later from a later turn, which share it here instead.
            for event in events:
                event.branch = places[0]["branch_id"] or MAIN_BRANCH
            origin.update(
                branch_id=places[0]["branch_id"],
                branches=sorted({p["branch_id"] for p in places}),
                user_turn=places[0]["user_turn"],
                branch_turn=places[0]["branch_turn"],
            )
        items.append((row_id, events))
        events[0].metadata = {**events[0].metadata, **origin}
        events[0].timestamp = parse_time(created)

    _attach_usage(
        items, placements, usage_rows, model=model or "unknown", where=where, report=report
    )
    batch: list[EventInput] = []
    # Branches repeat call ids (a retried turn asks for the same tool again): a result belongs
    # to the latest call with its id before it, not to whichever the server would match.
    latest_call: dict[str, str] = {}
    for _, events in items:
        for event in events:
            if event.type == Event.Type.TOOL_CALL and event.tool_call_id:
                latest_call[event.tool_call_id] = event.external_id
            elif event.parent_tool_call_id and event.parent_tool_call_id in latest_call:
                event.parent_external_id = latest_call[event.parent_tool_call_id]
        batch.extend(
            with_origin(events, metadata=events[0].metadata, timestamp=events[0].timestamp)
        )
    # The branches are recorded below, once their fork points have seqs.
    results = append(
        project=project,
        session_id=sid,
        events=batch,
        report=report,
        where=where,
        new_branches=len(branches) > 1,
    )
    if results and len(branches) > 1:
        seqs = {r.external_id: r.seq for r in results}
        last_seq = {row_id: max(seqs[e.external_id] for e in events) for row_id, events in items}
        for branch in _branch_forks(placements, last_seq):
            branch_record(session=session, **branch)


def _branch_forks(
    placements: dict[int, list[dict[str, Any]]], last_seq: dict[int, int]
) -> list[dict[str, Any]]:
    """Each branch but main with where it forked: the SDK copied the items before the turn it
    branched from (they sit first on another branch); the latest of them is the fork point,
    and the branch it was written on the parent."""
    own = {row: places[0]["branch_id"] for row, places in placements.items() if places}
    found: list[dict[str, Any]] = []
    names = {p["branch_id"] for places in placements.values() for p in places} - {MAIN_BRANCH}
    for name in sorted(names):
        copied = [
            (row, p["branch_turn"])
            for row, places in placements.items()
            for p in places[1:]
            if p["branch_id"] == name and own[row] != name and row in last_seq
        ]
        if not copied:
            # Branched from the first turn: nothing shared.
            found.append({"name": name, "parent": MAIN_BRANCH, "fork_seq": 0, "from_turn": 1})
            continue
        last_row = max(row for row, _ in copied)
        found.append(
            {
                "name": name,
                "parent": own[last_row],
                "fork_seq": last_seq[last_row],
                "from_turn": max(turn or 0 for _, turn in copied) + 1,
            }
        )
    return found


def _attach_usage(
    items: list[tuple[int, list[EventInput]]],
    placements: dict[int, list[dict[str, Any]]],
    usage_rows: list[tuple],
    *,
    model: str,
    where: str,
    report: ImportReport,
) -> None:
    """Give each turn's usage to the last assistant message of that turn on its branch."""
    by_turn: dict[tuple[str, int], EventInput] = {}
    for row_id, events in items:
        first = events[0]
        if first.source != Event.Source.LLM:
            continue
        for place in placements.get(row_id, []):
            by_turn[(place["branch_id"], place["user_turn"])] = first
    for branch, turn, requests, prompt, completion, total, in_details, out_details in usage_rows:
        target = by_turn.get((branch, turn))
        if target is None or target.usage is not None:
            report.skip(
                f"{where} usage {branch}/{turn}", "no assistant item of that turn to carry it"
            )
            continue
        target.usage = UsageInput(
            model=model,
            prompt_tokens=prompt or 0,
            completion_tokens=completion or 0,
            total_tokens=total or 0,
            cached_tokens=_detail(in_details, "cached_tokens"),
            reasoning_tokens=_detail(out_details, "reasoning_tokens"),
        )
        target.metadata = {**target.metadata, "turn_requests": requests}
