"""The costs page's drill-down at scale: the sessions list with `spent_from`/`spent_to` (the
sessions that used tokens in a range, and each one's cost within it) on PostgreSQL.

    .venv/bin/python bench/costs_drilldown.py                    # builds ss_bench_drilldown once
    .venv/bin/python bench/costs_drilldown.py --sessions 50000   # smaller (rebuilt if it differs)

250,000 sessions over the last 120 days, 12 usage rows each (3,000,000); one session in ten
spends over 2 to 7 days, the others within 2 hours, so a day's list holds sessions last active
days later. Only the sessions and usage tables are filled (the list reads no events); the
usage rows are written session by session, not in time order as ingest writes them, so a day's
rows are scattered over the table: a pessimistic layout for reading a range of them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DB_NAME = "ss_bench_drilldown"
SERVER = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
os.environ["DATABASE_URL"] = f"{SERVER}/{DB_NAME}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only")

PER_SESSION = 12
DAYS = 120


def out(message: str) -> None:
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


def ensure_database(*, fresh: bool) -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def present(sessions: int) -> bool:
    import psycopg

    try:
        with psycopg.connect(f"{SERVER}/{DB_NAME}") as conn:
            row = conn.execute("SELECT count(*) FROM sessions_app_agentsession").fetchone()
    except psycopg.Error:
        return False
    return bool(row and row[0] == sessions)


def build(sessions: int) -> Any:
    from django.db import connection, transaction

    from sessions_app.models import AgentSession, Project, TokenUsage

    out(f"building {sessions:,} sessions, {sessions * PER_SESSION:,} usage rows in {DB_NAME} …")
    started = time.perf_counter()
    project = Project.objects.create(name="Bench", slug="bench")
    usage = TokenUsage._meta.db_table
    params = {"p": project.pk, "per": PER_SESSION}
    with connection.cursor() as cur:
        cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s"
            " AND indexname LIKE 'usage_%%'",
            [usage],
        )
        deferred = cur.fetchall()
        for name, _ in deferred:
            cur.execute(f'DROP INDEX "{name}"')
        # Rows consistent by construction; usage rows have no events (superuser only).
        cur.execute("SET session_replication_role = replica")
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            f"""
            INSERT INTO {AgentSession._meta.db_table} (id, project_id, external_id, parent_id,
              root_id, path, depth, kind, title, preview, agent_name, user_ref, status,
              archived_from, metadata, state, service_session_id, continued_in_id, created_at,
              updated_at, last_event_at, event_count, last_seq, prompt_tokens,
              completion_tokens, total_tokens, cost_usd, error_count, children_count,
              duration_seconds, comment_count, review_status, review_note, reviewed_by_id,
              reviewed_at)
            SELECT i, %(p)s, 'b-' || i, NULL, i, '/' || i || '/', 0, 'root', '', '',
              'agent-' || (i %% 25), 'user-' || (i %% 5000), 'completed', '', '{{}}', '{{}}', '',
              NULL, t, t, t + span, %(per)s, %(per)s, 0, 0, 0, 0, 0, 0,
              extract(epoch FROM span)::bigint, 0, '', '', NULL, NULL
            FROM (SELECT i, date_trunc('day', now()) - (i %% {DAYS}) * interval '1 day'
                     + (i %% 1200) * interval '1 minute' AS t,
                   CASE WHEN i %% 10 = 0 THEN (1 + i %% 7) * interval '1 day'
                        ELSE interval '2 hours' END AS span
                  FROM generate_series(1, {sessions}) i) s
            """,
            params,
        )
        # The session's rows spread evenly from its start to its last activity; 12 models, the
        # last without a price.
        cur.execute(
            f"""
            INSERT INTO {usage} (id, project_id, session_id, run_id, event_id, timestamp, model,
              prompt_tokens, completion_tokens, total_tokens, cached_tokens, reasoning_tokens,
              cost_usd, input_cost_per_token, output_cost_per_token, cached_cost_per_token,
              cost_source, tokens_estimated)
            SELECT n, %(p)s, s.id, NULL, n,
              s.created_at + (s.last_event_at - s.created_at) * g.k / (%(per)s - 1),
              'model-' || g.m, 300, 60, 360, 0, 0,
              CASE WHEN g.m = 11 THEN 0 ELSE 0.0001 * (1 + g.m) END, NULL, NULL, NULL,
              CASE WHEN g.m = 11 THEN 'unknown' ELSE 'computed' END, false
            FROM (SELECT n, (n - 1) / %(per)s + 1 AS sid, (n - 1) %% %(per)s AS k,
                    (((n - 1) / %(per)s + 1) + ((n - 1) %% %(per)s) %% 3) %% 12 AS m
                  FROM generate_series(1, {sessions * PER_SESSION}) n) g
            JOIN {AgentSession._meta.db_table} s ON s.id = g.sid
            """,
            params,
        )
        cur.execute(
            f"""
            UPDATE {AgentSession._meta.db_table} s SET total_tokens = a.t, cost_usd = a.c
            FROM (SELECT session_id, sum(total_tokens) t, sum(cost_usd) c FROM {usage}
                  GROUP BY session_id) a
            WHERE a.session_id = s.id
            """
        )
    with connection.cursor() as cur:
        cur.execute("SET session_replication_role = origin")
        for _, definition in deferred:
            cur.execute(definition)
        for table in (AgentSession._meta.db_table, usage):
            cur.execute(f"VACUUM ANALYZE {table}")
    out(f"built in {time.perf_counter() - started:.0f} s")
    return project


def measure(project: Any, runs: int) -> None:
    from sessions_app.selectors import session_list as sl

    today = datetime.now(UTC).date()

    def days(ago: int, n: int = 1, **more: str) -> sl.SessionFilters:
        start = today - timedelta(days=ago)
        return sl.SessionFilters(
            status="all", spent_from=start, spent_to=start + timedelta(days=n - 1), **more
        )

    cases = {
        "a day 3 days back": days(3),
        "a day 60 days back": days(60),
        "a day 60 days back, one model": days(60, model="model-1"),
        "a day 42 days back, one end user": days(42, user="user-42"),
        "2 days, 60 days back": days(61, 2),
        "3 days, 60 days back": days(62, 3),
        "the last 30 days": days(29, 30),
        "the last 90 days": days(89, 90),
        "the last 30 days, sorted by cost": days(29, 30, sort="-cost_usd"),
        "30 days ending 60 days back": days(89, 30),
    }
    out(f"\n{'spent range':<36} {'page of 50':>12} {'count':>10} {'Spent':>8}   matches")
    for label, f in cases.items():
        qs = sl.sessions_filtered(project, f)
        column = f.sort.lstrip("-")
        samples = []
        for _ in range(runs):
            t0 = time.perf_counter()
            page = list(qs.order_by(f"-{column}", "-id")[:51])
            t1 = time.perf_counter()
            total = qs.order_by().values("pk")[: sl.COUNT_CAP + 1].count()
            t2 = time.perf_counter()
            sl._attach_spent(page, f)
            t3 = time.perf_counter()
            samples.append(((t1 - t0) * 1000, (t2 - t1) * 1000, (t3 - t2) * 1000))
        # The first run warms the cache, as a running server has it.
        page_ms, count_ms, spent_ms = (
            statistics.median(s[i] for s in samples[1:]) for i in range(3)
        )
        matches = f"{total:,}" if total <= sl.COUNT_CAP else f"> {sl.COUNT_CAP:,}"
        out(
            f"{label:<36} {page_ms:9.1f} ms {count_ms:7.1f} ms {spent_ms:5.1f} ms   {matches}"
            f"   (medians of {runs - 1})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sessions", type=int, default=250_000)
    parser.add_argument("--runs", type=int, default=8)
    args = parser.parse_args()
    reuse = present(args.sessions)
    ensure_database(fresh=not reuse)
    import django
    from django.core.management import call_command

    django.setup()
    from sessions_app.models import Project

    if reuse:
        out(f"data set present: {args.sessions:,} sessions in {DB_NAME}")
        project = Project.objects.get(slug="bench")
    else:
        call_command("migrate", verbosity=0)
        project = build(args.sessions)
    measure(project, args.runs)


if __name__ == "__main__":
    main()
