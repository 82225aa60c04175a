"""Cost rollups at scale: build 10,000,000 token usage rows on PostgreSQL and time a 90-day
by-model rollup with the DailyUsage aggregate (what the costs page and /api/v1/usage do) and
without it (grouping the usage rows themselves).

    .venv/bin/python bench/costs.py               # builds ss_bench_costs once, then measures
    .venv/bin/python bench/costs.py --rows 500000 # a smaller data set (rebuilt if it differs)

The data set mirrors ingest: every usage row has its event (the schema's one-to-one), sessions
carry their rollups, and DailyUsage holds exactly what ingest would have accumulated (built
here with one GROUP BY instead of 10M upserts). 100 usage rows per session, sessions spread
over the last 365 days, 25 agents, 5,000 end users (about 270 a day), 3 of 12 models per
session, and a cost source per agent and model (reported, computed, unknown).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DB_NAME = "ss_bench_costs"
SERVER = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
os.environ["DATABASE_URL"] = f"{SERVER}/{DB_NAME}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only")

PER_SESSION = 100
CHUNK_SESSIONS = 10_000  # 1M events and usage rows per transaction
MODELS = [f"bench-model-{i:02d}" for i in range(12)]


def ensure_database(*, fresh: bool = False) -> None:
    """Create the benchmark's database; `fresh` drops it first (a clean schema to load into)."""
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def present(rows: int) -> bool:
    """Whether the database already holds the complete data set of this size."""
    import psycopg

    try:
        with psycopg.connect(f"{SERVER}/{DB_NAME}") as conn:
            row = conn.execute(
                "SELECT count(*) FROM sessions_app_tokenusage u JOIN sessions_app_project p"
                " ON p.id = u.project_id WHERE p.slug = 'bench'"
            ).fetchone()
            done = conn.execute("SELECT count(*) FROM sessions_app_dailyusage").fetchone()
    except psycopg.Error:
        return False
    return bool(row and row[0] == rows and done and done[0])


def out(message: str) -> None:
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


