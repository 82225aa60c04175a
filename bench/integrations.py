"""What the agent integrations cost, against a running server (start one with `make run`, or
gunicorn on PostgreSQL for production figures).

1. The Python client: latency of a single-event POST, and items per second in batches of 50.
2. The OpenAI Agents SDK: the same scripted conversation (4 turns, tools, a handoff) run with the
   SDK's own `SQLiteSession` (a temporary file) and with `SessionscopeSession` over HTTP: median
   time per conversation for each, and the difference (what storing in Sessionscope adds).

    .venv/bin/python bench/integrations.py --url http://127.0.0.1:8000 --api-key ss_...
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agents import Runner, SQLiteSession
from sessionscope_client import SessionscopeClient
from sessionscope_client.openai_agents import SessionscopeSession

from sessions_app.demo_agents import USER_TURNS, build_agents


def client_figures(client: SessionscopeClient, runs: int) -> None:
    session = f"bench-client-{uuid.uuid4().hex[:8]}"
    times = []
    for i in range(runs):
        started = time.perf_counter()
        client.append_events(session, [{"source": "user", "message": f"message {i}"}])
        times.append(time.perf_counter() - started)
    print(
        f"single-event POST: median {statistics.median(times) * 1000:.1f} ms "
        f"(min {min(times) * 1000:.1f} ms, {runs} requests)"
    )
    batches = max(runs // 5, 1)
    started = time.perf_counter()
    for b in range(batches):
        client.append_events(
            session,
            [
                {"format": "responses", "item": {"role": "user", "content": f"{b}-{i}"}}
                for i in range(50)
            ],
        )
    elapsed = time.perf_counter() - started
    print(f"batches of 50 Responses items: {batches * 50 / elapsed:.0f} items/s")


async def conversation(session: object) -> None:
    agent = build_agents()
    for turn in USER_TURNS:
        await Runner.run(agent, turn, session=session)


def sdk_figures(client: SessionscopeClient, conversations: int) -> None:
    ours, theirs = [], []
    sent: list[object] = []
    client._http.event_hooks["request"].append(sent.append)
    with tempfile.TemporaryDirectory() as folder:
        for i in range(conversations):
            sqlite = SQLiteSession(f"bench-{i}", Path(folder) / "agents.db")
            started = time.perf_counter()
            asyncio.run(conversation(sqlite))
            theirs.append(time.perf_counter() - started)
            sqlite.close()
            remote = SessionscopeSession(f"bench-sdk-{uuid.uuid4().hex[:8]}", client=client)
            started = time.perf_counter()
            asyncio.run(conversation(remote))
            ours.append(time.perf_counter() - started)
    a, b = statistics.median(theirs), statistics.median(ours)
    print(
        f"Agents SDK, {len(USER_TURNS)}-turn conversation (14 items), median of "
        f"{conversations}: SQLiteSession {a * 1000:.0f} ms, "
        f"SessionscopeSession {b * 1000:.0f} ms "
        f"(+{(b - a) * 1000 / len(USER_TURNS):.0f} ms a turn, "
        f"{len(sent) / conversations / len(USER_TURNS):.1f} requests a turn)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--conversations", type=int, default=10)
    args = parser.parse_args()
    with SessionscopeClient(args.url, args.api_key, timeout=30) as client:
        client_figures(client, args.requests)
        sdk_figures(client, args.conversations)


if __name__ == "__main__":
    main()
