"""Prompt strategies at scale: time to build all five strategies, with token counts and costs,
over sessions of 100, 2,000 and 20,000 events (target: under 300 ms for 2,000).

    .venv/bin/python bench/strategies.py              # PostgreSQL database ss_bench_prompts
    .venv/bin/python bench/strategies.py --sqlite     # a throwaway SQLite file instead

The sessions mirror seed_demo's turns: a user question, an assistant message asking for one or
two tools, the tool calls and their results (some failing), the final answer; the deepest
session has two ancestors carrying summaries so HIERARCHICAL walks them. Events are inserted
with bulk_create (the ingest path is benchmarked elsewhere). Each size is measured warm (litellm
imported, tokenizer loaded) over several repetitions: the median and the worst are printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DB_NAME = "ss_bench_prompts"
SERVER = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
SIZES = (100, 2_000, 20_000)
REPEAT = 7


def configure(sqlite: bool) -> None:
    """Point Django at the benchmark database (recreated) and migrate it quietly."""
    if sqlite:
        path = Path(tempfile.mkdtemp()) / "bench.sqlite3"
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    else:
        import psycopg

        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
        os.environ["DATABASE_URL"] = f"{SERVER}/{DB_NAME}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def build_session(project, external_id: str, events: int, parent: str | None = None):
    """A session of about `events` events in seed_demo's turn shape, bulk inserted."""
    from sessions_app.models import AgentSession, Event
    from sessions_app.services.sessions import session_upsert

    kw = {"parent_external_id": parent} if parent else {}
    session, _ = session_upsert(project=project, external_id=external_id, fields={}, **kw)
    rows: list[Event] = []
    seq = 0
    turn = 0

    def add(**fields) -> Event:
        nonlocal seq
        seq += 1
        event = Event(
            project=project, session=session, seq=seq, external_id=f"{external_id}-{seq}", **fields
        )
        rows.append(event)
        return event

    while seq < events:
        turn += 1
        add(source="user", role="user", content=f"Question {turn}: where is order {turn}?")
        add(source="llm", role="assistant", content="Let me check that.")
        for i in range(1 + turn % 2):
            add(
                source="llm",
                type="tool_call",
                name="lookup_order",
                tool_call_id=f"c{turn}-{i}",
                content=f'{{"order": {turn}}}',
                payload={"tool": "lookup_order", "arguments": {"order": turn}},
            )
            add(
                source="tool",
                type="tool_result",
                role="tool",
                name="lookup_order",
                tool_call_id=f"c{turn}-{i}",
                content=f"order {turn}: shipped",
                is_error=turn % 9 == 0,
            )
        add(source="llm", role="assistant", content=f"Order {turn} has shipped. " * 5)
    Event.objects.bulk_create(rows)
    # Link tool calls to the message that asked, results to their call (as ingest does).
    by_seq = {e.seq: e for e in Event.objects.filter(session=session).only("id", "seq", "type")}
    ask = None
    updates = []
    calls: dict[str, int] = {}
    for e in rows:
        stored = by_seq[e.seq]
        if e.type == "message" and e.source == "llm":
            ask = stored.pk
        elif e.type == "tool_call":
            stored.parent_event_id = ask
            calls[e.tool_call_id] = stored.pk
            updates.append(stored)
        elif e.type == "tool_result":
            stored.parent_event_id = calls[e.tool_call_id]
            updates.append(stored)
    Event.objects.bulk_update(updates, ["parent_event"], batch_size=2000)
    AgentSession.objects.filter(pk=session.pk).update(last_seq=seq, event_count=seq)
    session.refresh_from_db()
    return session


def add_summary(project, external_id: str, text: str) -> None:
    from sessions_app.inputs import EventInput
    from sessions_app.services.events import events_append

    events_append(
        project=project,
        session_external_id=external_id,
        events=[
            EventInput(
                external_id=f"{external_id}-summary",
                source="system",
                type="summary",
                role="system",
                content=text,
            )
        ],
    )


def measure(session) -> tuple[float, float, list]:
    """Median and worst milliseconds to build all five strategies, and the last prompts."""
    from django.db import reset_queries

    from sessions_app import prompts

    timings = []
    built = []
    for _ in range(REPEAT):
        reset_queries()
        session.refresh_from_db()
        started = time.perf_counter()
        built = prompts.build_all(session, model="gpt-4o", max_tokens=4000)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), max(timings), built


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sqlite", action="store_true", help="use a throwaway SQLite file")
    args = parser.parse_args()
    configure(args.sqlite)

    from django.db import connection

    from sessions_app import llm
    from sessions_app.models import Project

    project = Project.objects.create(name="Bench", slug="bench")
    llm.count_tokens("gpt-4o", text="warm up the tokenizer")
    parents = build_session(project, "grandparent", 20)
    add_summary(project, parents.external_id, "The user first asked about returns.")
    build_session(project, "parent", 20, parent="grandparent")
    add_summary(project, "parent", "Then about an order that had not shipped.")

    print(
        f"database: {connection.vendor}; {REPEAT} runs per size, all five strategies, "
        "gpt-4o token counts and costs, max_tokens=4000"
    )
    print(f"{'events':>8} {'median ms':>10} {'worst ms':>9}  tokens per strategy")
    for size in SIZES:
        session = build_session(project, f"s{size}", size, parent="parent")
        # Fresh statistics, as autovacuum keeps them on a live PostgreSQL: with none, the
        # planner guesses a handful of rows per session and sorts them instead of walking the
        # (session, seq) index (SQLite's ANALYZE plays the same part).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE sessions_app_event")
        median, worst, built = measure(session)
        tokens = ", ".join(f"{p.strategy}={p.token_count}" for p in built)
        print(f"{session.last_seq:>8} {median:>10.1f} {worst:>9.1f}  {tokens}")


if __name__ == "__main__":
    main()
