"""What every importer shares: deterministic ids, the report, and writing one session.

Importing is idempotent: every event gets an id derived from where it came from (file, session,
row), and its body hash from what it holds, so importing the same files again finds every event
already stored (`duplicate`) and changes nothing, not even a session's `updated_at`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .. import jsontext
from ..errors import DomainError
from ..inputs import AppendResult, EventInput, bounded_id
from ..models import AgentSession, Project
from ..services.events import events_append
from ..services.sessions import UNSET, session_upsert


def stable_id(*parts: Any) -> str:
    """A deterministic event id from its origin, hashed when it would pass 255 characters."""
    text = ":".join(str(p) for p in parts)
    return bounded_id(text, keep=text[:150])


def body_hash(value: Any) -> str:
    """SHA-256 of a value's canonical JSON: what makes a re-import a duplicate, not a conflict.
    Decimals and datetimes are written as their `str`, as when the importers were written."""
    return jsontext.body_hash(value, default=str)


def parse_time(value: Any) -> datetime | None:
    """An ISO or SQLite (`YYYY-MM-DD HH:MM:SS`, UTC) timestamp, made timezone-aware."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass
class Skip:
    """Something not imported, and why."""

    where: str
    reason: str


@dataclass
class ImportReport:
    """Counts of what one import did, and what it skipped with reasons."""

    sessions_created: int = 0
    sessions_updated: int = 0
    sessions_unchanged: int = 0
    events_created: int = 0
    events_duplicate: int = 0
    runs_created: int = 0
    skipped: list[Skip] = field(default_factory=list)

    def skip(self, where: str, reason: str) -> None:
        """Record something left out."""
        self.skipped.append(Skip(where, reason))

    def merge(self, other: ImportReport) -> None:
        """Add another report's counts to this one."""
        for name in (
            "sessions_created",
            "sessions_updated",
            "sessions_unchanged",
            "events_created",
            "events_duplicate",
            "runs_created",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.skipped.extend(other.skipped)


def upsert_if_changed(
    *,
    project: Project,
    external_id: str,
    fields: dict[str, Any],
    parent_external_id: str | None = None,
    report: ImportReport,
) -> AgentSession:
    """Create the session, or update it only where the imported fields differ."""
    stored = (
        AgentSession.objects.filter(project=project, external_id=external_id)
        .select_related("parent")
        .first()
    )
    parent = UNSET if parent_external_id is None else parent_external_id
    if stored is not None:
        changed = {k: v for k, v in fields.items() if getattr(stored, k) != v}
        stored_parent = stored.parent.external_id if stored.parent else None
        if not changed and (parent is UNSET or parent == stored_parent):
            report.sessions_unchanged += 1
            return stored
        session, _ = session_upsert(
            project=project, external_id=external_id, fields=changed, parent_external_id=parent
        )
        report.sessions_updated += 1
        return session
    session, _ = session_upsert(
        project=project, external_id=external_id, fields=fields, parent_external_id=parent
    )
    report.sessions_created += 1
    return session


def append(
    *,
    project: Project,
    session_id: str,
    events: list[EventInput],
    report: ImportReport,
    where: str,
    new_branches: bool = False,
) -> list[AppendResult]:
    """Store a session's events in one batch, counting created and duplicate ones; returns
    what happened to each (nothing when the batch was left out). With `new_branches`, events
    may be on branches the session does not have yet: the caller records them after."""
    if not events:
        return []
    try:
        _, results = events_append(
            project=project,
            session_external_id=session_id,
            events=events,
            new_branches=new_branches,
        )
    except DomainError as exc:
        # A changed source (an id imported before with another body) or bad data: the whole
        # session's batch is left out, and the reason is reported.
        report.skip(where, f"{exc.code}: {exc.detail}")
        return []
    for result in results:
        if result.status == "created":
            report.events_created += 1
        else:
            report.events_duplicate += 1
    return results


def with_origin(
    events: list[EventInput], *, metadata: Mapping[str, Any], timestamp: datetime | None
) -> list[EventInput]:
    """Stamp the events one item stands for with import metadata, time and body hashes."""
    for event in events:
        event.metadata = {**event.metadata, **metadata}
        event.timestamp = timestamp
        if not event.body_hash:
            event.body_hash = body_hash(
                {"payload": event.payload, "content": event.content, "metadata": event.metadata}
            )
    if events:
        first = events[0]
        usage = first.usage.__dict__ if first.usage else None
        first.body_hash = body_hash(
            {"payload": first.payload, "metadata": first.metadata, "usage": usage}
        )
    return events
