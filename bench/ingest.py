"""Ingest benchmark: gunicorn (2 workers) on PostgreSQL, driven by a raw keep-alive HTTP client.

Prints:
- events/s for batches of 1, 50 and 500 events per POST (many sessions, concurrent clients),
  each with the cores every gunicorn worker and PostgreSQL kept busy and their CPU per request
  or event (/proc counters), which shows where the time went and when one worker bounded a run;
- the floor the same clients reach on GET /api/v1/health, which does no auth and no write: what
  the server stack itself (gunicorn, Django, Ninja, one query) allows on this machine;
- p50/p99 latency of single-event POSTs sent at a fixed rate (500/s by default), measured from
  each request's scheduled send time so a slow server cannot hide its queueing;
- rows/s of a raw COPY into the events table of the same database, the ceiling.
With --profile, also where the time goes in-process (cProfile over the request path).

Usage: .venv/bin/python bench/ingest.py [--duration 8] [--rate 500] [--profile]
       [--worker-class gthread|asgi]   (asgi: config/asgi.py on `-k asgi`, as the README serves)
It creates (and drops first) its own database, ss_bench_ingest, and migrates it. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB = os.environ.get("BENCH_DB", "ss_bench_ingest")
DATABASE_URL = f"{PG}/{DB}"
HOST, PORT = "127.0.0.1", int(os.environ.get("BENCH_PORT", "8150"))


def log(*parts: object) -> None:
    """Print a line of results (this is a script, not the app)."""
    sys.stdout.write(" ".join(str(p) for p in parts) + "\n")
    sys.stdout.flush()


ASYNC_COMMIT = False
# Serve as the README does, litellm imported at start (bench/otlp.py --warm-llm waits for it).
WARM_LLM = False


def env() -> dict[str, str]:
    """The environment the app runs with: the bench database, no broker, quiet logs."""
    url = DATABASE_URL + ("?options=-c%20synchronous_commit%3Doff" if ASYNC_COMMIT else "")
    return {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-secret"),
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "LOG_LEVEL": "WARNING",
        "CELERY_BROKER_URL": "",
        # A served process imports litellm in the background at start (for the compare page):
        # about 4 s of CPU per worker, which would land in the first phase measured here, so
        # only where the bench waits for it.
        "SESSIONSCOPE_WARM_LLM": "1" if WARM_LLM else "0",
    }


def prepare_database() -> str:
    """Recreate the bench database, migrate it, and return a fresh API token."""
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB}"')
    python = str(ROOT / ".venv" / "bin" / "python")
    subprocess.run(
        [python, "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, env=env(), check=True
    )
    script = (
        "from sessions_app.models import Project\n"
        "from sessions_app.services.projects import api_key_create\n"
        "p = Project.objects.create(slug='bench', name='Bench')\n"
        "print(api_key_create(project=p, name='bench')[1])\n"
    )
    out = subprocess.run(
        [python, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=env(),
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip().splitlines()[-1]


def start_server(workers: int, worker_class: str, threads: int) -> subprocess.Popen:
    """Start gunicorn and wait until /api/v1/health answers."""
    asgi = worker_class == "asgi"  # what the README serves: config/asgi.py on `-k asgi`
    cmd = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "config.asgi:application" if asgi else "config.wsgi",
        "--bind",
        f"{HOST}:{PORT}",
        "--workers",
        str(workers),
        "--worker-class",
        worker_class,
        "--log-level",
        "warning",
        "--backlog",
        "2048",
        # A socket per worker, spread by the kernel: on one shared socket, the worker awake when
        # the clients connect can accept every keep-alive connection (seen: 0.00 + 0.91 cores).
        "--reuse-port",
    ]
    if worker_class == "gthread":
        cmd += ["--threads", str(threads)]
    server = subprocess.Popen(cmd, cwd=ROOT, env={**env(), "WEB_THREADS": str(threads)})
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            status, _ = asyncio.run(one_request("GET", "/api/v1/health", b"", ""))
            if status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.3)
    server.terminate()
    raise RuntimeError("gunicorn did not become healthy")


# --- a minimal HTTP/1.1 keep-alive client (httpx costs more CPU than the server we measure) --


class Connection:
    def __init__(self) -> None:
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes, token: str) -> tuple[int, bytes]:
        for attempt in range(3):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(HOST, PORT)
            head = (
                f"{method} {path} HTTP/1.1\r\nHost: {HOST}\r\n"
                f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            try:
                self.writer.write(head + body)
                await self.writer.drain()
                status_line = await self.reader.readline()
                if not status_line:
                    raise ConnectionResetError("closed")
                status = int(status_line.split()[1])
                length, close = 0, False
                while True:
                    line = await self.reader.readline()
                    if line in (b"\r\n", b""):
                        break
                    name, _, value = line.decode("latin-1").partition(":")
                    name = name.strip().lower()
                    if name == "content-length":
                        length = int(value)
                    elif name == "connection" and value.strip().lower() == "close":
                        close = True
                payload = await self.reader.readexactly(length) if length else b""
                if close:
                    self.close()
                return status, payload
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def one_request(method: str, path: str, body: bytes, token: str) -> tuple[int, bytes]:
    """One request on a fresh connection."""
    conn = Connection()
    try:
        return await conn.request(method, path, body, token)
    finally:
        conn.close()


def batch_body(prefix: str, n: int, size: int) -> bytes:
    """A POST body of `size` events with unique ids."""
    events = ",".join(
        f'{{"id":"{prefix}-{n}-{i}","source":"{"user" if i % 2 else "llm"}",'
        f'"message":"benchmark message number {i} with a little text in it"}}'
        for i in range(size)
    )
    return f'{{"events":[{events}]}}'.encode()


async def _throughput_worker(token: str, batch: int, seconds: float, conns: int, tag: str) -> tuple:
    stop = time.perf_counter() + seconds
    done = errors = 0

    async def loop(c: int) -> None:
        nonlocal done, errors
        conn = Connection()
        session = f"{tag}-c{c}"
        n = 0
        while time.perf_counter() < stop:
            if batch:
                body = batch_body(f"{tag}-{c}", n, batch)
                status, _ = await conn.request(
                    "POST", f"/api/v1/sessions/{session}/events", body, token
                )
            else:  # the floor: the cheapest endpoint that reaches the database
                status, _ = await conn.request("GET", "/api/v1/health", b"", token)
                status = 201 if status == 200 else status
            n += 1
            if status == 201:
                done += 1
            else:
                errors += 1
        conn.close()

    await asyncio.gather(*(loop(c) for c in range(conns)))
    return done, errors


def _throughput_process(args: tuple, queue: mp.Queue) -> None:
    queue.put(asyncio.run(_throughput_worker(*args)))


# --- where the CPU goes: /proc counters of the gunicorn workers and of PostgreSQL -------------

TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a process so far (None when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS


def _postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def worker_pids(server: subprocess.Popen) -> list[int]:
    """The gunicorn workers' process ids."""
    return [
        int(pid)
        for pid in Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    ]


