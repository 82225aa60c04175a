"""Every append path stores the same rows, whatever the batches: PostgreSQL's one statement
(taken by every plain batch), the general path through the ORM (forced for every batch), and the
many-session path the OTLP receiver takes (`events_append_many`).

The same random batches go to three projects: one as in production, one with the statement
turned off, one through the many-session path. New and existing sessions, runs, parents by id
and by tool call, usage with and without a price, reported costs, estimated tokens, duplicates
and retries, reused ids with another body (409), unicode and big metadata. Every stored column
of the events, token usage, runs, daily aggregate and sessions must then be equal, with ids
translated to the external ids they stand for. The clock is frozen, so arrival and update
times are equal too.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import models, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessions_app import jsontext
from sessions_app.errors import DomainError
from sessions_app.inputs import EventInput, UsageInput
from sessions_app.models import (
    AgentSession,
    DailyUsage,
    Event,
    ModelPrice,
    Project,
    Run,
    TokenUsage,
)
from sessions_app.services.events import events_append, events_append_many, statement
from sessions_app.services.sessions import session_upsert, sessions_create, sessions_lock

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

T0 = datetime(2025, 3, 10, 22, 30, tzinfo=UTC)  # batches straddle UTC day boundaries
NOW = T0 + timedelta(days=1, hours=1, microseconds=250)
EXISTING = ("existing-1", "existing-2")
SESSIONS = (*EXISTING, "new-1", "new-2")
IDS = tuple(f"ev-{i}" for i in range(10))
CALLS = ("call-1", "call-2")
MODELS = ("gpt-4o-mini", "priced-here", "unknown-llm")

# PostgreSQL text and jsonb hold no NUL character; anything else of Unicode goes.
TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
LONG_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=400)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
METADATA = st.dictionaries(TEXT, JSON, max_size=3) | st.builds(
    lambda n, extra: {"blob": "ü" * n, "extra": extra},
    st.integers(1_000, 30_000),
    st.dictionaries(TEXT, JSON, max_size=2),
)
TOKENS = st.none() | st.integers(0, 2_000_000)
USAGE = st.builds(
    UsageInput,
    model=st.sampled_from(MODELS),
    prompt_tokens=TOKENS,
    completion_tokens=TOKENS,
    total_tokens=TOKENS,
    cached_tokens=st.integers(0, 5_000),
    reasoning_tokens=st.integers(0, 5_000),
    cost_usd=st.none() | st.decimals(min_value=0, max_value=10_000, places=12),
)


@st.composite
def event(draw: st.DrawFn, external_id: str) -> EventInput:
    """One event's body, as a client sends it every time it sends this id."""
    e = EventInput(
        external_id=external_id,
        source=draw(st.sampled_from(Event.Source.values)),
        type=draw(st.sampled_from(Event.Type.values)),
        role=draw(st.sampled_from(["", "user", "assistant", "tool"])),
        name=draw(TEXT),
        content=draw(LONG_TEXT),
        tool_call_id=draw(st.sampled_from(["", *CALLS])),
        is_error=draw(st.booleans()),
        payload=draw(st.none() | JSON),
        payload_format=draw(st.sampled_from(Event.Format.values)),
        metadata=draw(METADATA),
        timestamp=draw(
            st.none()
            | st.builds(
                lambda m, us: T0 + timedelta(minutes=m, microseconds=us),
                st.integers(-3_000, 3_000),
                st.integers(0, 999_999),
            )
        ),
        # Most events name no run and no parent, so most batches are plain: the statement's.
        run_external_id=draw(st.none() | st.none() | st.sampled_from(["run-1", "run-2"])),
        parent_external_id=draw(st.none() | st.none() | st.sampled_from([*IDS, "missing"])),
        parent_tool_call_id=draw(st.none() | st.none() | st.sampled_from([*CALLS, "gone"])),
        usage=draw(st.none() | USAGE),
        model=draw(st.sampled_from(["", "", "gpt-4o-mini"])),
    )
    e.body_hash = jsontext.body_hash(vars(e), default=str)
    return e


@dataclass
class Plan:
    """The bodies each id is sent with, and the batches: (session, ids, ids resent changed)."""

    bodies: dict[str, EventInput]
    batches: list[tuple[str, list[str], set[str]]]


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    bodies = {i: draw(event(i)) for i in IDS}
    batches = draw(
        st.lists(
            st.tuples(
                st.sampled_from(SESSIONS),
                st.lists(st.sampled_from(IDS), min_size=1, max_size=6),
                # Rarely, an id is sent again with another body: a 409 on both paths.
                st.sets(st.sampled_from(IDS), max_size=1) | st.just(set()) | st.just(set()),
            ),
            min_size=1,
            max_size=6,
        )
    )
    return Plan(bodies, batches)


