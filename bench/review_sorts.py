"""Server times of the sessions list sorted by comment count and by a score column, beside the
list's indexed default sort measured in the same run (the ceiling), on PostgreSQL.

Builds (once) in its own database a project of 200,000 sessions (`--sessions`), one in ten
with a numeric score `quality` of its own, one in twenty with event scores only (averaged), one
in fifty with comments, with set-based SQL, and their score values as migration 0015 builds
them. Times whole requests in-process (Django's test
client, as bench/pages.py does) interleaved A B A B: the ceiling, then the sort, twice.

    .venv/bin/python bench/review_sorts.py     # DATABASE_URL defaults to .../ss_bench_review
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ss_bench_review")
os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
os.environ.setdefault("STATIC_MANIFEST", "0")
os.environ["ALLOWED_HOSTS"] = "testserver"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from bench.pages import ensure_database, timed

SLUG = "bench-review"


def build(sessions: int) -> None:
    """Sessions, scores and comment counts with INSERT ... SELECT (seconds)."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from sessions_app.models import Membership, Project, ScoreConfig
    from sessions_app.services.score_values import rebuild_sql

    call_command("migrate", verbosity=0)
    user, _ = get_user_model().objects.get_or_create(username="bench")
    if Project.objects.filter(slug=SLUG).exists():
        return
    project = Project.objects.create(slug=SLUG, name="Bench review")
    Membership.objects.create(user=user, project=project, role="admin")
    config = ScoreConfig.objects.create(project=project, name="quality", data_type="numeric")
    started = time.perf_counter()
    with connection.cursor() as c:
        c.execute("SELECT COALESCE(MAX(id), 0) FROM sessions_app_agentsession")
        base = c.fetchone()[0]
        c.execute(
            """
            INSERT INTO sessions_app_agentsession (
                id, project_id, external_id, root_id, path, depth, kind, title, preview,
                agent_name, user_ref, status, archived_from, metadata, state,
                service_session_id, created_at, updated_at, last_event_at, event_count,
                last_seq, prompt_tokens, completion_tokens, total_tokens, cost_usd, error_count,
                children_count, review_status, review_note, duration_seconds, comment_count)
            SELECT %(base)s + i, %(project)s, 'r-' || i, %(base)s + i, '/' || (%(base)s + i) || '/',
                0, 'root', '', 'Question ' || i, CASE WHEN i %% 2 = 0 THEN 'a' ELSE 'b' END,
                '', 'active', '', '{}'::jsonb, '{}'::jsonb, '',
                now() - (i * interval '31 seconds'), now(), now() - (i * interval '31 seconds'),
                10, 10, 0, 0, 0, 0, 0, 0, '', '', 0,
                CASE WHEN i %% 50 = 0 THEN 1 + i %% 7 ELSE 0 END
            FROM generate_series(1::bigint, %(n)s) AS i
            """,
            {"base": base, "project": project.pk, "n": sessions},
        )
        c.execute(
            "SELECT setval(pg_get_serial_sequence('sessions_app_agentsession', 'id'), "
            "(SELECT MAX(id) FROM sessions_app_agentsession))"
        )
        # Own scores on one session in ten; event scores (event_id set, no FK constraint) on
        # one in twenty of the others, two each.
        c.execute(
            """
            INSERT INTO sessions_app_score (
                project_id, session_id, event_id, external_id, body_hash, name, config_id,
                data_type, value_number, value_label, comment, source, author_name, created_at)
            SELECT %(project)s, %(base)s + i, NULL, NULL, '', 'quality', %(config)s, 'numeric',
                (i * 7919) %% 100 / 10.0, '', '', 'api', 'bench', now()
            FROM generate_series(1::bigint, %(n)s) AS i WHERE i %% 10 = 0
            UNION ALL
            SELECT %(project)s, %(base)s + i, k, NULL, '', 'quality', %(config)s, 'numeric',
                (i * k * 31) %% 100 / 10.0, '', '', 'api', 'bench', now()
            FROM generate_series(1::bigint, %(n)s) AS i, generate_series(1, 2) AS k
            WHERE i %% 20 = 5
            """,
            {"base": base, "project": project.pk, "config": config.pk, "n": sessions},
        )
        # The value table the score services keep (the list sorts by it): built as the
        # migration's backfill builds it, since these scores skipped the services.
        c.execute(rebuild_sql("s.project_id = %s"), [project.pk, project.pk])
        c.execute("ANALYZE sessions_app_agentsession")
        c.execute("ANALYZE sessions_app_score")
        c.execute("ANALYZE sessions_app_sessionscore")
    print(f"built {sessions:,} sessions and their scores in {time.perf_counter() - started:.1f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    ensure_database(os.environ["DATABASE_URL"])

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    build(args.sessions)
    client = Client()
    client.force_login(get_user_model().objects.get(username="bench"))
    base = f"/p/{SLUG}/sessions/"
    rows = [
        ("sort -comment_count", "?sort=-comment_count"),
        ("sort comment_count", "?sort=comment_count"),
        ("sort -score:quality", "?sort=-score:quality"),
        ("sort score:quality", "?sort=score:quality"),
        ("agent=a + sort -score:quality", "?agent=a&sort=-score:quality"),
    ]
    first = client.get(f"{base}?sort=-score:quality").content.decode()
    cursor = re.search(r'rel="next" href="[^"]*cursor=([^"&]+)', first).group(1)
    rows.append(("sort -score:quality, page 2", f"?sort=-score:quality&cursor={cursor}"))
    ceiling = ("ceiling: sort -last_event_at (index range scan)", "?sort=-last_event_at")
    print(f"\n{args.sessions:,} sessions; ms per whole request, median (min) of {args.runs}")
    print(f"{'view':48} {'median':>8} {'min':>8} {'db':>8} {'x ceiling':>10}")
    for label, query in rows:
        for _ in range(2):  # A B A B
            top = timed(client, base + ceiling[1], args.runs)
            got = timed(client, base + query, args.runs)
            ratio = got["median"] / top["median"]
            print(f"{ceiling[0]:48} {top['median']:8.1f} {top['min']:8.1f} {top['db']:8.1f}")
            print(
                f"{label:48} {got['median']:8.1f} {got['min']:8.1f} {got['db']:8.1f} {ratio:10.2f}"
            )


if __name__ == "__main__":
    main()
