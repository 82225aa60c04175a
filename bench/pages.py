"""Server times of the dashboard's sessions list and transcript on PostgreSQL.

Builds (once) in its own database a project of 1,000,000 sessions, plus two sessions of 100 and
100,000 events with 2 KB payloads, using INSERT ... SELECT generate_series. Then it times the
views in-process: `time.perf_counter()` around Django's test client `get()`, which runs the
whole stack (middleware, auth, access check, queries, template rendering) without a network
socket. Each figure is the median, 95th percentile and minimum of 30 requests after 3 warm-ups,
and the median time spent in the database (summed over the request's queries): on a shared,
loaded machine the minimum and the database time are the stable figures.

    .venv/bin/python bench/pages.py            # DATABASE_URL defaults to .../ss_bench_pages
    .venv/bin/python bench/pages.py --rebuild  # drop and rebuild the data set
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ss_bench_pages")
os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
os.environ.setdefault("STATIC_MANIFEST", "0")
os.environ["ALLOWED_HOSTS"] = "testserver"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

SESSIONS = 1_000_000
SEARCH_CEILING_MS = 200
SLUG = "bench"
AGENTS = ["support-bot", "research-agent", "code-assistant", "travel-planner", "local-analyst"]


def ensure_database(url: str) -> None:
    """Create the bench database if it does not exist (connecting to `postgres`)."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


TREE_CHILDREN = 3000
# The data set's long transcripts, by their number of events.
TRANSCRIPTS = (100, 100_000)


def build_tree(project) -> None:
    """A tree of 9,001 sessions: a root, 3,000 children, each with 2 grandchildren (in one
    transaction; a tree left incomplete by an older build is built again)."""
    from django.db import connection, transaction

    from sessions_app.models import AgentSession

    root = AgentSession.objects.filter(project=project, external_id="tree-root").first()
    if root is not None:
        if AgentSession.objects.filter(root_id=root.pk).count() == 1 + 3 * TREE_CHILDREN:
            return
        print("the stored tree is incomplete (a failed build): building it again")
        with connection.cursor() as c:
            c.execute("DELETE FROM sessions_app_agentsession WHERE root_id = %s", [root.pk])
    with transaction.atomic():
        _insert_tree(project)


def _insert_tree(project) -> None:
    """The tree's rows, inside the caller's transaction."""
    from django.db import connection

    from sessions_app.models import AgentSession

    started = time.perf_counter()
    root = AgentSession.objects.create(
        project=project,
        external_id="tree-root",
        title="A tree of 9,001 sessions",
        agent_name="planner",
        event_count=10,
        total_tokens=1000,
        children_count=TREE_CHILDREN,
    )
    AgentSession.objects.filter(pk=root.pk).update(root_id=root.pk, path=f"/{root.pk}/")
    columns = """project_id, external_id, parent_id, root_id, path, depth, kind, title, preview,
        agent_name, user_ref, status, metadata, state, service_session_id, created_at, updated_at,
        last_event_at, event_count, last_seq, prompt_tokens, completion_tokens, total_tokens,
        cost_usd, error_count, children_count, review_status, review_note, duration_seconds"""
    with connection.cursor() as c:
        c.execute("SELECT COALESCE(MAX(id), 0) FROM sessions_app_agentsession")
        base = c.fetchone()[0]
        # Children get ids base+1..base+N, grandchildren base+N+1..base+3N.
        c.execute(
            f"""
            INSERT INTO sessions_app_agentsession (id, {columns})
            SELECT %(base)s + i, %(project)s, 'tree-kid-' || i, %(root)s, %(root)s,
                '/' || %(root)s || '/' || (%(base)s + i) || '/', 1, 'child', 'Sub-agent ' || i,
                '', 'worker', '', 'completed', '{{}}', '{{}}', '',
                now() + i * interval '1 ms', now(), now(), 5, 5, 0, 0, 500, 0.01, 0, 2, '', '', 0
            FROM generate_series(1::bigint, %(n)s) AS i
            """,
            {"base": base, "project": project.pk, "root": root.pk, "n": TREE_CHILDREN},
        )
        c.execute(
            f"""
            INSERT INTO sessions_app_agentsession (id, {columns})
            SELECT %(base)s + %(n)s + j, %(project)s, 'tree-gkid-' || j,
                %(base)s + (j + 1) / 2, %(root)s,
                '/' || %(root)s || '/' || (%(base)s + (j + 1) / 2) || '/'
                    || (%(base)s + %(n)s + j) || '/',
                2, 'child', 'Tool runner ' || j, '', 'tool', '', 'completed', '{{}}', '{{}}', '',
                now(), now(), now(), 3, 3, 0, 0, 300, 0.005, 0, 0, '', '', 0
            FROM generate_series(1::bigint, 2 * %(n)s) AS j
            """,
            {"base": base, "project": project.pk, "root": root.pk, "n": TREE_CHILDREN},
        )
        c.execute(
            "SELECT setval(pg_get_serial_sequence('sessions_app_agentsession', 'id'), "
            "(SELECT MAX(id) FROM sessions_app_agentsession))"
        )
        c.execute("ANALYZE sessions_app_agentsession")
    print(
        f"inserted a tree of {1 + 3 * TREE_CHILDREN:,} sessions in "
        f"{time.perf_counter() - started:.1f}s"
    )