def batch_of(plan: Plan, ids: list[str], changed: set[str]) -> list[EventInput]:
    """Fresh inputs (the service may not keep them) for one batch."""
    out = []
    for i in ids:
        e = replace(plan.bodies[i], metadata=dict(plan.bodies[i].metadata))
        if i in changed:
            e.content += " (edited)"
            e.body_hash = jsontext.body_hash(vars(e), default=str)
        out.append(e)
    return out


def a_project(slug: str) -> Project:
    project = Project.objects.create(name=slug, slug=slug)
    ModelPrice.objects.create(
        project=project,
        pattern="priced-here",
        input_cost_per_token=Decimal("0.00000123456789"),
        output_cost_per_token=Decimal("0.000002"),
        cached_cost_per_token=Decimal("0.0000001"),
        effective_from=T0 - timedelta(days=30),
    )
    for n, sid in enumerate(EXISTING):
        session_upsert(
            project=project,
            external_id=sid,
            fields={"agent_name": f"agent-{n}", "user_ref": "ü-user", "title": sid},
        )
    return project


def send(project: Project, plan: Plan) -> list[Any]:
    """Send the plan's batches; what each answered (results, or the error)."""
    answers: list[Any] = []
    for sid, ids, changed in plan.batches:
        try:
            with transaction.atomic():
                session, results = events_append(
                    project=project, session_external_id=sid, events=batch_of(plan, ids, changed)
                )
        except DomainError as exc:
            answers.append((type(exc).__name__, exc.code, exc.status))
            continue
        answers.append((session.external_id, [(r.external_id, r.seq, r.status) for r in results]))
    return answers


def send_many(project: Project, plan: Plan) -> None:
    """Send the plan's batches through the many-session path (the OTLP receiver's), one
    session a call; a refused batch leaves nothing behind, as a 409 does."""
    for sid, ids, changed in plan.batches:
        with transaction.atomic():
            sessions = sessions_lock(project=project, external_ids=[sid])
            created = sid not in sessions
            if created:
                sessions.update(sessions_create(project=project, fields={sid: {}}))
            refused = events_append_many(
                project=project, sessions=sessions, batches={sid: batch_of(plan, ids, changed)}
            )
            # A session created for a batch of ids stored elsewhere is not kept (append.py).
            empty = created and not Event.objects.filter(session=sessions[sid]).exists()
            transaction.set_rollback(bool(refused) or empty)


def stored(project: Project) -> dict[str, list]:
    """Every stored column of what an append writes, ids replaced by what they stand for."""
    names = {
        AgentSession: dict(
            AgentSession.objects.filter(project=project).values_list("id", "external_id")
        ),
        Run: dict(Run.objects.filter(project=project).values_list("id", "external_id")),
        Event: dict(Event.objects.filter(project=project).values_list("id", "external_id")),
    }

    def rows(model: type[models.Model], order: tuple[str, ...]) -> list[tuple]:
        fields = [
            f for f in model._meta.concrete_fields if not f.primary_key and f.name != "project"
        ]
        out = []
        for obj in model.objects.filter(project=project):
            row = []
            for f in fields:
                value = getattr(obj, f.attname)
                if f.is_relation and value is not None:
                    value = names[f.related_model][value]
                elif f.name == "path":
                    value = "/".join(
                        names[AgentSession][int(p)] if p else "" for p in value.split("/")
                    )
                row.append((f.name, value))
            out.append(tuple(row))
        keys = [[f.name for f in fields].index(name) for name in order]
        return sorted(out, key=lambda r: tuple(str(r[k][1]) for k in keys))

    return {
        "sessions": rows(AgentSession, ("external_id",)),
        "runs": rows(Run, ("external_id",)),
        "events": rows(Event, ("external_id",)),
        "usage": rows(TokenUsage, ("event",)),
        "daily": rows(DailyUsage, ("day", "model", "agent_name", "user_ref", "cost_source")),
    }


def test_the_one_statement_and_the_general_path_store_the_same_rows(monkeypatch):
    real = statement.statement_append
    taken = {"statement": 0, "general": 0}

    def statement_append(*args: Any) -> Any:
        result = real(*args) if use_statement else None
        taken["statement" if result is not None else "general"] += 1
        return result

    monkeypatch.setattr(statement, "statement_append", statement_append)

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(plans())
    def same_rows(plan: Plan) -> None:
        nonlocal use_statement
        with time_machine.travel(NOW, tick=False), transaction.atomic():
            use_statement = True
            one_statement = a_project("one")
            answers = send(one_statement, plan)
            use_statement = False
            general = a_project("general")
            assert send(general, plan) == answers
            assert stored(one_statement) == stored(general)
            many = a_project("many")
            send_many(many, plan)
            assert stored(many) == stored(general)
            transaction.set_rollback(True)  # each example starts from an empty database

    use_statement = True
    same_rows()
    # The random batches exercised both paths (plain ones took the statement).
    assert taken["statement"] > 0 and taken["general"] > 0
