"""Importers of agent frameworks' own session files into Sessionscope, through the services.

`import_paths()` walks files and folders, recognises each file by its content (an SQLite header,
a JSONL history, an Agent Framework snapshot, an a2a session dump), imports it idempotently and
returns one report: what was created, what was already there, and what was skipped and why.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

from django.db import transaction

from ..models import Project
from .a2a import import_a2a, is_a2a_session
from .agent_framework import import_jsonl, import_snapshot, is_snapshot
from .base import ImportReport, Skip
from .openai_agents import import_sqlite, is_sqlite

# SQLite's companions of a database in WAL or rollback mode: part of the database, not sessions.
SIDECARS = ("-wal", "-shm", "-journal")
FORMATS = ("auto", "openai-sqlite", "af-jsonl", "af-snapshot", "a2a")
Progress = Callable[[str, int, int], None]


def _files(paths: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and not p.name.endswith(SIDECARS))
            )
        else:
            found.append(path)
    return found


def _kind(path: Path, fmt: str) -> tuple[str, object]:
    """The format of a file and, for JSON, its parsed content; ("", reason) when unknown."""
    if fmt == "openai-sqlite" or (fmt == "auto" and is_sqlite(path)):
        return "openai-sqlite", None
    if fmt == "af-jsonl" or (fmt == "auto" and path.suffix == ".jsonl"):
        return "af-jsonl", None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return "", f"not SQLite, JSONL or JSON ({exc.__class__.__name__})"
    if fmt in ("af-snapshot", "auto") and is_snapshot(data):
        return "af-snapshot", data
    if fmt in ("a2a", "auto") and is_a2a_session(data):
        return "a2a", data
    return "", "JSON that is neither an Agent Framework snapshot nor an a2a session"


def _per_session(
    progress: Progress | None, name: str, index: int, total: int
) -> Callable[[int, int], None] | None:
    if progress is None:
        return None

    def step(done: int, sessions: int) -> None:
        progress(f"{name} {done}/{sessions}", index, total)

    return step


def import_paths(
    paths: Iterable[Path],
    *,
    project: Project,
    fmt: str = "auto",
    model: str = "",
    progress: Progress | None = None,
) -> ImportReport:
    """Import every file under `paths`; each file is one transaction (all of it or none)."""
    report = ImportReport()
    files = _files(paths)
    for done, path in enumerate(files, start=1):
        if progress:
            progress(path.name, done - 1, len(files))
        if not path.exists():
            report.skip(str(path), "no such file")
            continue
        kind, data = _kind(path, fmt)
        if not kind:
            report.skip(str(path), str(data))
            continue
        part = ImportReport()
        with transaction.atomic():
            if kind == "openai-sqlite":
                # A database can hold thousands of sessions: show them, not just the file.
                step = _per_session(progress, path.name, done - 1, len(files))
                import_sqlite(path, project=project, model=model, report=part, progress=step)
            elif kind == "af-jsonl":
                import_jsonl(path, project=project, report=part)
            elif kind == "af-snapshot":
                import_snapshot(data, path, project=project, report=part)  # type: ignore[arg-type]
            else:
                import_a2a(data, path, project=project, report=part)  # type: ignore[arg-type]
        report.merge(part)
    if progress and files:
        progress("", len(files), len(files))
    return report


__all__ = ["FORMATS", "ImportReport", "Skip", "import_paths"]
