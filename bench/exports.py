"""Export speed: the three formats of a 20,000-event session, on PostgreSQL.

Builds (once) a session of 20,000 events (or --events N) like the demo's big one (messages,
tool calls with JSON arguments, tool results, usage on every assistant message) with INSERT ...
SELECT and runs ANALYZE (unless --no-analyze: this PostgreSQL runs no autovacuum, so a fresh
database then has no planner statistics), then consumes each export's generator as the
streaming response would and prints events per second beside the target (50,000 events/s, the
20,000 events in under 1 s per format) and beside the ceiling of the same run: a raw
`COPY (SELECT * ...) TO STDOUT` of the session's event rows, the reading any export has to do.
On a shared, loaded machine judge by the ratio to that ceiling; the formats and the ceiling are
timed in turns (A B A B), not one after the other.

With --http the downloads go through the server the README runs (gunicorn -k asgi serving
config.asgi, 2 workers, on --port) as a logged-in viewer would make them: full download time
per format, the time to the first byte, and the workers' peak memory.

    .venv/bin/python bench/exports.py [--events N] [--rounds R] [--http [--port P]] [--no-analyze]
    # DATABASE_URL defaults to .../ss_bench_exports
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
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


def build(events: int = EVENTS):
    """The session of `events` events ("big" for the default size, "big-<N>" for others),
    built once, in one transaction: a build that fails leaves nothing behind, and a session of
    another size (left by an older, non-atomic build) is built again."""
    from django.core.management import call_command
    from django.db import connection, transaction

    from sessions_app.models import AgentSession, Event, Project

    call_command("migrate", verbosity=0)
    project, _ = Project.objects.get_or_create(slug="bench-exports", defaults={"name": "Bench"})
    name = "big" if events == EVENTS else f"big-{events}"
    session = AgentSession.objects.filter(project=project, external_id=name).first()
    if session is not None:
        stored = Event.objects.filter(session=session).count()
        if stored == events and session.event_count == events:
            return session
        print(f"the stored session has {stored:,} events, not {events:,}: building it again")
        with transaction.atomic(), connection.cursor() as c:
            for table in ("sessions_app_tokenusage", "sessions_app_event"):
                c.execute(f"DELETE FROM {table} WHERE session_id = %s", [session.pk])
            session.delete()
    with transaction.atomic():
        # The default size with the default arguments (the build's tests stand in for them).
        return _insert(project) if events == EVENTS else _insert(project, name, events)


def _insert(project, name: str = "big", events: int = EVENTS):
    """The session's rows (set-based INSERT ... SELECT), inside the caller's transaction."""
    from django.db import connection

    from sessions_app.models import AgentSession

    session = AgentSession.objects.create(project=project, external_id=name, title=name)
    with connection.cursor() as c:
        c.execute(
            """
            INSERT INTO sessions_app_event (
                project_id, session_id, run_id, parent_event_id, external_id, seq, timestamp,
                received_at, source, type, role, name, tool_call_id, content, is_error,
                payload, payload_format, body_hash, metadata, span_id, trace_id)
            SELECT %(project)s, %(session)s, NULL, NULL, %(prefix)s || i, i,
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
            {
                "project": project.pk,
                "session": session.pk,
                "n": events,
                # Event ids are unique in a project: the default session's are e-1, e-2, ...
                "prefix": "e-" if name == "big" else f"{name}-e-",
            },
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
    AgentSession.objects.filter(pk=session.pk).update(event_count=events, last_seq=events)
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


def analyze(run: bool) -> str:
    """ANALYZE the tables the exports read (when `run`), and say whether they have statistics."""
    from django.db import connection

    with connection.cursor() as c:
        if run:
            c.execute("ANALYZE sessions_app_event, sessions_app_tokenusage, sessions_app_run")
        c.execute("SELECT count(*) FROM pg_stats WHERE tablename = 'sessions_app_event'")
        return "analyzed" if c.fetchone()[0] else "no statistics (never analyzed)"