def wait_idle(server: subprocess.Popen, *, timeout: float = 60.0) -> None:
    """Wait until no gunicorn worker used more than a tenth of a core over the last second
    (their start-up work, such as litellm's import, is over)."""
    workers = worker_pids(server)
    deadline = time.time() + timeout
    before = [_cpu_seconds(pid) or 0.0 for pid in workers]
    while time.time() < deadline:
        time.sleep(1.0)
        now = [_cpu_seconds(pid) or 0.0 for pid in workers]
        if max(b - a for a, b in zip(before, now, strict=True)) < 0.1:
            return
        before = now
    raise RuntimeError("the workers are still busy after start")


class CpuMeter:
    """CPU seconds the gunicorn workers (each) and all PostgreSQL processes spend over a phase.

    Both cores are shared by the client, the workers and PostgreSQL; a worker serves the
    keep-alive connections it accepted, so one busy worker can bound a run before the cores do.
    A PostgreSQL process started during the phase (a new connection) counts whole; one that
    ended during it is left out.
    """

    def __init__(self, server: subprocess.Popen) -> None:
        self.workers = worker_pids(server)

    def _used(self, pids: list[int]) -> list[float]:
        used = []
        for pid in pids:
            now = _cpu_seconds(pid)
            if now is not None:
                used.append(now - (self.before.get(pid) or 0.0))
        return used

    def __enter__(self) -> CpuMeter:
        self.started = time.perf_counter()
        self.before = {p: _cpu_seconds(p) for p in self.workers + _postgres_pids()}
        return self

    def __exit__(self, *exc: object) -> None:
        elapsed = time.perf_counter() - self.started
        self.worker_cores = [u / elapsed for u in self._used(self.workers)]
        self.postgres_cores = sum(self._used(_postgres_pids())) / elapsed

    def summary(self, rate: float, unit: str = "request") -> str:
        """Cores each worker and PostgreSQL kept busy, and CPU per request (or event)."""
        workers = " + ".join(f"{c:.2f}" for c in self.worker_cores)
        each = 1e6 / rate
        return (
            f"cores busy: workers {workers}, PostgreSQL {self.postgres_cores:.2f}; CPU per "
            f"{unit}: workers {sum(self.worker_cores) * each:,.0f} µs, PostgreSQL "
            f"{self.postgres_cores * each:,.0f} µs"
        )


