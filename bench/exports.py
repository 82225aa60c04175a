"""Export speed: the three formats of a 20,000-event session, on PostgreSQL.

Builds (once) a session of 20,000 events like the demo's big one (messages, tool calls with JSON
arguments, tool results, usage on every assistant message) with INSERT ... SELECT, then consumes
each export's generator as the streaming response would and prints events per second beside the
ceiling (50,000 events/s, the 20,000 events in under 1 s per format).

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
    """The session, built once."""
    from django.core.management import call_command
    from django.db import connection

    from sessions_app.models import AgentSession, Project

    call_command("migrate", verbosity=0)
    project, _ = Project.objects.get_or_create(slug="bench-exports", defaults={"name": "Bench"})
    session = AgentSession.objects.filter(project=project, external_id="big").first()
    if session is not None:
        return session
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


def main() -> None:
    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from sessions_app.exports import export_json, export_jsonl, export_markdown

    session = build()
    print(f"a session of {session.event_count:,} events; median of 5 runs after 1 warm-up")
    print(f"{'format':10} {'seconds':>8} {'events/s':>10} {'MB':>6}   ceiling {CEILING:,} events/s")
    for name, export in (("json", export_json), ("jsonl", export_jsonl), ("md", export_markdown)):
        sum(len(part) for part in export(session))
        times, size = [], 0
        for _ in range(5):
            t0 = time.perf_counter()
            size = sum(len(part) for part in export(session))
            times.append(time.perf_counter() - t0)
        seconds = statistics.median(times)
        print(f"{name:10} {seconds:8.3f} {EVENTS / seconds:10,.0f} {size / 1e6:6.1f}")


if __name__ == "__main__":
    main()