def build(rebuild: bool, sessions: int = SESSIONS) -> None:
    """Insert the data set with set-based SQL (minutes, not hours)."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, transaction

    from sessions_app.models import Membership, Project

    call_command("migrate", verbosity=0)
    project = Project.objects.filter(slug=SLUG).first()
    if project and not rebuild and not complete(project):
        print("the stored data set is incomplete (a failed build): building it again")
        rebuild = True
    if project and rebuild:
        with connection.cursor() as c:
            for table in ("sessions_app_event", "sessions_app_agentsession"):
                c.execute(f"DELETE FROM {table} WHERE project_id = %s", [project.pk])
        project.delete()
        project = None
    user, _ = get_user_model().objects.get_or_create(username="bench")
    if project is not None:
        Membership.objects.get_or_create(user=user, project=project, defaults={"role": "admin"})
        build_tree(project)
        return
    # One transaction: a build that fails (a full disk, an interrupt) leaves no data set that a
    # later run would time as if it were whole ("0 events").
    with transaction.atomic():
        project = _insert(user, sessions)
    with connection.cursor() as c:
        c.execute("ANALYZE sessions_app_agentsession")
        c.execute("ANALYZE sessions_app_event")
    build_tree(project)


def complete(project) -> bool:
    """Whether the stored data set is whole: its sessions and each transcript's events."""
    from sessions_app.models import AgentSession, Event

    for size in TRANSCRIPTS:
        session = AgentSession.objects.filter(
            project=project, external_id=f"transcript-{size}"
        ).first()
        if session is None or Event.objects.filter(session=session).count() != size:
            return False
    return AgentSession.objects.filter(project=project, external_id="bench-1").exists()


