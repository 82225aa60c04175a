"""simulate_agents drives real Agents SDK agents over HTTP into a live server."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from sessions_app.models import AgentSession, Event

pytestmark = pytest.mark.django_db(transaction=True)


def test_simulated_conversations_arrive_with_tools_handoffs_and_cost(server):
    url, token = server
    out = io.StringIO()
    # The live server shares one connection of the in-memory SQLite test database between its
    # request threads, so only PostgreSQL serves concurrent conversations here.
    concurrency = 2 if connection.vendor == "postgresql" else 1
    call_command(
        "simulate_agents",
        url=url,
        api_key=token,
        sessions=4,
        concurrency=concurrency,
        seed=7,
        stdout=out,
    )

    roots = AgentSession.objects.filter(kind=AgentSession.Kind.ROOT)
    assert roots.count() == 4
    assert all(s.event_count > 0 and s.cost_usd > 0 for s in roots)
    assert {s.user_ref for s in roots} <= {f"user-{i}" for i in range(7)}
    assert Event.objects.filter(type=Event.Type.TOOL_CALL).exists()
    children = AgentSession.objects.filter(kind=AgentSession.Kind.CHILD)
    assert children.exists()
    assert all(c.agent_name == "refunds" and c.parent.kind == "root" for c in children)
    assert "4 sessions" in out.getvalue()


def test_a_wrong_key_fails_fast(server):
    url, _ = server
    with pytest.raises(CommandError, match="401"):
        call_command("simulate_agents", url=url, api_key="ss_nope_nope", sessions=1)
