"""Demo data written through the service layer, as the ingest API would write it.

A few hundred sessions over the last 30 days: several agents, end users and models (one with an
unknown price, one priced by a project override), tool calls with results and errors, runs in
every status, sub-agent children, summary segments, and one long session of 20,000 events.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from sessions_app import demo_scripts
from sessions_app.demo_scripts import ASKS, FRAMEWORKS, SHAPES, Script, Turn, fill, framework_item
from sessions_app.inputs import EventInput, UsageInput
from sessions_app.models import AgentSession, ApiKey, Membership, ModelPrice, Project, Run, Summary
from sessions_app.services.events import events_append
from sessions_app.services.projects import api_key_create, membership_set, project_create
from sessions_app.services.runs import run_create, run_update
from sessions_app.services.sessions import session_continue_in, session_upsert

DEMO_USER = "demo"
DEMO_PASSWORD = "sessionscope-demo"
DEMO_PROJECT = "demo"

# Each agent's model is priced: by litellm's bundled table, or (the local llama) by the demo
# project's price override, so no demo session shows $0 by accident.
AGENTS: dict[str, tuple[str, list[Script]]] = {
    "support-bot": ("gpt-4o-mini", demo_scripts.SUPPORT),
    "research-agent": ("gpt-4o", demo_scripts.RESEARCH),
    "code-assistant": ("claude-sonnet-4-5-20250929", demo_scripts.CODING),
    "travel-planner": ("claude-haiku-4-5-20251001", demo_scripts.TRAVEL),
    "local-analyst": ("my-local-llama", demo_scripts.ANALYST),
}


def credentials_line(url: str) -> str:
    """The one line that says where to go: the URL, the login and the demo API key."""
    return (
        f"Sessionscope is ready: {url}  login {DEMO_USER} / {DEMO_PASSWORD}  API key {demo_token()}"
    )


def demo_token() -> str:
    """The demo key's token, derived from SECRET_KEY so `make run` can print it every time."""
    digest = hashlib.sha256(f"sessionscope-demo:{settings.SECRET_KEY}".encode()).hexdigest()
    return f"ss_demo0000_{digest[:40]}"