def _insert(user, sessions: int):
    """The project, its sessions and its transcripts (set-based SQL), inside the caller's
    transaction."""
    from django.db import connection

    from sessions_app.models import AgentSession, Membership, Project

    project = Project.objects.create(slug=SLUG, name="Bench")
    Membership.objects.create(user=user, project=project, role="admin")
    started = time.perf_counter()
    agents = "ARRAY[" + ",".join(f"'{a}'" for a in AGENTS) + "]"
    with connection.cursor() as c:
        c.execute("SELECT COALESCE(MAX(id), 0) FROM sessions_app_agentsession")
        base = c.fetchone()[0]
        c.execute(
            f"""
            INSERT INTO sessions_app_agentsession (
                id, project_id, external_id, parent_id, root_id, path, depth, kind, title, preview,
                agent_name, user_ref, status, metadata, state, service_session_id, created_at,
                updated_at, last_event_at, event_count, last_seq, prompt_tokens,
                completion_tokens, total_tokens, cost_usd, error_count, children_count,
                review_status, review_note, duration_seconds)
            SELECT %(base)s + i, %(project)s, 'bench-' || i, NULL, %(base)s + i,
                '/' || (%(base)s + i) || '/', 0, 'root', '',
                'Question number ' || i || ' about order ' || (i * 7919 %% 100000),
                ({agents})[1 + i %% 5], 'user-' || (i %% 5000),
                CASE WHEN i %% 50 = 0 THEN 'archived' WHEN i %% 10 = 0 THEN 'completed'
                     ELSE 'active' END,
                jsonb_build_object('env', CASE WHEN i %% 3 = 0 THEN 'staging' ELSE 'prod' END),
                '{{}}'::jsonb, '',
                now() - (i * interval '31 seconds') - interval '1 hour',
                now() - (i * interval '31 seconds'),
                now() - (i * interval '31 seconds') + ((i %% 600) * interval '1 second'),
                (i * 37) %% 400, (i * 37) %% 400,
                (i * 7331) %% 90000, (i * 131) %% 9000, (i * 7331) %% 90000 + (i * 131) %% 9000,
                ((i * 7919) %% 100000) / 10000.0,
                CASE WHEN i %% 7 = 0 THEN 1 + i %% 3 ELSE 0 END, 0,
                CASE WHEN i %% 97 = 0 THEN 'flagged' WHEN i %% 13 = 0 THEN 'reviewed' ELSE '' END,
                '', 3600 + i %% 600
            FROM generate_series(1::bigint, %(n)s) AS i
            """,
            {"base": base, "project": project.pk, "n": sessions},
        )
        c.execute(
            "SELECT setval(pg_get_serial_sequence('sessions_app_agentsession', 'id'), "
            "(SELECT MAX(id) FROM sessions_app_agentsession))"
        )
    print(f"inserted {sessions:,} sessions in {time.perf_counter() - started:.1f}s")
    for size in TRANSCRIPTS:
        started = time.perf_counter()
        session = AgentSession.objects.create(
            project=project,
            external_id=f"transcript-{size}",
            title=f"{size:,} events",
            agent_name="support-bot",
            status="completed",
        )
        tree = {"root_id": session.pk, "path": f"/{session.pk}/"}
        AgentSession.objects.filter(pk=session.pk).update(**tree)
        with connection.cursor() as c:
            c.execute(
                """
                INSERT INTO sessions_app_event (
                    project_id, session_id, run_id, parent_event_id, external_id, seq, timestamp,
                    received_at, source, type, role, name, tool_call_id, content, is_error,
                    payload, payload_format, body_hash, metadata, span_id, trace_id)
                SELECT %(project)s, %(session)s, NULL, NULL, %(prefix)s || i, i,
                    now() - ((%(n)s - i) * interval '5 seconds'), now(),
                    CASE WHEN i %% 2 = 1 THEN 'user' ELSE 'llm' END, 'message',
                    CASE WHEN i %% 2 = 1 THEN 'user' ELSE 'assistant' END, '', '',
                    'Message ' || i || ': ' || repeat('lorem ipsum dolor sit amet ', 8)
                        || CASE WHEN i %% 50 = 0 THEN ' refund requested' ELSE '' END,
                    i %% 1000 = 500,
                    jsonb_build_object('role', 'user', 'content', repeat('x', 2000)),
                    'native', '', '{}'::jsonb, '', ''
                FROM generate_series(1::bigint, %(n)s) AS i
                """,
                {"project": project.pk, "session": session.pk, "n": size, "prefix": f"t{size}-"},
            )
        AgentSession.objects.filter(pk=session.pk).update(
            event_count=size, last_seq=size, error_count=size // 1000
        )
        print(f"inserted a session of {size:,} events in {time.perf_counter() - started:.1f}s")
    return project


