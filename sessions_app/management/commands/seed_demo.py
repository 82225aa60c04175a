"""Demo data written through the service layer, as the ingest API would write it.

A few hundred sessions over the last 30 days: several agents, end users and models (one with an
unknown price, one priced by a project override), tool calls with results and errors, runs in
every status, sub-agent children, summary segments, and one long session of 20,000 events.
"""

from __future__ import annotations

import hashlib
import random
import time
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from sessions_app.inputs import EventInput, UsageInput
from sessions_app.models import AgentSession, ApiKey, Membership, ModelPrice, Project, Run, Summary
from sessions_app.services.events import events_append
from sessions_app.services.projects import api_key_create, membership_set, project_create
from sessions_app.services.runs import run_create, run_update
from sessions_app.services.sessions import session_continue_in, session_upsert

DEMO_USER = "demo"
DEMO_PASSWORD = "sessionscope-demo"
DEMO_PROJECT = "demo"

AGENTS = {
    "support-bot": ("gpt-4o-mini", ["lookup_order", "refund_order", "search_faq"]),
    "research-agent": ("gpt-4o", ["web_search", "fetch_page", "summarize_pdf"]),
    "code-assistant": ("claude-3-5-sonnet-20241022", ["run_tests", "read_file", "apply_patch"]),
    "travel-planner": ("claude-3-haiku-20240307", ["search_flights", "book_hotel", "get_weather"]),
    "local-analyst": ("my-local-llama", ["run_sql", "plot_chart"]),
}
QUESTIONS = [
    "Where is my order #{n}? It was supposed to arrive on Monday.",
    "Can you compare the pricing of the three vendors we shortlisted?",
    "The test suite fails on CI with a timeout in test_ingest_{n}. Can you look?",
    "Plan a 4-day trip to Lisbon in May for two people, mid-range budget.",
    "How many active users did we have last week, split by country?",
    "Summarise the attached paper and list its main limitations.",
    "I was charged twice for order #{n}; please refund one of them.",
    "Refactor the payment module so retries are idempotent.",
]
FOLLOW_UPS = [
    "Thanks. Can you also check the alternatives?",
    "That did not work, the same error happens again.",
    "Great, please go ahead.",
    "Can you make it shorter and add sources?",
]
ANSWERS = [
    "I checked the records: the carrier is late; the parcel should arrive within two days.",
    "Here is the comparison. Vendor B is cheapest at volume, but vendor A has the better SLA.",
    "The timeout comes from a missing index; I added it and the tests pass locally in 40 s.",
    "Day 1: Alfama and the castle. Day 2: Belém. Day 3: Sintra. Day 4: LX Factory and the river.",
    "There were 12,408 active users, 41% from Portugal, 22% from Spain, the rest spread out.",
]
TOOL_ERRORS = ["TimeoutError: upstream took longer than 30s", "PermissionError: read-only replica"]


def demo_token() -> str:
    """The demo key's token, derived from SECRET_KEY so `make run` can print it every time."""
    digest = hashlib.sha256(f"sessionscope-demo:{settings.SECRET_KEY}".encode()).hexdigest()
    return f"ss_demo0000_{digest[:40]}"