@contextmanager
def _unsynced_sqlite() -> Iterator[None]:
    """On SQLite, no wait for the disk while seeding (PRAGMA synchronous=OFF): demo data that a
    power cut loses is seeded again on the next start. The setting is put back afterwards; it
    cannot change inside a transaction (a caller's, or a test's), so there it stays as it is."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous")
        (previous,) = cursor.fetchone()
        cursor.execute("PRAGMA synchronous=OFF")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA synchronous={int(previous)}")


class Command(BaseCommand):
    help = "Create a demo user, project, API key and realistic demo sessions (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sessions", type=int, default=300)
        parser.add_argument("--long-events", type=int, default=20_000)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument(
            "--quiet-credentials",
            action="store_true",
            help="Do not print the login and key (make run prints them once the server answers)",
        )
        parser.add_argument(
            "--wait-for",
            metavar="URL",
            default="",
            help="Write nothing: wait until URL answers, then print one line with the login",
        )
        parser.add_argument(
            "--ready-at",
            metavar="URL",
            default="",
            help="Seed, then wait until URL answers (a server started beside the seeding) and "
            "print one line with the login last",
        )

    def handle(
        self,
        *args,
        sessions: int,
        long_events: int,
        seed: int,
        quiet_credentials: bool = False,
        wait_for: str = "",
        ready_at: str = "",
        **options,
    ) -> None:
        if wait_for:
            self._announce_when_up(wait_for)
            return
        started = time.monotonic()
        self._shown: dict[str, int] = {}
        project = Project.objects.filter(slug=DEMO_PROJECT).first()
        if project is None:
            # One transaction: a commit (and on SQLite an fsync) after each of the ~5,000
            # service calls was most of the seeding's time; a failure leaves no half demo.
            with _unsynced_sqlite(), transaction.atomic():
                project = self._setup()
                self.rng = random.Random(seed)
                self.now = timezone.now()
                self.project = project
                self._seed_sessions(sessions)
                if long_events:
                    self._long_session(long_events)
                # Infinite conversations from now on: set after seeding, so the long demo
                # session stays one session of `long_events` events.
                Project.objects.filter(pk=project.pk).update(
                    segment_token_threshold=60_000, segment_turn_limit=200
                )
            self.stdout.write(
                f"Seeded {AgentSession.objects.filter(project=project).count()} sessions in "
                f"{time.monotonic() - started:.1f}s."
            )
        else:
            self.stdout.write("Demo data already present; nothing written.")
        if ready_at:
            self._announce_when_up(ready_at)
        elif not quiet_credentials:
            self.stdout.write(credentials_line("http://127.0.0.1:8000/"))

    def _announce_when_up(self, url: str, timeout: float = 60.0) -> None:
        """Poll `url` until it answers, then print the credentials line (the last line of
        `make run`); fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2):
                    break
            except urllib.error.HTTPError:
                break  # it answered, even if not with a 200
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise CommandError(f"The server did not answer at {url}: {exc}") from exc
                time.sleep(0.2)
        parts = urllib.parse.urlsplit(url)
        self.stdout.write(credentials_line(f"{parts.scheme}://{parts.netloc}/"))

    def _progress(self, done: int, total: int, what: str) -> None:
        """A progress line, rewritten in place on a terminal, every 10 % otherwise."""
        step = max(total // 10, 1)
        if self.stdout.isatty():
            self.stdout.write(f"\r    {what}: {done:,}/{total:,}", ending="")
            if done >= total:
                self.stdout.write("")
        elif done >= total or done // step > self._shown.get(what, -1):
            # Every 10 %: a count that steps over a boundary (500-event batches) shows too.
            self._shown[what] = done // step
            self.stdout.write(f"    {what}: {done:,}/{total:,}")

    def _setup(self) -> Project:
        project = project_create(slug=DEMO_PROJECT, name="Demo project")
        user, _ = get_user_model().objects.get_or_create(username=DEMO_USER)
        user.set_password(DEMO_PASSWORD)
        user.is_staff = user.is_superuser = True
        user.save()
        membership_set(user=user, project=project, role=Membership.Role.ADMIN)
        token = demo_token()
        key, _ = api_key_create(project=project, name="demo", secret=token.split("_", 2)[2])
        ApiKey.objects.filter(pk=key.pk).update(prefix="demo0000")
        ModelPrice.objects.create(
            project=project,
            pattern="my-local-*",
            input_cost_per_token=Decimal("0.0000002"),
            output_cost_per_token=Decimal("0.0000006"),
            note="self-hosted llama: GPU hours divided by tokens served",
            effective_from=timezone.now() - timedelta(days=60),
        )
        return project

    # -- building blocks ---------------------------------------------------------------------

    def _turn(
        self,
        sid: str,
        n: int,
        t: datetime,
        agent: str,
        turn: Turn,
        number: int,
        run_id: str | None,
    ) -> tuple[list[EventInput], datetime]:
        """One user turn: the question, the assistant asking for the turn's tools, their
        results (some failing, with the cause), and the answer that follows from them."""
        rng = self.rng
        model, _ = AGENTS[agent]
        shape = SHAPES[agent]

        def event(kind: str, **fields: Any) -> EventInput:
            item = framework_item(shape, kind, **fields.pop("item", {}))
            if item is not None:
                fields["payload"], fields["payload_format"] = item, shape
            return EventInput(run_external_id=run_id, timestamp=t, **fields)

        question = fill(turn.question, number)
        events = [
            event(
                "user",
                external_id=f"{sid}-{n}-u",
                source="user",
                role="user",
                content=question,
                item={"text": question},
            )
        ]
        prompt = rng.randint(400, 4000)
        failed_any = False
        failure = ("", "")
        if turn.calls:
            t += timedelta(seconds=rng.randint(2, 20))
            ask_id = f"{sid}-{n}-a1"
            ask = rng.choice(ASKS)
            calls = [
                (f"call_{sid}_{n}_{i}", c.tool, json.dumps(fill(c.arguments, number)))
                for i, c in enumerate(turn.calls)
            ]
            events.append(
                event(
                    "ask",
                    external_id=ask_id,
                    source="llm",
                    role="assistant",
                    content=ask,
                    metadata={"tool_calls": [{"id": c, "name": tl} for c, tl, _ in calls]},
                    usage=UsageInput(
                        model=model,
                        prompt_tokens=prompt,
                        completion_tokens=rng.randint(20, 120),
                        cached_tokens=rng.choice([0, 0, prompt // 2]),
                    ),
                    item={"text": ask, "calls": calls},
                )
            )
            for i, (call, (call_id, tool, arguments)) in enumerate(
                zip(turn.calls, calls, strict=True)
            ):
                failed = rng.random() < 0.12
                failed_any = failed_any or failed
                t += timedelta(milliseconds=rng.randint(300, 9000))
                events.append(
                    event(
                        "call",
                        external_id=f"{sid}-{n}-c{i}",
                        source="llm",
                        type="tool_call",
                        name=tool,
                        tool_call_id=call_id,
                        content=arguments,
                        parent_external_id=ask_id,
                        item={"call_id": call_id, "tool": tool, "text": arguments},
                    )
                )
                t += timedelta(milliseconds=rng.randint(100, 4000))
                result = (
                    fill(call.error, number)
                    if failed
                    else json.dumps(fill(call.result, number), ensure_ascii=False)
                )
                events.append(
                    event(
                        "result",
                        external_id=f"{sid}-{n}-r{i}",
                        source="tool",
                        type="tool_result",
                        role="tool",
                        name=tool,
                        tool_call_id=call_id,
                        content=result,
                        is_error=failed,
                        parent_tool_call_id=call_id,
                        item={"call_id": call_id, "text": result},
                    )
                )
                if failed:
                    failure = (tool, result)
                    break  # the agent stops at the first failure and says why
        t += timedelta(seconds=rng.randint(2, 30))
        answer = fill(turn.answer_on_error if failed_any else turn.answer, number)
        answer = answer.replace("{tool}", failure[0]).replace("{error}", failure[1])
        events.append(
            event(
                "answer",
                external_id=f"{sid}-{n}-a2",
                source="llm",
                role="assistant",
                content=answer,
                usage=UsageInput(
                    model=model,
                    prompt_tokens=prompt + rng.randint(200, 900),
                    completion_tokens=rng.randint(80, 600),
                    reasoning_tokens=rng.choice([0, 0, 64, 256]),
                    # The research agent reports the cost its provider billed.
                    cost_usd=(
                        Decimal(rng.randint(500, 9000)) / Decimal(10**6)
                        if model == "gpt-4o"
                        else None
                    ),
                ),
                item={"text": answer},
            )
        )
        return events, t

    def _conversation(
        self, sid: str, agent: str, user: str, start: datetime, turns: int, **session_kw
    ) -> AgentSession:
        _, scripts = AGENTS[agent]
        script: Script = self.rng.choice(scripts)
        number = self.rng.randint(1000, 9999)
        session, _ = session_upsert(
            project=self.project,
            external_id=sid,
            fields={
                "agent_name": agent,
                "user_ref": user,
                "metadata": {
                    "env": self.rng.choice(["prod", "prod", "staging"]),
                    "channel": self.rng.choice(["web", "slack", "api"]),
                    "framework": FRAMEWORKS[SHAPES[agent]],
                },
            },
            **session_kw,
        )
        t = start
        batch: list[EventInput] = []
        for n, turn in enumerate(script.turns[: max(turns, 1)]):
            run_id = f"{sid}-run{n}"
            run, _ = run_create(
                session=session,
                external_id=run_id,
                status=Run.Status.RUNNING,
                agent_name=agent,
                started_at=t,
            )
            events, t = self._turn(sid, n, t, agent, turn, number, run_id)
            batch.extend(events)
            outcome = self.rng.choices(
                [Run.Status.COMPLETED, Run.Status.FAILED, Run.Status.CANCELLED, None],
                weights=[80, 8, 5, 7],
            )[0]
            if outcome is not None:
                reasons = {
                    Run.Status.FAILED: "tool budget exceeded after 3 retries",
                    Run.Status.CANCELLED: "user closed the conversation",
                }
                run_update(run=run, status=outcome, reason=reasons.get(outcome, ""), ended_at=t)
            t += timedelta(minutes=self.rng.choice([1, 2, 5, 30, 240]))
        if self.rng.random() < 0.1:  # the next turn is queued but has not started
            run_create(session=session, external_id=f"{sid}-run{turns}", agent_name=agent)
        events_append(project=self.project, session_external_id=sid, events=batch)
        session.refresh_from_db()
        return session

    # -- the data set ------------------------------------------------------------------------

    def _seed_sessions(self, count: int) -> None:
        rng = self.rng
        users = [f"user-{i:03d}" for i in range(1, 41)]
        for i in range(count):
            self._progress(i, count, "sessions")
            agent = rng.choice(list(AGENTS))
            start = self.now - timedelta(days=rng.uniform(0, 30), minutes=rng.randint(0, 600))
            sid = f"demo-{i:04d}"
            root = self._conversation(sid, agent, rng.choice(users), start, rng.randint(1, 4))
            if rng.random() < 0.15:
                root.status = AgentSession.Status.COMPLETED
                root.save(update_fields=["status"])
            if rng.random() < 0.12:  # a sub-agent, sometimes with its own sub-agent
                sub_agent = rng.choice([a for a in AGENTS if a != agent])
                child = self._conversation(
                    f"{sid}-sub",
                    sub_agent,
                    root.user_ref,
                    start + timedelta(seconds=30),
                    rng.randint(1, 2),
                    parent_external_id=sid,
                )
                if rng.random() < 0.4:
                    self._conversation(
                        f"{sid}-sub-sub",
                        agent,
                        root.user_ref,
                        start + timedelta(seconds=60),
                        1,
                        parent_external_id=child.external_id,
                    )
            if rng.random() < 0.05:
                self._segment(root, agent)
        self._progress(count, count, "sessions")

    def _segment(self, session: AgentSession, agent: str) -> None:
        """Summarize a session and continue it in a segment, as infinite conversations do."""
        model, _ = AGENTS[agent]
        at = session.last_event_at + timedelta(seconds=5)
        text = (
            "Summary of the conversation so far: the user asked for help, the agent used "
            "its tools (one call failed and was retried) and answered."
        )
        _, results = events_append(
            project=self.project,
            session_external_id=session.external_id,
            events=[
                EventInput(
                    external_id=f"{session.external_id}-summary",
                    source="system",
                    type="summary",
                    role="system",
                    content=text,
                    timestamp=at,
                )
            ],
        )
        segment = self._conversation(
            f"{session.external_id}-seg1",
            agent,
            session.user_ref,
            at + timedelta(seconds=5),
            2,
            parent_external_id=session.external_id,
            kind=AgentSession.Kind.SEGMENT,
        )
        Summary.objects.create(
            project=self.project,
            session=session,
            strategy=Summary.Strategy.BASIC,
            model=model,
            extractive=True,
            status=Summary.Status.SUCCEEDED,
            text=text,
            covers_up_to_seq=results[0].seq - 1,
            event_id=results[0].event_id,
            segment=segment,
            created_at=at,
            started_at=at,
            finished_at=at,
        )
        session_continue_in(session=session, segment=segment)

    def _long_session(self, total: int) -> None:
        """One very long conversation, appended in batches of 500 as a busy agent would."""
        sid = "demo-long-support-thread"
        session_upsert(
            project=self.project,
            external_id=sid,
            fields={
                "title": "Long-running support thread (20k events)",
                "agent_name": "support-bot",
                "user_ref": "user-001",
            },
        )
        turns = [turn for script in demo_scripts.SUPPORT for turn in script.turns]
        t = self.now - timedelta(days=3)
        batch: list[EventInput] = []
        n = 0
        written = 0
        while written < total:
            events, t = self._turn(sid, n, t, "support-bot", turns[n % len(turns)], 1000 + n, None)
            events = events[: total - written - len(batch)]
            batch.extend(events)
            n += 1
            t += timedelta(seconds=self.rng.randint(5, 60))
            if len(batch) >= 500 or written + len(batch) >= total:
                events_append(project=self.project, session_external_id=sid, events=batch)
                written += len(batch)
                batch = []
                self._progress(written, total, "events of the long session")
