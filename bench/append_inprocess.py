"""In-process append benchmark on PostgreSQL: `events_append` alone, without HTTP.

Times 200 batches of 50 events (plain, and with usage on every fifth event) and 2,000 single
events, each to an existing session, so every batch takes the one-statement path. With
`--compare TREE` it runs the same measurement for another checkout of the project (say the
commit before a refactor) in alternating processes, so both see the same machine noise, and
prints each round and the medians.

Usage: .venv/bin/python bench/append_inprocess.py [--rounds 5] [--compare /tmp/old-checkout]
It uses its own database, ss_bench_append (created and migrated when missing). Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB = os.environ.get("BENCH_DB", "ss_bench_append")
PHASES = ("batch50_plain", "batch50_usage", "single")
# Wall time (this process and PostgreSQL, and the machine's noise), this process's CPU, and the
# CPU of the PostgreSQL backend serving it (/proc): the last two barely move with the noise.
FIGURES = (*PHASES, *(f"{p}_cpu" for p in PHASES), *(f"{p}_pg" for p in PHASES))


def log(*parts: object) -> None:
    """Print a line of results (this is a script, not the app)."""
    print(*parts, flush=True)


def measure(tree: Path) -> dict[str, float]:
    """µs per event of each phase (wall, `_cpu` and PostgreSQL's `_pg`) for the code in `tree`."""
    sys.path.insert(0, str(tree))
    os.chdir(tree)
    import django

    django.setup()
    from django.db import connection

    from sessions_app.inputs import EventInput, UsageInput
    from sessions_app.models import Project
    from sessions_app.services.events import events_append
    from sessions_app.services.sessions import session_upsert

    with connection.cursor() as cursor:
        # Commits wait for no disk flush: the figures are the code's CPU, not this disk's fsync
        # (which cost 8 ms per single-event append here), as bench/ingest.py --async-commit.
        cursor.execute("SET synchronous_commit TO off")
    project = Project.objects.create(name="bench", slug=f"bench-{os.getpid()}-{time.time_ns()}")
    for n in range(10):
        session_upsert(project=project, external_id=f"s{n}", fields={"agent_name": "bench"})

    def event(tag: str, i: int, usage: bool) -> EventInput:
        llm = usage and i % 5 == 0
        return EventInput(
            external_id=f"{tag}-{i}",
            source="llm" if llm else "user",
            content=f"benchmark message number {i} with a little text in it",
            payload={"role": "user", "content": f"benchmark message number {i}"},
            body_hash=f"{i:064x}",
            usage=UsageInput(model="gpt-4o-mini", prompt_tokens=120, completion_tokens=30)
            if llm
            else None,
        )

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend,) = cursor.fetchone()
    ticks = os.sysconf("SC_CLK_TCK")

    def backend_cpu() -> float:
        """Seconds of CPU the PostgreSQL backend serving this process has used."""
        fields = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks

    def run(tag: str, batches: int, size: int, usage: bool) -> tuple[float, float, float]:
        """Wall, this process's CPU and its PostgreSQL backend's CPU, µs per event (inputs
        built outside the timing)."""
        inputs = [[event(f"{tag}-{b}", i, usage) for i in range(size)] for b in range(batches)]
        wall, cpu, pg = time.perf_counter(), time.process_time(), backend_cpu()
        for b, events in enumerate(inputs):
            events_append(project=project, session_external_id=f"s{b % 10}", events=events)
        n = batches * size
        return (
            (time.perf_counter() - wall) / n * 1e6,
            (time.process_time() - cpu) / n * 1e6,
            (backend_cpu() - pg) / n * 1e6,
        )

    # Warm-up: imports, litellm's price table, prepared statements, caches.
    run("warm-plain", 20, 50, False)
    run("warm-usage", 20, 50, True)
    run("warm-single", 200, 1, False)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    result: dict[str, float] = {}
    for phase, (batches, size, usage) in {
        "batch50_plain": (200, 50, False),
        "batch50_usage": (200, 50, True),
        "single": (2000, 1, False),
    }.items():
        result[phase], result[f"{phase}_cpu"], result[f"{phase}_pg"] = run(
            phase, batches, size, usage
        )
    # The project stays: deleting its rows would leave the next run a vacuum to wait for.
    return result


def _subprocess(tree: Path) -> dict[str, float]:
    env = {**os.environ, "DATABASE_URL": f"{PG}/{DB}", "PYTHONPATH": str(tree)}
    env.setdefault("SECRET_KEY", "bench")
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--measure", str(tree)],
        env=env,
        cwd=tree,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def _prepare_database() -> None:
    env = {**os.environ, "DATABASE_URL": f"{PG}/{DB}", "SECRET_KEY": "bench"}
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DB], capture_output=True)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v0"], env=env, cwd=ROOT, check=True
    )


def main() -> None:
    """Run the rounds and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--compare", type=Path, help="another checkout to measure alternately")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        log(json.dumps(measure(args.measure)))
        return
    _prepare_database()
    trees = {"this": ROOT}
    if args.compare:
        trees = {"other": args.compare.resolve(), "this": ROOT}
    figures: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    log("µs per event, in-process events_append on PostgreSQL")
    for n in range(args.rounds):
        # ABBA: which tree runs first alternates, so neither always follows the other's writes.
        order = list(trees.items()) if n % 2 == 0 else list(reversed(trees.items()))
        for name, tree in order:
            result = _subprocess(tree)
            figures[name].append(result)
            log(f"round {n + 1} {name:5}", "  ".join(f"{p} {result[p]:.1f}" for p in FIGURES))
    for name in trees:
        medians = {p: statistics.median(r[p] for r in figures[name]) for p in FIGURES}
        log(f"median  {name:5}", "  ".join(f"{p} {medians[p]:.1f}" for p in FIGURES))
    if args.compare:
        # Each round's two runs shared the machine's state: the median of their ratios is
        # steadier than the ratio of medians.
        for p in FIGURES:
            ratios = [t[p] / o[p] for t, o in zip(figures["this"], figures["other"], strict=True)]
            log(f"{p}: this/other median of paired ratios {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
