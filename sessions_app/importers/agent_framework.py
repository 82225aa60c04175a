"""Microsoft Agent Framework files: `FileHistoryProvider` JSONL histories and `FileSessionStore`
JSON snapshots.

A JSONL file holds one `Message` dict per line; the file's name is the session id (decoded when
the provider had to encode it). A snapshot (`{"type": "session", "session_id", "state", ...}`)
becomes the session's `state` and `service_session_id`; messages an `InMemoryHistoryProvider`
kept in that state (`state[<source_id>]["messages"]`) are imported as events too.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from .. import normalize
from ..errors import DomainError
from ..inputs import EventInput
from ..models import Event, Project
from .base import ImportReport, append, stable_id, upsert_if_changed, with_origin

ENCODED_PREFIX = "~session-"


def session_id_of(path: Path) -> str:
    """The session id a provider file stands for (its name, decoded when encoded)."""
    stem = path.stem
    if stem.startswith(ENCODED_PREFIX):
        encoded = stem[len(ENCODED_PREFIX) :].upper()
        try:
            return base64.b32decode(encoded + "=" * (-len(encoded) % 8)).decode()
        except (ValueError, UnicodeDecodeError):
            return stem
    return stem


def is_snapshot(data: Any) -> bool:
    """Whether parsed JSON is an AgentSession snapshot (`AgentSession.to_dict()`)."""
    return isinstance(data, dict) and data.get("type") == "session" and "session_id" in data


def _messages(
    raw: list[Any], *, origin: tuple[str, ...], where: str, report: ImportReport
) -> list[EventInput]:
    batch: list[EventInput] = []
    for index, message in enumerate(raw, start=1):
        if not isinstance(message, dict):
            report.skip(f"{where} message {index}", "not a JSON object")
            continue
        try:
            events = normalize.normalize_item(
                message,
                fmt=Event.Format.AGENT_FRAMEWORK,
                event_id=stable_id("af", *origin, index),
            )
        except DomainError as exc:
            report.skip(f"{where} message {index}", exc.detail)
            continue
        batch.extend(with_origin(events, metadata={"import_line": index}, timestamp=None))
    return batch


def import_jsonl(path: Path, *, project: Project, report: ImportReport) -> None:
    """Import one FileHistoryProvider history file."""
    sid = session_id_of(path)
    where = path.name
    raw: list[Any] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                raw.append(json.loads(line))
            except ValueError:
                report.skip(f"{where} line {number}", "invalid JSON")
                raw.append(None)
    upsert_if_changed(
        project=project,
        external_id=sid,
        fields={"metadata": {"imported_from": "agent-framework-jsonl"}},
        report=report,
    )
    # Lines that failed to parse keep their number, so ids stay stable when a file is fixed.
    batch = _messages(raw, origin=(where, sid), where=where, report=report)
    append(project=project, session_id=sid, events=batch, report=report, where=where)


def import_snapshot(
    data: dict[str, Any], path: Path, *, project: Project, report: ImportReport
) -> None:
    """Import one FileSessionStore snapshot (state, service session id, in-state messages)."""
    sid = str(data["session_id"])
    state = data.get("state") if isinstance(data.get("state"), dict) else {}
    service = data.get("service_session_id")
    metadata: dict[str, Any] = {"imported_from": "agent-framework-snapshot"}
    fields: dict[str, Any] = {"state": state, "metadata": metadata}
    if isinstance(service, str):
        fields["service_session_id"] = service[:255]
    elif service is not None:
        metadata["service_session_id"] = service
    upsert_if_changed(project=project, external_id=sid, fields=fields, report=report)
    batch: list[EventInput] = []
    for source_id, provider_state in sorted((state or {}).items()):
        messages = provider_state.get("messages") if isinstance(provider_state, dict) else None
        if isinstance(messages, list):
            batch.extend(
                _messages(
                    messages,
                    origin=("afs", sid, source_id),
                    where=f"{path.name} {source_id}",
                    report=report,
                )
            )
    append(project=project, session_id=sid, events=batch, report=report, where=path.name)
