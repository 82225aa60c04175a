"""Export speed: the three formats of a 20,000-event session, on PostgreSQL.

Builds (once) a session of 20,000 events like the demo's big one (messages, tool calls with JSON
arguments, tool results, usage on every assistant message) with INSERT ... SELECT, then consumes
each export's generator as the streaming response would and prints events per second beside the
target (50,000 events/s, the 20,000 events in under 1 s per format) and beside the ceiling of
the same run: a raw `COPY (SELECT * ...) TO STDOUT` of the session's event rows, the reading any
export has to do. On a shared, loaded machine judge by the ratio to that ceiling; the formats
and the ceiling are timed in turns (A B A B), not one after the other.

    .venv/bin/python bench/exports.py   # DATABASE_URL defaults to .../ss_bench_exports
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ss_bench_exports")
os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

EVENTS = 20_000
CEILING = 50_000  # events per second


def ensure_database(url: str) -> None:
    """Create the bench database if it does not exist (connecting to `postgres`)."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def build():
    """The session, built once, in one transaction: a build that fails leaves nothing behind,
    and a session of another size (left by an older, non-atomic build) is built again."""
    from django.core.management import call_command
    from django.db import connection, transaction

    from sessions_app.models import AgentSession, Event, Project

    call_command("migrate", verbosity=0)
    project, _ = Project.objects.get_or_create(slug="bench-exports", defaults={"name": "Bench"})
    session = AgentSession.objects.filter(project=project, external_id="big").first()
    if session is not None:
        stored = Event.objects.filter(session=session).count()
        if stored == EVENTS and session.event_count == EVENTS:
            return session
        print(f"the stored session has {stored:,} events, not {EVENTS:,}: building it again")
        with transaction.atomic(), connection.cursor() as c:
            for table in ("sessions_app_tokenusage", "sessions_app_event"):
                c.execute(f"DELETE FROM {table} WHERE session_id = %s", [session.pk])
            session.delete()
    with transaction.atomic():
        return _insert(project)


def _insert(project):
    """The session's rows (set-based INSERT ... SELECT), inside the caller's transaction."""
    from django.db import connection

    from sessions_app.models import AgentSession

    session = AgentSession.objects.create(project=project, external_id="big", title="big")
    with connection.cursor() as c:
        c.execute(
            """
            INSERT INTO sessions_app_event (
                project_id, session_id, run_id, parent_event_id, external_id, seq, timestamp,
                received_at, source, type, role, name, tool_call_id, content, is_error,
                payload, payload_format, body_hash, metadata, span_id, trace_id)
            SELECT %(project)s, %(session)s, NULL, NULL, 'e-' || i, i,
                now() - ((%(n)s - i) * interval '2 seconds'), now(),
                (ARRAY['user','llm','llm','tool'])[1 + i %% 4],
                (ARRAY['message','message','tool_call','tool_result'])[1 + i %% 4],
                (ARRAY['user','assistant','','tool'])[1 + i %% 4],
                CASE WHEN i %% 4 IN (2, 3) THEN 'search_orders' ELSE '' END,
                CASE WHEN i %% 4 IN (2, 3) THEN 'call-' || (i / 4) ELSE '' END,
                CASE i %% 4
                    WHEN 0 THEN 'Where is order ' || i || '? It was due on Monday and the '
                        || 'tracking page has not changed since Friday.'
                    WHEN 1 THEN 'Let me look that order up for you.'
                    WHEN 2 THEN '{"order_id": "' || i || '", "include": ["tracking"]}'
                    ELSE '{"status": "in_transit", "carrier": "DHL", "eta": "2026-03-04", '
                        || '"events": [{"at": "2026-03-01T09:00:00Z", "where": "Leipzig"}]}'
                END,
                i %% 97 = 0,
                jsonb_build_object('role', 'user', 'content', 'Where is order ' || i),
                'native', '', jsonb_build_object('channel', 'web', 'turn', i / 4), '', ''
            FROM generate_series(1::bigint, %(n)s) AS i
            """,
            {"project": project.pk, "session": session.pk, "n": EVENTS},
        )
        c.execute(
            """
            INSERT INTO sessions_app_tokenusage (
                project_id, session_id, run_id, event_id, model, prompt_tokens,
                completion_tokens, total_tokens, cached_tokens, reasoning_tokens, cost_usd,
                input_cost_per_token, output_cost_per_token, cached_cost_per_token, cost_source,
                tokens_estimated,
                timestamp)
            SELECT e.project_id, e.session_id, NULL, e.id, 'gpt-4o-mini', 900, 120, 1020, 0, 0,
                0.000207, 0.00000015, 0.0000006, NULL, 'computed', false, e.timestamp
            FROM sessions_app_event e
            WHERE e.session_id = %(session)s AND e.role = 'assistant'
            """,
            {"session": session.pk},
        )
    AgentSession.objects.filter(pk=session.pk).update(event_count=EVENTS, last_seq=EVENTS)
    session.refresh_from_db()
    return session