def build(rows: int) -> Any:
    """(Re)build the data set; returns the bench project."""
    from django.db import connection, transaction

    from sessions_app.models import AgentSession, DailyUsage, Event, Project, TokenUsage

    sessions = rows // PER_SESSION
    out(f"building {rows:,} usage rows ({sessions:,} sessions) in {DB_NAME} …")
    project = Project.objects.create(name="Bench", slug="bench")
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    params = {"p": project.pk, "today": today, "models": MODELS, "per": PER_SESSION}
    started = time.perf_counter()
    tables = [m._meta.db_table for m in (AgentSession, Event, TokenUsage)]
    with connection.cursor() as cur:
        # A bulk load: secondary indexes are rebuilt once at the end (far faster than 10M
        # insertions into each), and foreign-key triggers are off because the rows are built
        # consistent by construction (superuser only; this database is the benchmark's own).
        cur.execute(
            """
            SELECT indexname, indexdef FROM pg_indexes i
            WHERE tablename = ANY(%s) AND NOT EXISTS (
              SELECT 1 FROM pg_constraint c
              WHERE c.conindid
                = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)
            """,
            [tables],
        )
        deferred_indexes = cur.fetchall()
        for name, _ in deferred_indexes:
            cur.execute(f'DROP INDEX "{name}"')
        cur.execute("SET session_replication_role = replica")
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            f"""
            INSERT INTO {AgentSession._meta.db_table} (id, project_id, external_id, parent_id,
              root_id, path, depth, kind, title, preview, agent_name, user_ref, status, metadata,
              state, service_session_id, continued_in_id, created_at, updated_at, last_event_at,
              event_count, last_seq, prompt_tokens, completion_tokens, total_tokens, cost_usd,
              error_count, children_count, review_status, review_note, reviewed_by_id,
              reviewed_at)
            SELECT i, %(p)s, 'bench-' || i, NULL, i, '/' || i || '/', 0, 'root', '', '',
              'agent-' || (i %% 25), 'user-' || (i %% 5000), 'completed', '{{}}', '{{}}', '',
              NULL, t, t, t + interval '100 minutes', %(per)s, %(per)s, 0, 0, 0, 0, 0, 0, '', '',
              NULL, NULL
            FROM (SELECT i, %(today)s::timestamptz - (i %% 365) * interval '1 day'
                    + (i %% 1200) * interval '1 minute' AS t
                  FROM generate_series(1, {sessions}) i) s
            """,
            params,
        )
    out(f"  sessions: {time.perf_counter() - started:.1f} s")
    for first in range(1, sessions + 1, CHUNK_SESSIONS):
        last = min(first + CHUNK_SESSIONS - 1, sessions)
        lo, hi = (first - 1) * PER_SESSION + 1, last * PER_SESSION
        t0 = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(
                f"""
                INSERT INTO {Event._meta.db_table} (id, project_id, session_id, run_id,
                  parent_event_id, external_id, seq, timestamp, received_at, source, type, role,
                  name, tool_call_id, content, is_error, payload, payload_format, body_hash,
                  metadata)
                SELECT n, %(p)s, s.id, NULL, NULL, 'e' || n, k,
                  s.created_at + k * interval '1 minute', s.created_at + k * interval '1 minute',
                  'llm', 'message', 'assistant', '', '', '', false, NULL, 'native', '', '{{}}'
                FROM (SELECT n, (n - 1) / %(per)s + 1 AS sid, (n - 1) %% %(per)s + 1 AS k
                      FROM generate_series({lo}, {hi}) n) g
                JOIN {AgentSession._meta.db_table} s ON s.id = g.sid
                """,
                params,
            )
            # Prices rise with the model's index. As in real fleets, where a cost comes from is
            # a property of the agent and the model, not of the row: two of the 25 agents report
            # their costs, and the last model (self-hosted) has no known price.
            cur.execute(
                f"""
                INSERT INTO {TokenUsage._meta.db_table} (id, project_id, session_id, run_id,
                  event_id, timestamp, model, prompt_tokens, completion_tokens, total_tokens,
                  cached_tokens, reasoning_tokens, cost_usd, input_cost_per_token,
                  output_cost_per_token, cached_cost_per_token, cost_source, tokens_estimated)
                SELECT e.id, %(p)s, e.session_id, NULL, e.id, e.timestamp,
                  (%(models)s::text[])[m + 1], pt, ct, pt + ct, 0, 0,
                  CASE WHEN m = 11 THEN 0
                       ELSE round(
                         (pt * (m + 1) * 0.0000001 + ct * (m + 1) * 0.0000004)::numeric, 10)
                  END,
                  CASE WHEN m = 11 THEN NULL ELSE (m + 1) * 0.0000001 END,
                  CASE WHEN m = 11 THEN NULL ELSE (m + 1) * 0.0000004 END,
                  NULL,
                  CASE WHEN m = 11 THEN 'unknown'
                       WHEN e.session_id %% 25 < 2 THEN 'reported' ELSE 'computed' END,
                  false
                FROM (SELECT id, session_id, timestamp, seq,
                        ((session_id + seq %% 3) %% 12)::int AS m,
                        200 + (id * 7919) %% 3000 AS pt, 50 + id %% 500 AS ct
                      FROM {Event._meta.db_table} WHERE id BETWEEN {lo} AND {hi}) e
                """,
                params,
            )
        out(f"  usage rows {lo:,} to {hi:,}: {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            f"""
            INSERT INTO {DailyUsage._meta.db_table} (project_id, day, model, agent_name, user_ref,
              cost_source, events, prompt_tokens, completion_tokens, total_tokens, cached_tokens,
              reasoning_tokens, cost_usd)
            SELECT u.project_id, (u.timestamp AT TIME ZONE 'UTC')::date, u.model, s.agent_name,
              s.user_ref, u.cost_source, count(*), sum(u.prompt_tokens), sum(u.completion_tokens),
              sum(u.total_tokens), sum(u.cached_tokens), sum(u.reasoning_tokens), sum(u.cost_usd)
            FROM {TokenUsage._meta.db_table} u
            JOIN {AgentSession._meta.db_table} s ON s.id = u.session_id
            WHERE u.project_id = %(p)s
            GROUP BY 1, 2, 3, 4, 5, 6
            """,
            params,
        )
        cur.execute(
            f"""
            UPDATE {AgentSession._meta.db_table} s SET prompt_tokens = a.p,
              completion_tokens = a.c, total_tokens = a.t, cost_usd = a.cost
            FROM (SELECT session_id, sum(prompt_tokens) p, sum(completion_tokens) c,
                    sum(total_tokens) t, sum(cost_usd) cost
                  FROM {TokenUsage._meta.db_table} GROUP BY session_id) a
            WHERE a.session_id = s.id
            """
        )
        for model in (AgentSession, Event, TokenUsage):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{model._meta.db_table}', 'id'), "
                f"(SELECT max(id) FROM {model._meta.db_table}))"
            )
    out(f"  daily aggregate and session rollups: {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("SET session_replication_role = origin")
        for _, definition in deferred_indexes:
            cur.execute(definition)
    out(f"  {len(deferred_indexes)} secondary indexes rebuilt: {time.perf_counter() - t0:.1f} s")
    with connection.cursor() as cur:
        for model in (AgentSession, Event, TokenUsage, DailyUsage):
            cur.execute(f"VACUUM ANALYZE {model._meta.db_table}")
    out(f"built in {time.perf_counter() - started:.0f} s")
    return project


def timed(fn: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return times, result


def report(label: str, times: list[float]) -> None:
    out(
        f"{label:<52} median {statistics.median(times):9.1f} ms   "
        f"min {min(times):9.1f}   max {max(times):9.1f}   ({len(times)} runs)"
    )


def measure(project: Any, runs: int) -> None:
    from django.db.models import Count, Sum

    from sessions_app.models import DailyUsage, TokenUsage
    from sessions_app.selectors import costs as analytics

    end = datetime.now(UTC).date()
    f = analytics.UsageFilter(project=project, start=end - timedelta(days=89), end=end)
    in_range = TokenUsage.objects.filter(
        project=project, timestamp__gte=f.start_at, timestamp__lt=f.end_before
    )
    out(
        f"\n90-day range {f.start} … {f.end}: {in_range.count():,} usage rows, "
        f"{DailyUsage.objects.filter(project=project, day__gte=f.start).count():,} aggregate rows"
    )

    def with_aggregate() -> list[dict[str, Any]]:
        return analytics.usage_rollup(f, group_by=("model",))

    def without_aggregate() -> list[dict[str, Any]]:
        return list(
            in_range.values("model")
            .annotate(
                events=Count("id"),
                prompt_tokens=Sum("prompt_tokens"),
                completion_tokens=Sum("completion_tokens"),
                total_tokens=Sum("total_tokens"),
                cost_usd=Sum("cost_usd"),
            )
            .order_by("-cost_usd")
        )

    with_aggregate()  # warm the connection and the cache, as a running server has them
    times_with, fast = timed(with_aggregate, runs)
    report("by-model rollup WITH the DailyUsage aggregate", times_with)
    times_without, slow = timed(without_aggregate, max(3, runs // 3))
    report("by-model rollup WITHOUT it (TokenUsage GROUP BY)", times_without)
    same = {r["model"]: (r["cost_usd"], r["events"]) for r in fast} == {
        r["model"]: (r["cost_usd"], r["events"]) for r in slow
    }
    out(f"both give the same {len(fast)} rows: {same}")

    def whole_page() -> None:
        # Every selector the costs page calls for this range.
        analytics.usage_by_source(f)
        for group in ("model", "agent", "user"):
            analytics.usage_rollup(f, group_by=(group,), limit=50)
        for groups in (("day",), ("day", "model")):
            analytics.usage_rollup(f, group_by=groups)
        analytics.usage_rollup(f, group_by=("day", "agent"), order="day")
        analytics.top_sessions(f)
        analytics.top_trees(f)
        analytics.cost_distribution(f)

    times_page, _ = timed(whole_page, max(3, runs // 3))
    report("all of the costs page's 90-day selectors", times_page)
    hours = analytics.UsageFilter(project=project, start=end - timedelta(days=1), end=end)
    times_hourly, _ = timed(lambda: analytics.usage_hourly(hours), runs)
    report("2-day hourly breakdown (TokenUsage by index)", times_hourly)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    if args.rows % PER_SESSION:
        parser.error(f"--rows must be a multiple of {PER_SESSION}")
    reuse = present(args.rows)
    ensure_database(fresh=not reuse)
    import django
    from django.core.management import call_command

    django.setup()
    from sessions_app.models import Project

    if reuse:
        out(f"data set present: {args.rows:,} usage rows in {DB_NAME}")
        project = Project.objects.get(slug="bench")
    else:
        call_command("migrate", verbosity=0)
        project = build(args.rows)
    measure(project, args.runs)


if __name__ == "__main__":
    main()
