"""OTLP ingest benchmark: the workload Arize Phoenix persisted at 52-120 spans/s here.

20,000 OpenInference LLM spans (one per conversation turn: a ~500 B user message in, a ~500 B
answer out, token counts, `session.id` over 200 sessions, `user.id` over 50 users), sent as raw
OTLP/HTTP protobuf in batches of 500 by 4 concurrent senders to gunicorn (2 workers) on
PostgreSQL. Each sender exports the turns of its own 50 conversations, 10 conversations per
batch (as an agent process serving many conversations exports every few seconds).

Prints spans/s acknowledged (a 200 without rejected spans: every span is stored), the CPU per
span of the workers and PostgreSQL, and, in the same run, the same figures for the JSON API's
batches of 500 LLM-shaped events (messages of ~400 characters, priced usage on half of them).
Last, the ceiling of this machine at this moment: rows/s of a raw COPY into the events table of
the same database (a span stores two events and a usage row, so judge spans/s by the ratio).

Usage: .venv/bin/python bench/otlp.py [--spans 20000] [--copy-rows 40000]
       [--worker-class gthread|asgi] [--warm-llm]
--warm-llm serves as the README does, litellm imported by every worker at start (the compare
page's warm-up), and waits for that import to finish before measuring.
It creates (and drops first) its own database, ss_bench_otlp. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import sys
import time
import uuid
from pathlib import Path

os.environ.setdefault("BENCH_DB", "ss_bench_otlp")
os.environ.setdefault("BENCH_PORT", "18450")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import ingest
from bench.ingest import (
    HOST,
    PORT,
    CpuMeter,
    analyze,
    copy_ceiling,
    log,
    prepare_database,
    start_server,
    wait_idle,
)

SENDERS, BATCH, SESSIONS, USERS, PER_BATCH_SESSIONS = 4, 500, 200, 50, 10
TEXT = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor. "


def _spans_request(run: str, sender: int, batch_no: int, turns: list[tuple[int, int]]) -> bytes:
    """One ExportTraceServiceRequest (protobuf) of LLM spans for (session, turn) pairs."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    def kv(key: str, value: object) -> KeyValue:
        if isinstance(value, int):
            return KeyValue(key=key, value=AnyValue(int_value=value))
        return KeyValue(key=key, value=AnyValue(string_value=str(value)))

    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    base = 1_767_607_200_000_000_000
    for i, (session, turn) in enumerate(turns):
        span = scope.spans.add()
        span.trace_id = uuid.uuid4().bytes
        span.span_id = uuid.uuid4().bytes[:8]
        span.name = "ChatCompletion"
        span.start_time_unix_nano = base + (turn * 60 + i % 7) * 1_000_000_000
        span.end_time_unix_nano = span.start_time_unix_nano + 850_000_000
        question = f"[{run} s{session} t{turn}] " + TEXT * 6  # ~500 B
        answer = f"[{run} s{session} t{turn}] answer: " + TEXT * 6
        span.attributes.extend(
            [
                kv("openinference.span.kind", "LLM"),
                kv("session.id", f"{run}-session-{session}"),
                kv("user.id", f"user-{session % USERS}"),
                kv("llm.model_name", "gpt-4o-mini"),
                kv("llm.input_messages.0.message.role", "user"),
                kv("llm.input_messages.0.message.content", question),
                kv("llm.output_messages.0.message.role", "assistant"),
                kv("llm.output_messages.0.message.content", answer),
                kv("llm.token_count.prompt", 130 + turn),
                kv("llm.token_count.completion", 125),
                kv("llm.token_count.total", 255 + turn),
            ]
        )
    return request.SerializeToString()