def timed(client, url: str, runs: int = 30) -> dict[str, float]:
    """Milliseconds of GET url: median, p95 and min of the whole request, median of the time
    spent in the database (an execute wrapper around every query), and the response size."""
    from django.db import connection

    spent: list[float] = []

    def clock(execute, sql, params, many, context):
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent.append(time.perf_counter() - t0)

    for _ in range(3):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    times, db = [], []
    with connection.execute_wrapper(clock):
        for _ in range(runs):
            spent.clear()
            t0 = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - t0) * 1000)
            db.append(sum(spent) * 1000)
    times.sort()
    return {
        "median": statistics.median(times),
        "p95": times[max(int(len(times) * 0.95) - 1, 0)],
        "min": times[0],
        "db": statistics.median(db),
        "bytes": len(response.content),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument(
        "--sessions", type=int, default=SESSIONS, help="sessions in a new data set (list rows)"
    )
    parser.add_argument(
        "--transcript-only",
        action="store_true",
        help="time only the transcript rows (?at=, ?find=) against the first page",
    )
    parser.add_argument("--only", default="", help="time only the views whose label has this")
    args = parser.parse_args()
    ensure_database(os.environ["DATABASE_URL"])

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from sessions_app.models import AgentSession

    build(args.rebuild, args.sessions)
    client = Client()
    client.force_login(get_user_model().objects.get(username="bench"))
    total = AgentSession.objects.filter(project__slug=SLUG).count()
    print(
        f"\nproject {SLUG!r}: {total:,} sessions; times are server time in-process "
        f"(test client, perf_counter), median / p95 of {args.runs} requests\n"
    )
    base = f"/p/{SLUG}/sessions/"
    if args.transcript_only:
        print_rows(client, transcript_rows(), args.runs)
        return
    rows = [("list, default (last activity)", base)]
    for column in ("last_event_at", "created_at", "cost_usd", "total_tokens", "event_count"):
        rows.append((f"list, sort -{column}", f"{base}?sort=-{column}"))
        rows.append((f"list, sort {column}", f"{base}?sort={column}"))
    for label, query in [
        ("agent", "agent=research-agent"),
        ("agent + sort -cost_usd", "agent=research-agent&sort=-cost_usd"),
        ("status=completed", "status=completed"),
        ("has_errors", "has_errors=1&sort=-total_tokens"),
        ("min_cost", "min_cost=9&sort=-event_count"),
        ("user", "user=user-42"),
        ("meta env=staging", "meta=env%3Dstaging"),
        ("review=flagged", "review=flagged"),
        ("kind=root + from/to", "kind=root&from=2020-01-01&to=2100-01-01"),
        ("q, a rare word (GIN index)", "q=12345"),
    ]:
        rows.append((f"list, filter {label}", f"{base}?{query}"))
    # A word in every one of the 100,100 events: the search reads the latest SEARCH_HITS
    # matches (bounded), the snippets one matching event per session shown.
    rows.append(("list search, a common word at 100k matches", f"{base}?q=lorem"))
    rows.append(("list search, two common words", f"{base}?q=lorem+ipsum"))
    rows.append(("list search, a rare word", f"{base}?q=12345"))
    first_page = client.get(f"{base}?sort=-cost_usd").content.decode()
    cursor = re.search(r'rel="next" href="[^"]*cursor=([^"&]+)', first_page).group(1)
    rows.append(("list, page 2 (cursor) sort -cost_usd", f"{base}?sort=-cost_usd&cursor={cursor}"))
    rows.append(("list, rows partial only", f"{base}?sort=-total_tokens"))
    rows += transcript_rows()
    tree_root = AgentSession.objects.get(project__slug=SLUG, external_id="tree-root").pk
    rows.append(("tree page, root of 9,001 sessions", f"/p/{SLUG}/sessions/{tree_root}/tree/"))
    rows.append(("tree children, first 50 of 3,000", f"/p/{SLUG}/sessions/{tree_root}/children/"))
    rows.append(("session page, root of 9,001 sessions", f"/p/{SLUG}/sessions/{tree_root}/"))
    print_rows(client, rows, args.runs, args.only)


def transcript_rows() -> list[tuple[str, str]]:
    """The transcript's rows at 100 and 100,000 events: the first page (the ceiling), a later
    keyset page, `?at=` near the end, `?find=` of a rare word (one event in 50) and of a word
    in every event."""
    from sessions_app.models import AgentSession

    rows = []
    for size in TRANSCRIPTS:
        pk = AgentSession.objects.get(project__slug=SLUG, external_id=f"transcript-{size}").pk
        page = f"/p/{SLUG}/sessions/{pk}/"
        at = size * 9 // 10
        rows += [
            (f"session page, {size:,} events (ceiling)", page),
            (f"session page ?at={at:,}, {size:,} events", f"{page}?at={at}"),
            (f"session page ?find=refund, {size:,} events", f"{page}?find=refund"),
            (f"find partial ?find=refund, {size:,} events", f"{page}?find=refund"),
            (f"find partial ?find=lorem (every event), {size:,}", f"{page}?find=lorem"),
            (f"find partial ?find=nowhere (no event), {size:,}", f"{page}?find=nowhere"),
            (f"transcript first page, {size:,} events", f"{page}events/"),
            (f"transcript page after seq {size // 2:,}", f"{page}events/?after_seq={size // 2}"),
            (f"transcript page before seq {at:,}", f"{page}events/?before_seq={at}"),
        ]
    return rows


HX_TARGETS = {
    "partial": "session-rows",
    "find partial": "find-results",
    "transcript page before": "transcript-prev",
    "transcript": "transcript-more",
}


def print_rows(client, rows: list[tuple[str, str]], runs: int, only: str = "") -> None:
    """Time each row and print a line of figures; htmx rows send the region they target."""
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'view':46} {'median':>8} {'p95':>8} {'min':>7} {'db med':>7} {'bytes':>8}  (ms)")
    rows = [(label, url) for label, url in rows if only in label]
    for label, url in rows:
        headers = {}
        for prefix, target in HX_TARGETS.items():
            if label.startswith(prefix) or (prefix == "partial" and "rows partial" in label):
                headers = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": target}
                break
        client.defaults.update(headers)
        count = 5 if "every event" in label else runs
        t = timed(client, url, count)
        for key in headers:
            client.defaults.pop(key)
        print(
            f"{label:46} {t['median']:8.1f} {t['p95']:8.1f} {t['min']:7.1f} {t['db']:7.1f} "
            f"{t['bytes']:8,}"
        )
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    print(
        f"ceiling (issue 20): list search with a common word at 100k matches {SEARCH_CEILING_MS} ms"
    )
    if not only:
        explain_list_queries()
    if not only or "search" in only or "find" in only:
        explain_search_queries()