def throughput(token: str, batch: int, seconds: float, procs: int, conns: int) -> tuple:
    """Requests/s, events/s and errors of closed-loop clients in `procs` processes."""
    queue: mp.Queue = mp.Queue()
    run = uuid.uuid4().hex[:6]
    workers = [
        mp.Process(
            target=_throughput_process,
            args=((token, batch, seconds, conns, f"b{batch}-{run}-p{p}"), queue),
        )
        for p in range(procs)
    ]
    started = time.perf_counter()
    for w in workers:
        w.start()
    results = [queue.get() for _ in workers]
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    requests = sum(r[0] for r in results)
    return requests / elapsed, requests * batch / elapsed, sum(r[1] for r in results)


async def fixed_rate(token: str, rate: float, seconds: float, pool: int) -> tuple:
    """Send single-event POSTs on a fixed schedule; latency counts from the scheduled time."""
    total = int(rate * seconds)
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(pool):
        idle.put_nowait(Connection())
    latencies: list[float] = []
    steady: list[float] = []  # after the first second, when the 200 sessions exist
    errors = 0
    run = uuid.uuid4().hex[:6]
    start = time.perf_counter() + 0.2

    async def send(i: int) -> None:
        nonlocal errors
        scheduled = start + i / rate
        conn = await idle.get()
        body = (f'{{"id":"fr-{run}-{i}","source":"user","message":"single event {i}"}}').encode()
        try:
            status, _ = await conn.request(
                "POST", f"/api/v1/sessions/fr-{run}-{i % 200}/events", body, token
            )
            if status != 201:
                errors += 1
        finally:
            idle.put_nowait(conn)
        latencies.append(time.perf_counter() - scheduled)
        if scheduled - start >= 1.0:
            steady.append(latencies[-1])

    tasks = []
    for i in range(total):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(i)))
    await asyncio.gather(*tasks)
    achieved = total / (time.perf_counter() - start)

    def percentiles(values: list[float]) -> tuple[float, float]:
        values = sorted(values)
        return statistics.median(values) * 1e3, values[int(len(values) * 0.99) - 1] * 1e3

    return achieved, *percentiles(latencies), *percentiles(steady), errors


def analyze() -> None:
    """Refresh the planner's statistics, as autovacuum does on a live database: one created
    seconds ago has none, and the planner may then pick any index that starts with project_id
    for a lookup by (project_id, external_id)."""
    import psycopg

    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute("ANALYZE")


def copy_ceiling(rows: int) -> float:
    """rows/s of COPY into the events table for one session, on the same database."""
    import psycopg

    with psycopg.connect(DATABASE_URL) as conn:
        project_id = conn.execute("SELECT id FROM sessions_app_project LIMIT 1").fetchone()[0]
        session_id = conn.execute(
            "INSERT INTO sessions_app_agentsession (project_id, external_id, path, depth, kind,"
            " title, preview, agent_name, user_ref, status, metadata, state, service_session_id,"
            " created_at, updated_at, last_event_at, event_count, last_seq, prompt_tokens,"
            " completion_tokens, total_tokens, cost_usd, error_count, children_count,"
            " review_status, review_note, duration_seconds) VALUES (%s, %s, '', 0, 'root', '', '',"
            " '', '', 'active', '{}', '{}', '', now(), now(), now(), 0, 0, 0, 0, 0, 0, 0, 0, '',"
            " '', 0)"
            " RETURNING id",
            (project_id, f"copy-{uuid.uuid4().hex[:8]}"),
        ).fetchone()[0]
        conn.commit()
        columns = (
            "project_id, session_id, external_id, seq, timestamp, received_at, source, type,"
            " role, name, tool_call_id, content, is_error, payload, payload_format, body_hash,"
            " metadata, span_id, trace_id"
        )
        tag = uuid.uuid4().hex[:8]
        started = time.perf_counter()
        cur = conn.cursor()
        with cur.copy(f"COPY sessions_app_event ({columns}) FROM STDIN") as copy:
            for i in range(rows):
                copy.write_row(
                    (
                        project_id,
                        session_id,
                        f"copy-{tag}-{i}",
                        i + 1,
                        "2026-01-01T00:00:00Z",
                        "2026-01-01T00:00:00Z",
                        "user",
                        "message",
                        "user",
                        "",
                        "",
                        f"benchmark message number {i} with a little text",
                        False,
                        json.dumps({"id": f"copy-{tag}-{i}", "source": "user"}),
                        "native",
                        "",
                        "{}",
                        "",
                        "",
                    )
                )
        conn.commit()
        return rows / (time.perf_counter() - started)