def _otlp_bodies(run: str, sender: int, spans: int) -> list[tuple[bytes, int]]:
    """The sender's batches: its 50 sessions' turns, 10 sessions per batch."""
    own = list(range(sender * SESSIONS // SENDERS, (sender + 1) * SESSIONS // SENDERS))
    turns_each = spans // SENDERS // len(own)
    per_batch = BATCH // PER_BATCH_SESSIONS
    bodies = []
    for start in range(0, turns_each, per_batch):
        for group in range(0, len(own), PER_BATCH_SESSIONS):
            pairs = [
                (s, t)
                for s in own[group : group + PER_BATCH_SESSIONS]
                for t in range(start, min(start + per_batch, turns_each))
            ]
            bodies.append((_spans_request(run, sender, len(bodies), pairs), len(pairs)))
    return bodies


def _json_bodies(run: str, sender: int, events: int) -> list[tuple[str, bytes]]:
    """JSON API batches of 500 LLM-shaped events (~400 chars), usage on half of them."""
    bodies = []
    for n in range(events // SENDERS // BATCH):
        session = f"{run}-json-{sender}-{n % 10}"
        items = []
        for i in range(BATCH):
            event = {
                "id": f"{run}-{sender}-{n}-{i}",
                "source": "llm" if i % 2 else "user",
                "message": f"[{n}.{i}] " + TEXT * 5,
            }
            if i % 2:
                event["token_usage"] = {
                    "model": "gpt-4o-mini",
                    "prompt_tokens": 130,
                    "completion_tokens": 125,
                }
            items.append(event)
        body = json.dumps({"events": items}).encode()
        bodies.append((f"/api/v1/sessions/{session}/events", body))
    return bodies


async def _post(path: str, body: bytes, token: str, content_type: str, conn: list) -> bytes:
    if not conn:
        conn.extend(await asyncio.open_connection(HOST, PORT))
    reader, writer = conn
    writer.write(
        (
            f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body
    )
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    length, close = 0, False
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
        elif name.strip().lower() == "connection" and value.strip().lower() == "close":
            close = True
    payload = await reader.readexactly(length) if length else b""
    if close:
        writer.close()
        conn.clear()
    if status not in (200, 201):
        raise RuntimeError(f"{path}: {status} {payload[:300]!r}")
    return payload


def _send(args: tuple, queue: mp.Queue) -> None:
    kind, bodies, token = args

    async def go() -> tuple[int, int]:
        conn: list = []
        acknowledged = rejected = 0
        for path, body, count in bodies:
            if kind == "otlp":
                from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
                    ExportTraceServiceResponse,
                )

                answer = ExportTraceServiceResponse()
                answer.ParseFromString(
                    await _post(path, body, token, "application/x-protobuf", conn)
                )
                bad = answer.partial_success.rejected_spans
                acknowledged += count - bad
                rejected += bad
            else:
                await _post(path, body, token, "application/json", conn)
                acknowledged += count
        return acknowledged, rejected

    try:
        queue.put(asyncio.run(go()))
    except Exception as exc:  # the parent waits on the queue: report, never hang it
        queue.put((0, 0, repr(exc)))


def phase(server, kind: str, per_sender: list[list[tuple[str, bytes, int]]], token: str):
    """Send every sender's bodies concurrently; returns (items/s, rejected, CpuMeter)."""
    queue: mp.Queue = mp.Queue()
    procs = [mp.Process(target=_send, args=((kind, b, token), queue)) for b in per_sender]
    with CpuMeter(server) as meter:
        started = time.perf_counter()
        for p in procs:
            p.start()
        results = [queue.get() for _ in procs]
        for p in procs:
            p.join()
        elapsed = time.perf_counter() - started
    for r in results:
        if len(r) > 2:
            raise RuntimeError(f"a sender failed: {r[2]}")
    done = sum(r[0] for r in results)
    return done / elapsed, sum(r[1] for r in results), meter, done, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spans", type=int, default=20_000)
    parser.add_argument("--copy-rows", type=int, default=40_000)
    # gthread (4 threads) as bench/ingest.py; asgi is what the README serves (`-k asgi`).
    parser.add_argument("--worker-class", default="gthread", choices=["gthread", "asgi"])
    parser.add_argument("--warm-llm", action="store_true")
    args = parser.parse_args()
    ingest.WARM_LLM = args.warm_llm
    token = prepare_database()
    server = start_server(2, args.worker_class, 4)
    if args.warm_llm:
        wait_idle(server)
    log(f"gunicorn: 2 {args.worker_class} workers, 4 threads each"
        f"{', litellm imported at start' if args.warm_llm else ''}")  # fmt: skip
    try:
        run = uuid.uuid4().hex[:6]
        # Warm up both workers first (the first priced event imports litellm, ~3 s of CPU).
        warm = [[("/api/otel/v1/traces", b, n) for b, n in _otlp_bodies("warm", s, 400)]
                for s in range(SENDERS)]  # fmt: skip
        phase(server, "otlp", warm, token)
        otlp = [
            [("/api/otel/v1/traces", b, n) for b, n in _otlp_bodies(run, s, args.spans)]
            for s in range(SENDERS)
        ]
        sizes = [len(b) for bodies in otlp for _, b, _ in bodies]
        log(f"OTLP: {sum(len(x) for x in otlp)} batches of up to {BATCH} spans, "
            f"{sum(sizes) / len(sizes) / 1024:.0f} KiB each, {SENDERS} senders")  # fmt: skip
        rate, rejected, meter, done, elapsed = phase(server, "otlp", otlp, token)
        done_spans, elapsed_spans = done, elapsed
        log(f"OTLP spans acknowledged: {done} in {elapsed:.1f} s = {rate:,.0f} spans/s "
            f"(rejected {rejected})")  # fmt: skip
        log("  " + meter.summary(rate, "span"))
        json_batches = [
            [(path, body, BATCH) for path, body in _json_bodies(run, s, args.spans)]
            for s in range(SENDERS)
        ]
        rate, _, meter, done, elapsed = phase(server, "json", json_batches, token)
        log(f"JSON API events (batches of {BATCH}, usage on half): {done} in {elapsed:.1f} s "
            f"= {rate:,.0f} events/s")  # fmt: skip
        log("  " + meter.summary(rate, "event"))
        analyze()
        ceiling = copy_ceiling(args.copy_rows)
        log(f"Ceiling: COPY into the events table {ceiling:,.0f} rows/s "
            f"(OTLP {2 * done_spans / elapsed_spans / ceiling:.0%} of it at 2 events a span, "
            f"JSON API {rate / ceiling:.0%})")  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