def explain_list_queries() -> None:
    """The list's page query alone, as PostgreSQL executes it (EXPLAIN ANALYZE): the plan's
    access path and execution time, free of the Python and template time around it."""
    from sessions_app.models import Project
    from sessions_app.selectors.session_list import SessionFilters, sessions_filtered

    project = Project.objects.get(slug=SLUG)
    cases = [
        (f"sort {s}", SessionFilters(sort=s))
        for c in ("last_event_at", "created_at", "cost_usd", "total_tokens", "event_count")
        for s in (f"-{c}", c)
    ]
    cases += [
        ("agent", SessionFilters(agent="research-agent")),
        ("user", SessionFilters(user="user-42")),
        ("has_errors, sort -total_tokens", SessionFilters(has_errors=True, sort="-total_tokens")),
        ("q, a rare word", SessionFilters(q="12345")),
    ]
    print(f"\n{'list page query (EXPLAIN ANALYZE)':46} {'exec ms':>8}  access path")
    for label, filters in cases:
        column = filters.sort.lstrip("-")
        order = [filters.sort, "-pk" if filters.sort.startswith("-") else "pk"]
        qs = sessions_filtered(project, filters).order_by(*order)[:51]
        plan = qs.explain(analyze=True)
        executed = re.search(r"Execution Time: ([\d.]+) ms", plan).group(1)
        path = re.search(
            r"(Index Scan(?: Backward)? using \w+|Bitmap Index Scan on \w+|Seq Scan)", plan
        )
        print(
            f"{label + ' (' + column + ')':46} {float(executed):8.2f}  "
            f"{path.group(1) if path else '?'}"
        )


def explain_search_queries() -> None:
    """The search's own queries as PostgreSQL executes them (EXPLAIN ANALYZE): the list search's
    bounded read of the latest matches (`search_scope`) and the matches `?find=` asks for when
    its probe of the next 1,000 events did not fill a page (all the session's matches, unordered:
    a common word never gets there), each with its execution time and whether the text was
    matched through the stored words (`search_vector`, migration 0016) or parsed per row."""
    from django.db import connection

    from sessions_app.models import AgentSession, Event, Project
    from sessions_app.selectors import search

    project = Project.objects.get(slug=SLUG)
    session = AgentSession.objects.get(project=project, external_id=f"transcript-{TRANSCRIPTS[-1]}")
    live = Event.objects.filter(project=project, removed_at__isnull=True)
    cases = [
        (f"search read, {q!r}", search.events_matching(live, q).order_by("-pk")
         .values_list("session_id", "pk")[: search.SEARCH_HITS + 1])
        for q in ("lorem", "lorem ipsum", "12345")
    ]  # fmt: skip
    cases += [
        (f"?find= past the probe, {q!r}, {TRANSCRIPTS[-1]:,}",
         search.events_matching(live.filter(session=session), q).values_list("seq", flat=True))
        for q in ("refund", "lorem")
    ]  # fmt: skip
    print(f"\n{'search query (EXPLAIN ANALYZE)':46} {'exec ms':>8}  access path; text matched by")
    for label, qs in cases:
        sql, params = qs.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN ANALYZE {sql}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        executed = re.search(r"Execution Time: ([\d.]+) ms", plan).group(1)
        path = re.search(
            r"(Index Scan(?: Backward)? using \w+|Bitmap Index Scan on \w+|Seq Scan)", plan
        )
        matched = "stored words" if "search_vector" in plan else "to_tsvector per row"
        print(f"{label:46} {float(executed):8.2f}  {path.group(1) if path else '?'}; {matched}")


if __name__ == "__main__":
    main()