def viewer_cookie(session) -> str:
    """A logged-in viewer of the bench project, as the Cookie header of its browser."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from sessions_app.models import Membership

    user, _ = get_user_model().objects.get_or_create(username="bench-exports")
    Membership.objects.get_or_create(
        user=user, project=session.project, defaults={"role": "viewer"}
    )
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def start_server(port: int) -> subprocess.Popen:
    """gunicorn serving config.asgi on its asyncio worker, 2 workers, as the README runs it."""
    env = {
        **os.environ,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        "CELERY_BROKER_URL": "",
        "SESSIONSCOPE_WARM_LLM": "0",
    }
    command = [sys.executable, "-m", "gunicorn", "config.asgi:application", "-k", "asgi"]
    command += ["--bind", f"127.0.0.1:{port}", "--workers", "2", "--log-level", "warning"]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/v1/health")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise RuntimeError("gunicorn did not answer")


def download(port: int, path: str, cookie: str) -> tuple[int, float]:
    """Bytes of one full download and the seconds to its first byte."""
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", path, headers={"Cookie": cookie})
    response = conn.getresponse()
    if response.status != 200:
        raise RuntimeError(f"{path}: {response.status} {response.read()[:200]!r}")
    first = response.read(1)
    first_byte = time.perf_counter() - t0
    size = len(first)
    while data := response.read(1 << 16):
        size += len(data)
    conn.close()
    return size, first_byte


def worker_memory_mb(server: subprocess.Popen, field: str) -> list[float]:
    """A memory figure of each gunicorn worker from /proc (VmRSS now, VmHWM its peak), MB."""
    try:
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    except OSError:
        return []
    peaks = []
    for pid in children:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                peaks.append(int(line.split()[1]) / 1024)
    return peaks


def report(title: str, events: int, rows: dict, sizes: dict, extra: dict | None = None) -> None:
    ceiling = events / statistics.median(rows["COPY ceiling"])
    print(title)
    print(
        f"{'format':13} {'seconds':>8} {'events/s':>10} {'MB':>6} {'of ceiling':>10} "
        f"{'ceiling/s':>10} {'':>10}   target {CEILING:,} events/s"
    )
    for name, spent in rows.items():
        seconds = statistics.median(spent)
        rate = events / seconds
        more = f"{extra[name]:>10}" if extra and name in extra else f"{'':>10}"
        print(
            f"{name:13} {seconds:8.3f} {rate:10,.0f} {sizes[name] / 1e6:6.1f} "
            f"{rate / ceiling:10.0%} {ceiling:10,.0f} {more}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=EVENTS)
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds after a warm-up")
    parser.add_argument("--http", action="store_true", help="download through gunicorn too")
    parser.add_argument("--port", type=int, default=8610)
    parser.add_argument("--no-analyze", action="store_true", help="leave statistics as they are")
    args = parser.parse_args()
    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from sessions_app import exports
    from sessions_app.exports import export_json, export_jsonl, export_markdown

    session = build(args.events)
    events = args.events
    print(
        f"code: {Path(exports.__file__).parent.parent}; statistics: {analyze(not args.no_analyze)}"
    )
    runners = {
        "json": lambda: sum(len(part) for part in export_json(session)),
        "jsonl": lambda: sum(len(part) for part in export_jsonl(session)),
        "md": lambda: sum(len(part) for part in export_markdown(session)),
        "COPY ceiling": lambda: copy_out(session),
    }
    if events <= EVENTS:  # the Python path, for comparison (slow on big sessions)
        runners["json, Python"] = lambda: python_path(export_json, session)
        runners["md, Python"] = lambda: python_path(export_markdown, session)
    times: dict[str, list[float]] = {name: [] for name in runners}
    cpu: dict[str, list[float]] = {name: [] for name in runners}
    sizes: dict[str, int] = {}
    for run in range(args.rounds + 1):  # the first round warms up
        for name, runner in runners.items():
            c0, s0, t0 = time.process_time(), backend_cpu(), time.perf_counter()
            sizes[name] = runner()
            if run:
                times[name].append(time.perf_counter() - t0)
                cpu[name].append(time.process_time() - c0 + backend_cpu() - s0)
    print(f"a session of {events:,} events; median of {args.rounds} rounds after 1 warm-up")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    cpu_column = {name: f"{statistics.median(spent):.3f} CPU s" for name, spent in cpu.items()}
    report("in process", events, times, sizes, cpu_column)
    print("CPU s: this process and its database backend together (less sensitive to the load)")
    if args.http:
        http_bench(session, args)


def http_bench(session, args) -> None:
    """The three downloads over HTTP, in turns with the COPY ceiling."""
    from django.db import close_old_connections
    from django.urls import reverse

    cookie = viewer_cookie(session)
    close_old_connections()
    server = start_server(args.port)
    started = worker_memory_mb(server, "VmRSS")
    try:
        paths = {
            fmt: reverse("dashboard:session_export", args=[session.project.slug, session.pk, fmt])
            for fmt in ("json", "jsonl", "md")
        }
        times: dict[str, list[float]] = {name: [] for name in [*paths, "COPY ceiling"]}
        first: dict[str, list[float]] = {name: [] for name in paths}
        sizes: dict[str, int] = {}
        for run in range(args.rounds + 1):
            for name in times:
                t0 = time.perf_counter()
                if name == "COPY ceiling":
                    sizes[name] = copy_out(session)
                else:
                    sizes[name], first_byte = download(args.port, paths[name], cookie)
                if run:
                    times[name].append(time.perf_counter() - t0)
                    if name in first:
                        first[name].append(first_byte)
        first_column = {n: f"{statistics.median(f) * 1000:.0f} ms 1st" for n, f in first.items()}
        report(
            f"over HTTP (gunicorn -k asgi, 2 workers, port {args.port})",
            args.events,
            times,
            sizes,
            first_column,
        )
        peaks = worker_memory_mb(server, "VmHWM")
        growth = ", ".join(f"{p - s:.1f}" for p, s in zip(peaks, started, strict=False))
        print(
            f"workers' peak memory (VmHWM): {', '.join(f'{mb:.1f}' for mb in peaks)} MB, "
            f"{growth} MB above their size once started"
        )
    finally:
        server.terminate()
        server.wait(timeout=15)


if __name__ == "__main__":
    main()