def copy_out(session) -> int:
    """Bytes of a raw COPY of the session's event rows to the client (the ceiling)."""
    from django.db import connection

    size = 0
    with connection.cursor() as c:
        query = "COPY (SELECT * FROM sessions_app_event WHERE session_id = {} ORDER BY seq)"
        with c.cursor.copy(query.format(int(session.pk)) + " TO STDOUT") as copy:
            for data in copy:
                size += len(data)
    return size


def backend_cpu() -> float:
    """CPU seconds the database's backend process for this connection has used (Linux /proc,
    the database on this machine)."""
    from django.db import connection

    with connection.cursor() as c:
        c.execute("SELECT pg_backend_pid()")
        pid = c.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def python_path(export, session) -> int:
    """Bytes of an export written by the Python path (SQLite's), for a before/after in the same
    run: PostgreSQL writes each event's text otherwise."""
    from unittest import mock

    with mock.patch("sessions_app.exports.can_write_event_json", return_value=False):
        return sum(len(part) for part in export(session))


def main() -> None:
    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from sessions_app.exports import export_json, export_jsonl, export_markdown

    session = build()
    runners = {
        "json": lambda: sum(len(part) for part in export_json(session)),
        "jsonl": lambda: sum(len(part) for part in export_jsonl(session)),
        "md": lambda: sum(len(part) for part in export_markdown(session)),
        "json, Python": lambda: python_path(export_json, session),
        "md, Python": lambda: python_path(export_markdown, session),
        "COPY ceiling": lambda: copy_out(session),
    }
    times: dict[str, list[float]] = {name: [] for name in runners}
    cpu: dict[str, list[float]] = {name: [] for name in runners}
    sizes: dict[str, int] = {}
    for run in range(6):  # the first round warms up
        for name, runner in runners.items():
            c0, s0, t0 = time.process_time(), backend_cpu(), time.perf_counter()
            sizes[name] = runner()
            if run:
                times[name].append(time.perf_counter() - t0)
                cpu[name].append(time.process_time() - c0 + backend_cpu() - s0)
    print(f"a session of {session.event_count:,} events; median of 5 rounds after 1 warm-up")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    ceiling = EVENTS / statistics.median(times["COPY ceiling"])
    print(
        f"{'format':13} {'seconds':>8} {'events/s':>10} {'MB':>6} {'of ceiling':>10} "
        f"{'CPU s':>6}   target {CEILING:,} events/s"
    )
    for name, spent in times.items():
        seconds = statistics.median(spent)
        rate = EVENTS / seconds
        print(
            f"{name:13} {seconds:8.3f} {rate:10,.0f} {sizes[name] / 1e6:6.1f} "
            f"{rate / ceiling:10.0%} {statistics.median(cpu[name]):6.3f}"
        )
    print("CPU s: this process and its database backend together (less sensitive to the load)")


if __name__ == "__main__":
    main()