class Command(BaseCommand):
    help = "Create a demo user, project, API key and realistic demo sessions (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sessions", type=int, default=300)
        parser.add_argument("--long-events", type=int, default=20_000)
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, sessions: int, long_events: int, seed: int, **options) -> None:
        started = time.monotonic()
        project = Project.objects.filter(slug=DEMO_PROJECT).first()
        if project is None:
            project = self._setup()
            self.rng = random.Random(seed)
            self.now = timezone.now()
            self.project = project
            self._seed_sessions(sessions)
            if long_events:
                self._long_session(long_events)
            # Infinite conversations from now on: set after seeding, so the long demo session
            # stays one session of `long_events` events.
            Project.objects.filter(pk=project.pk).update(
                segment_token_threshold=60_000, segment_turn_limit=200
            )
            self.stdout.write(
                f"Seeded {AgentSession.objects.filter(project=project).count()} sessions in "
                f"{time.monotonic() - started:.1f}s."
            )
        else:
            self.stdout.write("Demo data already present; nothing written.")
        self.stdout.write(
            f"Log in: http://127.0.0.1:8000/  user {DEMO_USER}  password {DEMO_PASSWORD}"
        )
        self.stdout.write(f"Demo API key (project {DEMO_PROJECT}): {demo_token()}")

    @transaction.atomic
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
        model: str,
        tools: list[str],
        question: str,
        run_id: str | None,
    ) -> tuple[list[EventInput], datetime]:
        """One user turn: the question, an assistant message asking for tools, the tool
        results (some failing), and the final answer."""
        rng = self.rng
        events = [
            EventInput(
                external_id=f"{sid}-{n}-u",
                source="user",
                role="user",
                content=question,
                timestamp=t,
                run_external_id=run_id,
            )
        ]
        t += timedelta(seconds=rng.randint(2, 20))
        ask_id = f"{sid}-{n}-a1"
        calls = rng.sample(tools, k=rng.randint(1, min(2, len(tools))))
        prompt = rng.randint(400, 4000)
        events.append(
            EventInput(
                external_id=ask_id,
                source="llm",
                role="assistant",
                content="Let me check that.",
                timestamp=t,
                run_external_id=run_id,
                metadata={
                    "tool_calls": [
                        {"id": f"call_{sid}_{n}_{i}", "name": c} for i, c in enumerate(calls)
                    ]
                },
                usage=UsageInput(
                    model=model,
                    prompt_tokens=prompt,
                    completion_tokens=rng.randint(20, 120),
                    cached_tokens=rng.choice([0, 0, prompt // 2]),
                ),
            )
        )
        for i, tool in enumerate(calls):
            call_id = f"call_{sid}_{n}_{i}"
            failed = rng.random() < 0.12
            t += timedelta(milliseconds=rng.randint(300, 9000))
            args = {"query": question[:40], "limit": rng.randint(1, 10)}
            events.append(
                EventInput(
                    external_id=f"{sid}-{n}-c{i}",
                    source="llm",
                    type="tool_call",
                    name=tool,
                    tool_call_id=call_id,
                    content=str(args),
                    parent_external_id=ask_id,
                    timestamp=t,
                    run_external_id=run_id,
                    payload={"tool": tool, "arguments": args},
                )
            )
            t += timedelta(milliseconds=rng.randint(100, 4000))
            result = (
                rng.choice(TOOL_ERRORS) if failed else f"{tool} returned {rng.randint(1, 40)} rows"
            )
            events.append(
                EventInput(
                    external_id=f"{sid}-{n}-r{i}",
                    source="tool",
                    type="tool_result",
                    role="tool",
                    name=tool,
                    tool_call_id=call_id,
                    content=result,
                    is_error=failed,
                    parent_tool_call_id=call_id,
                    timestamp=t,
                    run_external_id=run_id,
                )
            )
        t += timedelta(seconds=rng.randint(2, 30))
        events.append(
            EventInput(
                external_id=f"{sid}-{n}-a2",
                source="llm",
                role="assistant",
                content=rng.choice(ANSWERS),
                timestamp=t,
                run_external_id=run_id,
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
            )
        )
        return events, t

    def _conversation(
        self, sid: str, agent: str, user: str, start: datetime, turns: int, **session_kw
    ) -> AgentSession:
        model, tools = AGENTS[agent]
        session, _ = session_upsert(
            project=self.project,
            external_id=sid,
            fields={
                "agent_name": agent,
                "user_ref": user,
                "metadata": {
                    "env": self.rng.choice(["prod", "prod", "staging"]),
                    "channel": self.rng.choice(["web", "slack", "api"]),
                },
            },
            **session_kw,
        )
        t = start
        batch: list[EventInput] = []
        for n in range(turns):
            question = (
                self.rng.choice(QUESTIONS) if n == 0 else self.rng.choice(FOLLOW_UPS)
            ).format(n=self.rng.randint(1000, 9999))
            run_id = f"{sid}-run{n}"
            run, _ = run_create(
                session=session,
                external_id=run_id,
                status=Run.Status.RUNNING,
                agent_name=agent,
                started_at=t,
            )
            events, t = self._turn(sid, n, t, model, tools, question, run_id)
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
        model, tools = AGENTS["support-bot"]
        t = self.now - timedelta(days=3)
        batch: list[EventInput] = []
        n = 0
        written = 0
        while written < total:
            events, t = self._turn(
                sid, n, t, model, tools, self.rng.choice(QUESTIONS).format(n=n), None
            )
            events = events[: total - written - len(batch)]
            batch.extend(events)
            n += 1
            t += timedelta(seconds=self.rng.randint(5, 60))
            if len(batch) >= 500 or written + len(batch) >= total:
                events_append(project=self.project, session_external_id=sid, events=batch)
                written += len(batch)
                batch = []
