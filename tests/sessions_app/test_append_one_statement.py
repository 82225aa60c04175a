"""The one-statement append on PostgreSQL: what it stores, and which batches take it.

A plain batch for an existing session goes through one statement (session update, events,
usage and daily aggregate as CTEs); everything else through the general path. That both leave
the same rows behind is the property test in test_append_paths.py.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sessions_app.inputs import EventInput, UsageInput
from sessions_app.models import AgentSession, DailyUsage, Event, TokenUsage
from sessions_app.services.events import events_append, statement
from sessions_app.services.sessions import session_upsert

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

T0 = timezone.now().replace(microsecond=0) - timedelta(days=3)


def batches(prefix: str) -> list[list[EventInput]]:
    """Batches covering what the statement computes: previews, errors, out-of-order times,
    reported, computed, unknown and tool costs, and a batch over a UTC day boundary."""

    def ev(n: int, **kw) -> EventInput:
        return EventInput(external_id=f"{prefix}-{n}", body_hash=str(n), **kw)

    return [
        [ev(1, source="system", content="be brief", timestamp=T0)],
        [
            ev(2, source="llm", content="hello", timestamp=T0 + timedelta(minutes=1)),
            ev(3, source="user", content="first question " * 40, timestamp=T0 + timedelta(2)),
            ev(4, source="user", content="second question", timestamp=T0 + timedelta(minutes=3)),
        ],
        [
            ev(
                5,
                source="llm",
                content="answer",
                usage=UsageInput(model="gpt-4o-mini", prompt_tokens=1200, completion_tokens=80),
                timestamp=T0 + timedelta(days=1, hours=23, minutes=59),
            ),
            ev(
                6,
                source="llm",
                usage=UsageInput(
                    model="gpt-4o-mini",
                    prompt_tokens=10,
                    completion_tokens=5,
                    cached_tokens=4,
                    cost_usd=Decimal("0.125"),
                ),
                timestamp=T0 + timedelta(days=2, minutes=1),
            ),
            ev(
                7,
                source="llm",
                usage=UsageInput(model="my-private-llm", prompt_tokens=50, total_tokens=70),
                timestamp=T0 + timedelta(days=2, minutes=2),
            ),
            ev(
                8,
                source="tool",
                type="tool_result",
                tool_call_id="call-1",
                is_error=True,
                usage=UsageInput(model="gpt-4o-mini", prompt_tokens=3, completion_tokens=3),
                timestamp=T0 - timedelta(hours=1),  # reported late: older than the first event
            ),
        ],
        [
            ev(
                9,
                source="system",
                type="error",
                is_error=True,
                payload={"raw": [1, "two"]},
                metadata={"k": "v"},
                timestamp=T0 + timedelta(days=2, minutes=3),
            )
        ],
    ]


EVENT_FIELDS = (
    "seq",
    "timestamp",
    "source",
    "type",
    "role",
    "name",
    "tool_call_id",
    "content",
    "is_error",
    "payload",
    "payload_format",
    "body_hash",
    "metadata",
)
SESSION_FIELDS = (
    "event_count",
    "last_seq",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cost_usd",
    "error_count",
    "created_at",
    "last_event_at",
    "duration_seconds",
    "preview",
)
USAGE_FIELDS = (
    "event__seq",
    "timestamp",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "cost_usd",
    "input_cost_per_token",
    "output_cost_per_token",
    "cached_cost_per_token",
    "cost_source",
    "tokens_estimated",
)
DAILY_FIELDS = (
    "day",
    "model",
    "cost_source",
    "events",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cached_tokens",
    "cost_usd",
)


def stored(session: AgentSession) -> dict:
    session.refresh_from_db()
    return {
        "session": [getattr(session, f) for f in SESSION_FIELDS],
        "events": list(
            Event.objects.filter(session=session).order_by("seq").values_list(*EVENT_FIELDS)
        ),
        "usage": list(
            TokenUsage.objects.filter(session=session)
            .order_by("event__seq")
            .values_list(*USAGE_FIELDS)
        ),
        "daily": list(
            DailyUsage.objects.filter(agent_name=session.agent_name)
            .order_by("day", "model", "cost_source")
            .values_list(*DAILY_FIELDS)
        ),
    }


def append_all(project, sid: str, monkeypatch, *, one_statement: bool) -> tuple[AgentSession, int]:
    """Append the batches; returns the session and how many took the one statement."""
    session_upsert(project=project, external_id=sid, fields={"agent_name": sid, "user_ref": "u"})
    taken = 0
    real = statement.statement_append

    def counting(*args):
        nonlocal taken
        result = real(*args) if one_statement else None
        taken += result is not None
        return result

    monkeypatch.setattr(statement, "statement_append", counting)
    session = None
    for batch in batches(sid):
        session, results = events_append(project=project, session_external_id=sid, events=batch)
        assert {r.status for r in results} == {"created"}
    monkeypatch.setattr(statement, "statement_append", real)
    return session, taken


def test_the_one_statement_stores_what_the_batches_say(project, monkeypatch):
    # That both paths store the same rows is test_append_paths.py's property; this pins what
    # they store (not two paths agreeing on a mistake).
    fast, taken = append_all(project, "fast", monkeypatch, one_statement=True)
    assert taken == 4
    got = stored(fast)
    session = got["session"]
    assert session[:3] == [9, 9, 1200 + 10 + 50 + 3]
    assert session[6] == 2  # errors
    # A conversation starts at its first batch's earliest event; a late event does not move it.
    assert session[7] == T0
    assert session[10] == "first question " * 20  # preview: first user message, 300 chars
    assert [u[12] for u in got["usage"]] == ["computed", "reported", "unknown", "computed"]
    assert got["usage"][3][8] == 0  # a tool execution costs nothing


def test_the_returned_session_is_the_stored_row(project, monkeypatch):
    session, _ = append_all(project, "s", monkeypatch, one_statement=True)
    fresh = AgentSession.objects.get(pk=session.pk)
    for field in AgentSession._meta.concrete_fields:
        assert getattr(session, field.attname) == getattr(fresh, field.attname), field.name


def test_a_new_session_created_by_the_statement_is_the_row_the_general_path_writes(
    project, monkeypatch
):
    def first_batch(prefix: str) -> list[EventInput]:
        return [
            EventInput(
                external_id=f"{prefix}-{n}",
                source="user" if n else "system",
                content=f"message {n}",
                body_hash=str(n),
                timestamp=T0 + timedelta(minutes=n),
                usage=UsageInput(model="gpt-4o-mini", prompt_tokens=10, completion_tokens=n)
                if n == 2
                else None,
            )
            for n in range(3)
        ]

    with CaptureQueriesContext(connection) as queries:
        fast, _ = events_append(project=project, session_external_id="a", events=first_batch("a"))
    # One statement, besides reading the project's price overrides for the priced event.
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 2 and "sessions_app_modelprice" in statements[0]
    monkeypatch.setattr(statement, "statement_append", lambda *args: None)
    general, _ = events_append(project=project, session_external_id="b", events=first_batch("b"))
    fast.refresh_from_db()
    general.refresh_from_db()
    differ = {"id", "external_id", "path", "root", "updated_at"}
    for field in AgentSession._meta.concrete_fields:
        if field.name not in differ:
            assert getattr(fast, field.attname) == getattr(general, field.attname), field.name
    assert (fast.path, fast.root_id, fast.depth, fast.kind) == (f"/{fast.pk}/", fast.pk, 0, "root")
    assert fast.created_at == T0 and fast.event_count == 3


def test_a_plain_batch_for_an_existing_session_is_one_statement(project):
    def batch(n: int) -> list[EventInput]:
        return [
            EventInput(external_id=f"e{n}-{i}", source="user", content="hi", body_hash="x")
            for i in range(50)
        ]

    events_append(project=project, session_external_id="s", events=batch(0))
    with CaptureQueriesContext(connection) as queries:
        _, results = events_append(project=project, session_external_id="s", events=batch(1))
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 1
    assert [r.seq for r in results] == list(range(51, 101))


def test_a_batch_with_a_stored_id_falls_back_and_answers_duplicate(project):
    first = [EventInput(external_id="a", source="user", content="hi", body_hash="1")]
    events_append(project=project, session_external_id="s", events=first)
    again = [*first, EventInput(external_id="b", source="user", content="yo", body_hash="2")]
    _, results = events_append(project=project, session_external_id="s", events=again)
    assert [(r.external_id, r.seq, r.status) for r in results] == [
        ("a", 1, "duplicate"),
        ("b", 2, "created"),
    ]
    assert AgentSession.objects.get().event_count == 2