def profile(token: str, batch: int, requests: int) -> None:
    """cProfile the request path in-process (Django test client, same database)."""
    import cProfile
    import pstats

    os.environ.update(env())
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.test import Client

    client = Client()
    headers = {"Authorization": f"Bearer {token}"}

    def go() -> None:
        run = uuid.uuid4().hex[:6]  # fresh ids each time: duplicates take a shorter path
        for n in range(requests):
            client.post(
                f"/api/v1/sessions/prof-{run}-{n % 20}/events",
                data=batch_body(f"prof-{run}", n, batch),
                content_type="application/json",
                headers=headers,
            )

    go()  # warm up (imports, connections)
    profiler = cProfile.Profile()
    profiler.enable()
    go()
    profiler.disable()
    log(f"\n--- cProfile: {requests} POSTs of {batch} event(s), top by own time ---")
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(18)


def main() -> None:
    """Run every measurement and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--worker-class", default="gthread", choices=["sync", "gthread", "asgi"])
    # Threads let one worker overlap requests waiting on PostgreSQL's commit flush (fsync).
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument(
        "--async-commit",
        action="store_true",
        help="serve with synchronous_commit=off (a crash may lose the last ~0.6 s of commits)",
    )
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--copy-rows", type=int, default=200_000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    global ASYNC_COMMIT
    ASYNC_COMMIT = args.async_commit

    log(f"database {DB}: recreating and migrating")
    token = prepare_database()
    server = start_server(2, args.worker_class, args.threads)
    threads = f" x {args.threads} threads" if args.worker_class != "sync" else ""
    commit = "synchronous_commit=off" if ASYNC_COMMIT else "synchronous_commit=on"
    log(f"gunicorn: 2 {args.worker_class} workers{threads} on {HOST}:{PORT}, {commit}")
    try:
        for batch, conns in ((1, 8), (50, 4), (500, 2)):
            throughput(token, batch, 2.0, args.client_procs, conns)  # warm up
            analyze()
            with CpuMeter(server) as cpu:
                reqs, events, errors = throughput(
                    token, batch, args.duration, args.client_procs, conns
                )
            log(
                f"batch {batch:>3}: {events:>9,.0f} events/s  ({reqs:,.0f} requests/s, "
                f"{errors} errors)"
            )
            log(f"           {cpu.summary(events, 'event') if batch > 1 else cpu.summary(reqs)}")
        throughput(token, 0, 1.0, args.client_procs, 8)  # warm up
        with CpuMeter(server) as cpu:
            reqs, _, errors = throughput(token, 0, args.duration / 2, args.client_procs, 8)
        log(
            f"floor: GET /api/v1/health (no auth, one SELECT 1, no write): {reqs:,.0f} "
            f"requests/s ({errors} errors)"
        )
        log(f"           {cpu.summary(reqs)}")
        achieved, p50, p99, steady50, steady99, errors = asyncio.run(
            fixed_rate(token, args.rate, args.duration, pool=64)
        )
        log(
            f"single POST at {args.rate:.0f}/s: achieved {achieved:,.0f}/s, p50 {p50:.1f} ms, "
            f"p99 {p99:.1f} ms, {errors} errors (after the first second: p50 {steady50:.1f} ms, "
            f"p99 {steady99:.1f} ms)"
        )
    finally:
        server.terminate()
        server.wait(10)
    log(f"COPY ceiling: {copy_ceiling(args.copy_rows):,.0f} rows/s into the events table")
    if args.profile:
        profile(token, 1, 400)
        profile(token, 500, 8)


if __name__ == "__main__":
    main()
