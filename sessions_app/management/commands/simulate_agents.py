"""Run demo agents (OpenAI Agents SDK, scripted local model) against a running Sessionscope.

    manage.py simulate_agents --url http://127.0.0.1:8000 --api-key ss_... --sessions 50 \
        --concurrency 8

Each session is a conversation of a few turns with a triage agent that uses a weather tool and
hands refunds to a refunds agent (its own child session); items go through the Python client
over HTTP, exactly as an agent using `SessionscopeSession` writes them, with each run's usage.
Nothing here touches the database directly: point it at any server.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

CITIES = ["Paris", "Oslo", "Lisbon", "Kyoto", "Austin", "Nairobi"]
OPENERS = ["Hi there", "Hello, I need some help", "Good morning"]
CLOSERS = ["Thanks, that is all", "Great, bye", "Perfect, thank you"]


def script(rng: random.Random) -> list[str]:
    """The user turns of one simulated conversation."""
    middle = [
        f"What is the weather in {rng.choice(CITIES)}?",
        f"I want a refund for order {rng.randint(1000, 9999)}",
    ]
    rng.shuffle(middle)
    return [rng.choice(OPENERS), *middle[: rng.randint(1, 2)], rng.choice(CLOSERS)]


class Command(BaseCommand):
    help = "Generate realistic agent traffic over HTTP with real Agents SDK agents (no network)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", required=True, help="Sessionscope base URL.")
        parser.add_argument("--api-key", required=True, help="An API key of the target project.")
        parser.add_argument("--sessions", type=int, default=10, help="Conversations to run.")
        parser.add_argument("--concurrency", type=int, default=4, help="Conversations at once.")
        parser.add_argument("--prefix", default="sim", help="Session id prefix.")
        parser.add_argument("--seed", type=int, default=None, help="Random seed (repeatable).")

    def handle(self, *args: object, **options: object) -> None:
        try:
            # Development dependencies (`make install-dev`): the web app runs without them.
            import httpx
            from sessionscope_client import SessionscopeClient, SessionscopeError
        except ImportError as exc:
            raise CommandError(f"{exc.name} is missing: run `make install-dev`.") from exc
        sessions = int(str(options["sessions"]))
        concurrency = int(str(options["concurrency"]))
        if sessions < 1 or concurrency < 1:
            raise CommandError("--sessions and --concurrency must be at least 1.")
        # httpx logs every request at INFO: thousands of lines that would bury the summary.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        client = SessionscopeClient(str(options["url"]), str(options["api_key"]), timeout=30)
        try:
            # Fails fast on a wrong URL or key instead of in every conversation.
            client.get_session(f"{options['prefix']}-probe")
        except (SessionscopeError, httpx.HTTPError) as exc:
            raise CommandError(f"Cannot use {options['url']}: {exc}") from exc
        seed = options["seed"]
        rng = random.Random(seed if isinstance(seed, int) else None)
        started = time.monotonic()
        counts = asyncio.run(
            self._run_all(client, sessions, concurrency, str(options["prefix"]), rng)
        )
        elapsed = time.monotonic() - started
        client.close()
        self.stdout.write(
            f"{sessions} sessions, {counts['runs']} runs, {counts['items']} items, "
            f"{counts['handoffs']} handoffs in {elapsed:.1f}s "
            f"({counts['items'] / elapsed:.0f} items/s, concurrency {concurrency})."
        )

    async def _run_all(
        self,
        client: Any,
        sessions: int,
        concurrency: int,
        prefix: str,
        rng: random.Random,
    ) -> dict[str, int]:
        from agents import Runner
        from sessionscope_client.openai_agents import SessionscopeRunHooks, SessionscopeSession

        from sessions_app.demo_agents import MODEL_NAME, build_agents

        limit = asyncio.Semaphore(concurrency)
        counts = {"runs": 0, "items": 0, "handoffs": 0}
        agent = build_agents()
        batch = uuid.uuid4().hex[:6]

        async def one(index: int) -> None:
            async with limit:
                session = SessionscopeSession(
                    f"{prefix}-{batch}-{index}",
                    client=client,
                    agent_name=agent.name,
                    user_ref=f"user-{index % 7}",
                    title=f"Simulated conversation {index}",
                )
                hooks = SessionscopeRunHooks(session)
                for turn in script(random.Random(rng.random())):
                    result = await Runner.run(agent, turn, session=session, hooks=hooks)
                    await session.store_run_usage(result, model=MODEL_NAME)
                    counts["runs"] += 1
                counts["items"] += len(await session.get_items())
                counts["handoffs"] += len(hooks.handoffs)

        await asyncio.gather(*(one(i) for i in range(sessions)))
        return counts
