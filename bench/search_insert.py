"""What the full-text search costs each insert on PostgreSQL: the expression index before
migration 0016 against its trigger and index, with no search index at all as the ceiling.

Inserts batches of 1,000 events of ~500 characters (varied words: a turn's text, a few numbers
and a hash) into one session with one INSERT ... SELECT each, as the one-statement append path
stores a batch, and times each statement (perf_counter around it: server time plus one round
trip). Then an UPDATE of another column of the batch's rows, as relinking a tool result to its
call does: the rows fill their pages, so the update is not HOT and every index gets an entry,
which makes the old expression index parse the text again. Four set-ups of the same table,
switched by DDL between runs, in turn:

- old:  the GIN expression index of migration 0005, `to_tsvector('simple', left(content, 65536))`,
        no trigger (as before migration 0016);
- new:  the trigger that stores `strip(to_tsvector(...))` in `search_vector` and the GIN index
        `event_search` on `coalesce(search_vector, <the old expression>)` (migration 0016);
- trigger: the trigger alone, no search index: what parsing the text and storing its words
        cost, apart from the GIN index's own insert;
- none: no search index and no trigger: the ceiling.

Each set-up starts from a table emptied of earlier batches (DELETE, VACUUM) and inserts
`--batches` batches, committing each; the figures are per event: median and mean over the
batches (the mean carries the GIN pending list's flushes, which land on some batches), after one
warm-up batch; and the table's heap bytes per row at the end (pg_relation_size over the rows,
the updates' old versions included): the stored words take room. Other indexes of the table
stay as they are in every set-up. The bench database ends in the `new` set-up.

    .venv/bin/python bench/search_insert.py [--rounds 2] [--batches 10]
    # DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/ss_bench_search_insert
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ss_bench_search_insert")
os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from bench.pages import ensure_database

BATCH = 1000
OLD_EXPRESSION = "to_tsvector('simple', left(content, 65536))"
TRIGGERS = ("event_search_vector_insert", "event_search_vector_update")
# ~500 characters of agent-like text, varied per row so each event has its own words.
TEXT_SQL = (
    "'turn ' || g || ': the customer asked about order ' || (g * 7919 %% 100000) || "
    "' and invoice ' || md5(g::text) || '. ' || "
    "'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
    "incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud "
    "exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure "
    "dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur. ' "
    "|| 'Refund ' || (g %% 97) || ' approved; shipment ' || md5((g + 1)::text) || ' is late.'"
)


def template_event() -> tuple[int, int]:
    """A project, a session and one stored event whose columns the batches copy."""
    from sessions_app.inputs import EventInput
    from sessions_app.models import Event, Project
    from sessions_app.services.events import events_append

    project, _ = Project.objects.get_or_create(slug="bench-search", defaults={"name": "Bench"})
    if not Event.objects.filter(project=project, external_id="template").exists():
        events_append(
            project=project,
            session_external_id="template",
            events=[EventInput(external_id="template", source="user", content="template")],
        )
    return project.pk, Event.objects.get(project=project, external_id="template").pk


def setup(cursor, kind: str) -> None:
    """Switch the table's search machinery to `kind` (old, new, trigger, none); empty the
    batches."""
    cursor.execute("DELETE FROM sessions_app_event WHERE external_id LIKE 'b-%'")
    cursor.execute("DROP INDEX IF EXISTS event_content_fts")
    cursor.execute("DROP INDEX IF EXISTS event_search")
    for trigger in TRIGGERS:
        cursor.execute(f"ALTER TABLE sessions_app_event DISABLE TRIGGER {trigger}")
    cursor.execute("UPDATE sessions_app_event SET search_vector = NULL")
    if kind == "old":
        cursor.execute(
            f"CREATE INDEX event_content_fts ON sessions_app_event USING gin ({OLD_EXPRESSION})"
        )
    elif kind in ("new", "trigger"):
        for trigger in TRIGGERS:
            cursor.execute(f"ALTER TABLE sessions_app_event ENABLE TRIGGER {trigger}")
    if kind == "new":
        cursor.execute(
            "CREATE INDEX event_search ON sessions_app_event USING gin "
            f"(coalesce(search_vector, {OLD_EXPRESSION}))"
        )
    cursor.execute("VACUUM ANALYZE sessions_app_event")


def insert_sql(columns: list[str]) -> str:
    """One batch: the template row's columns, with its own id, seq, external id and text."""
    own = {"seq": "%(base)s + g", "external_id": "'b-' || (%(base)s + g)", "content": TEXT_SQL}
    chosen = ", ".join(own.get(c, f"t.{c}") for c in columns)
    return (
        f"INSERT INTO sessions_app_event ({', '.join(columns)}) "
        f"SELECT {chosen} FROM sessions_app_event t, generate_series(1, {BATCH}) g "
        "WHERE t.id = %(template)s"
    )


