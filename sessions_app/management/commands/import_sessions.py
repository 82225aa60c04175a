"""Import agent frameworks' session files: Agents SDK SQLite, Agent Framework JSON/JSONL, a2a.

    manage.py import_sessions --project demo agent_sessions.db af_history/ a2a_sessions/

Importing the same files again changes nothing (every event has a deterministic id). A progress
bar goes to stderr; a summary of what was imported and skipped (with reasons) to stdout.
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sessions_app.importers import FORMATS, import_paths
from sessions_app.models import Project

BAR = 30


class Command(BaseCommand):
    help = "Import sessions from OpenAI Agents SDK, Agent Framework and a2a session files."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path, help="Files or folders to import.")
        parser.add_argument("--project", required=True, help="Slug of the project to import into.")
        parser.add_argument(
            "--format", choices=FORMATS, default="auto", help="Force a format (default: detect)."
        )
        parser.add_argument(
            "--model",
            default="",
            help="Model name for Agents SDK turn usage (the SDK does not record it).",
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def _progress(self, name: str, done: int, total: int) -> None:
        filled = BAR * done // max(total, 1)
        bar = "#" * filled + "." * (BAR - filled)
        sys.stderr.write(f"\r[{bar}] {done}/{total} {name[:40]:<40}")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    def handle(self, *args: object, **options: object) -> None:
        try:
            project = Project.objects.get(slug=options["project"])
        except Project.DoesNotExist as exc:
            raise CommandError(f"No project with slug {options['project']!r}.") from exc
        report = import_paths(
            options["paths"],  # type: ignore[arg-type]
            project=project,
            fmt=str(options["format"]),
            model=str(options["model"]),
            progress=None if options["no_progress"] else self._progress,
        )
        out = self.stdout
        out.write(
            f"Sessions: {report.sessions_created} created, {report.sessions_updated} updated, "
            f"{report.sessions_unchanged} unchanged."
        )
        out.write(
            f"Events: {report.events_created} imported, "
            f"{report.events_duplicate} already there. Runs: {report.runs_created} created."
        )
        out.write(f"Skipped: {len(report.skipped)}")
        for skip in report.skipped:
            out.write(f"  {skip.where}: {skip.reason}")
