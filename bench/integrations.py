"""What the agent integrations cost, against a running server (start one with `make run`, or
gunicorn on PostgreSQL for production figures).

1. The Python client: latency of a single-event POST and of a `get_items(limit)` read (one
   `tail` read), beside the health floor (GET /api/v1/health on the same kept-alive
   connection: the least a round trip through the server costs in the same run), and items per
   second in batches of 50.
2. Each framework adapter against the framework's own store, per turn of a 4-turn conversation
   (median of N conversations), with the requests each turn sends over the client's kept-alive
   connection: the Agents SDK's Runner (tools, a handoff) with `SQLiteSession` (a temporary file),
   with and without `limit`, against `SessionscopeSession` write-through (the default) and
   write-behind (`write_behind=True`; its last flush is timed); Agent Framework with its
   `FileHistoryProvider`; a2a's in-memory store; agentsilex's list session; and what the
   litellm callback adds to the caller's call.
   Native and Sessionscope conversations alternate (A B A B), so load that comes and goes
   weighs on both; each adapter's added time is printed beside its requests a turn times the
   health floor (what the added time would be if each request cost no more than the floor).

    .venv/bin/python bench/integrations.py --url http://127.0.0.1:8000 --api-key ss_... \
        [--only client,sdk,af,a2a,silex,litellm] [--sdk-modes write-through,write-behind]

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

FLOOR: dict[str, float] = {}


def timed(fn: object, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return times


def ms(times: list[float]) -> str:
    return f"median {statistics.median(times) * 1000:.1f} ms (min {min(times) * 1000:.1f} ms)"


def health_floor(client: SessionscopeClient, runs: int) -> float:
    """The median health round trip on the client's kept-alive connection (the run's floor)."""
    times = timed(lambda: client._http.get("/health"), runs)
    FLOOR["health"] = statistics.median(times)
    print(f"health floor: {ms(times)}, {runs} requests")
    return FLOOR["health"]


def client_figures(client: SessionscopeClient, runs: int) -> None:
    session = f"bench-client-{uuid.uuid4().hex[:8]}"
    health_floor(client, runs)
    n = iter(range(10**9))
    posts = timed(
        lambda: client.append_events(session, [{"source": "user", "message": f"m{next(n)}"}]),
        runs,
    )
    print(f"single-event POST: {ms(posts)}, {runs} requests")
    items = [
        {"format": "responses", "item": {"role": "user", "content": f"i{i}"}} for i in range(30)
    ]
    client.append_events(session, items)
    reads = timed(lambda: client.latest_items(session, fmt="responses", limit=10), runs)
    print(f"get_items(limit=10) read (tail): {ms(reads)}, {runs} requests")
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


def counted(client: SessionscopeClient) -> list[object]:
    """The requests the client sends from now on."""
    sent: list[object] = []
    client._http.event_hooks["request"] = [sent.append]
    return sent


def report(name: str, theirs: list[float], ours: list[float], turns: int, requests: int) -> None:
    a, b = statistics.median(theirs), statistics.median(ours)
    per_turn = requests / len(ours) / turns
    floor = FLOOR.get("health")
    at_floor = "" if floor is None else f"; at the health floor: +{per_turn * floor * 1000:.1f} ms"
    print(
        f"{name}: native {a / turns * 1000:.1f} ms a turn, Sessionscope "
        f"{b / turns * 1000:.1f} ms a turn (+{(b - a) / turns * 1000:.1f} ms, "
        f"{per_turn:.2f} requests a turn{at_floor}; median of {len(ours)})"
    )


def sdk_figures(client: SessionscopeClient, conversations: int, modes: list[str]) -> None:
    from agents.memory import SessionSettings

    for mode in modes:
        behind = mode == "write-behind"
        for label, settings in (("", None), (" with limit=10", SessionSettings(limit=10))):
            ours: list[float] = []
            theirs: list[float] = []
            sent: list[object] = []
            with tempfile.TemporaryDirectory() as folder:
                for i in range(conversations):  # A B A B: native, then ours, in turn
                    sqlite = SQLiteSession(
                        f"bench-{i}", Path(folder) / "agents.db", session_settings=settings
                    )
                    started = time.perf_counter()
                    asyncio.run(conversation(sqlite))
                    theirs.append(time.perf_counter() - started)
                    sqlite.close()
                    remote = SessionscopeSession(
                        f"bench-sdk-{uuid.uuid4().hex[:8]}",
                        client=client,
                        session_settings=settings,
                        write_behind=behind,
                    )
                    client._http.event_hooks["request"] = [sent.append]
                    started = time.perf_counter()
                    asyncio.run(conversation(remote))
                    # Write-behind: the last turn's items are stored within the timed part.
                    remote.flush()
                    ours.append(time.perf_counter() - started)
                    client._http.event_hooks["request"] = []
            report(f"Agents SDK, {mode}{label}", theirs, ours, len(USER_TURNS), len(sent))


def agent_framework_figures(client: SessionscopeClient, conversations: int) -> None:
    import warnings

    from agent_framework import Agent, BaseChatClient, ChatResponse, Message
    from sessionscope_client.agent_framework import SessionscopeHistoryProvider

    warnings.simplefilter("ignore")
    from agent_framework import FileHistoryProvider

    class Echo(BaseChatClient):
        async def _inner_get_response(self, *, messages, stream, options, **kwargs):
            return ChatResponse(
                messages=[Message(role="assistant", contents=[f"seen {len(messages)}"])],
                usage_details={"input_token_count": 20, "output_token_count": 5},
                model="gpt-4o-mini",
            )

    def run(provider) -> float:
        agent = Agent(client=Echo(), context_providers=[provider])
        session = agent.create_session(session_id=f"bench-af-{uuid.uuid4().hex[:8]}")

        async def go() -> None:
            for turn in USER_TURNS:
                await agent.run(turn, session=session)

        started = time.perf_counter()
        asyncio.run(go())
        return time.perf_counter() - started

    with tempfile.TemporaryDirectory() as folder:
        theirs = [run(FileHistoryProvider(folder)) for _ in range(conversations)]
    sent = counted(client)
    ours = [run(SessionscopeHistoryProvider(client=client)) for _ in range(conversations)]
    report("Agent Framework", theirs, ours, len(USER_TURNS), len(sent))


def a2a_figures(client: SessionscopeClient, conversations: int) -> None:
    from a2a_session_manager.models.session import Session
    from a2a_session_manager.models.session_event import SessionEvent
    from a2a_session_manager.storage import SessionStoreProvider
    from a2a_session_manager.storage.providers.memory import InMemorySessionStore
    from sessionscope_client.a2a_store import SessionscopeA2AStore

    def run(store) -> float:
        SessionStoreProvider.set_store(store)
        sid = f"bench-a2a-{uuid.uuid4().hex[:8]}"
        store.save(Session(id=sid))
        started = time.perf_counter()
        for turn in USER_TURNS:  # a turn: load, add the user's and the model's events, save
            session = store.get(sid)
            session.add_event(SessionEvent(message=turn, source="user"))
            session.add_event(SessionEvent(message=f"answer to {turn}", source="llm"))
            store.save(session)
        return time.perf_counter() - started

    theirs = [run(InMemorySessionStore()) for _ in range(conversations)]
    sent = counted(client)
    ours = [run(SessionscopeA2AStore(client=client)) for _ in range(conversations)]
    SessionStoreProvider.set_store(None)
    # The saves of the empty sessions before timing are not part of a turn.
    report("a2a store", theirs, ours, len(USER_TURNS), len(sent) - 2 * conversations)


def agentsilex_figures(client: SessionscopeClient, conversations: int) -> None:
    from sessionscope_client.agentsilex import SessionscopeListSession

    class ListSession:
        def __init__(self) -> None:
            self.dialogs: list = []

        def get_dialogs(self) -> list:
            return list(self.dialogs)

        def add_new_messages(self, messages: list) -> None:
            self.dialogs.extend(messages)

    def run(session) -> float:
        started = time.perf_counter()
        for turn in USER_TURNS:  # the Runner: add the input, read the dialog, add the reply
            session.add_new_messages([{"role": "user", "content": turn}])
            session.get_dialogs()
            session.add_new_messages([{"role": "assistant", "content": f"answer to {turn}"}])
        return time.perf_counter() - started

    theirs = [run(ListSession()) for _ in range(conversations)]
    sent = counted(client)
    ours = [
        run(SessionscopeListSession(f"bench-silex-{uuid.uuid4().hex[:8]}", client=client))
        for _ in range(conversations)
    ]
    report("agentsilex list session", theirs, ours, len(USER_TURNS), len(sent))


def litellm_figures(client: SessionscopeClient, calls: int) -> None:
    import os

    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm
    from sessionscope_client.litellm_callback import SessionscopeLogger

    def run(session: str) -> float:
        messages = [{"role": "user", "content": "Hello"}]
        started = time.perf_counter()
        litellm.completion(
            model="gpt-4o-mini",
            messages=messages,
            mock_response="Hi",
            metadata={"session_id": session},
        )
        return time.perf_counter() - started

    run("warm-up")
    theirs = [run("none") for _ in range(calls)]
    logger = SessionscopeLogger(client=client)
    litellm.callbacks = [logger]
    ours = [run(f"bench-litellm-{uuid.uuid4().hex[:8]}") for _ in range(calls)]
    logger.close(timeout=30)
    litellm.callbacks = []
    # The callback sends from a background thread: the caller's added time is the figure.
    report("litellm callback (caller's time)", theirs, ours, 1, 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--conversations", type=int, default=10)
    parser.add_argument("--only", default="client,sdk,af,a2a,silex,litellm")
    parser.add_argument(
        "--sdk-modes",
        default="write-through,write-behind",
        help="SessionscopeSession's modes timed by the sdk rows",
    )
    args = parser.parse_args()
    only = set(args.only.split(","))
    with SessionscopeClient(args.url, args.api_key, timeout=30) as client:
        if "client" in only:
            client_figures(client, args.requests)
        else:
            health_floor(client, args.requests)
        if "sdk" in only:
            sdk_figures(client, args.conversations, args.sdk_modes.split(","))
        if "af" in only:
            agent_framework_figures(client, args.conversations)
        if "a2a" in only:
            a2a_figures(client, args.conversations)
        if "silex" in only:
            agentsilex_figures(client, args.conversations)
        if "litellm" in only:
            litellm_figures(client, args.requests)


if __name__ == "__main__":
    main()