def run(
    kind: str, batches: int, columns: list[str], template: int
) -> tuple[list[float], list[float], int]:
    """µs per event of each batch's insert and of an update of its rows (after a warm-up
    batch) under set-up `kind`, and the table's heap bytes per row after them."""
    import psycopg

    url = os.environ["DATABASE_URL"]
    with psycopg.connect(url, autocommit=True) as conn:
        setup(conn.cursor(), kind)
    sql = insert_sql(columns)
    inserts: list[float] = []
    updates: list[float] = []
    with psycopg.connect(url) as conn:
        cursor = conn.cursor()
        for n in range(batches + 1):
            base = 1000 + n * BATCH
            started = time.perf_counter()
            cursor.execute(sql, {"base": base, "template": template})
            conn.commit()
            inserted = time.perf_counter()
            # A column other than the text, as relinking a tool result to its call does.
            cursor.execute(
                "UPDATE sessions_app_event SET name = 'relinked' "
                "WHERE external_id LIKE 'b-%%' AND seq > %(base)s",
                {"base": base},
            )
            conn.commit()
            updated = time.perf_counter()
            if n:
                inserts.append((inserted - started) / BATCH * 1e6)
                updates.append((updated - inserted) / BATCH * 1e6)
        cursor.execute(
            "SELECT pg_relation_size('sessions_app_event') / count(*) FROM sessions_app_event"
        )
        (row_bytes,) = cursor.fetchone()
    return inserts, updates, int(row_bytes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batches", type=int, default=10)
    args = parser.parse_args()
    ensure_database(os.environ["DATABASE_URL"])

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    _, template = template_event()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'sessions_app_event' AND column_name NOT IN "
            "('id', 'search_vector') ORDER BY ordinal_position"
        )
        columns = [row[0] for row in cursor.fetchall()]
    connection.close()

    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{BATCH:,} ~500-char events in one statement, µs per event: insert, then update")
    print(f"{'':46} {'insert':>26}   {'update (name)':>17}   {'heap':>6}")
    columns_line = f"{'median':>8} {'mean':>8} {'min':>8}   {'median':>8} {'mean':>8}"
    print(f"{'round':>5} {'set-up':40} {columns_line}   {'B/row':>6}")
    labels = {
        "old": "old: expression index (before 0016)",
        "new": "new: trigger + event_search (0016)",
        "trigger": "trigger alone, no index (the parse)",
        "none": "none: no search index (ceiling)",
    }
    for round_no in range(1, args.rounds + 1):
        for kind in ("old", "new", "trigger", "none"):
            us, up, row_bytes = run(kind, args.batches, columns, template)
            print(
                f"{round_no:>5} {labels[kind]:40} {statistics.median(us):8.1f} "
                f"{statistics.mean(us):8.1f} {min(us):8.1f}   {statistics.median(up):8.1f} "
                f"{statistics.mean(up):8.1f}   {row_bytes:6,}"
            )
    # Leave the database as migration 0016 made it.
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        setup(conn.cursor(), "new")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
