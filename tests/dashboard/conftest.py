"""Helpers for the dashboard tests: sessions with events written through the services."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from sessions_app.inputs import EventInput, UsageInput
from sessions_app.models import AgentSession
from sessions_app.services.events import events_append
from sessions_app.services.sessions import session_upsert


def make_session(
    project,
    external_id: str,
    *,
    turns: int = 1,
    parent: str | None = None,
    kind: str | None = None,
    start=None,
    **fields,
) -> AgentSession:
    """A session with `turns` user/assistant/tool-call/tool-result quadruples of events."""
    kwargs = {"parent_external_id": parent} if parent else {}
    session_upsert(project=project, external_id=external_id, fields=fields, kind=kind, **kwargs)
    t = start or timezone.now() - timedelta(hours=1)
    events = []
    for n in range(turns):
        events += [
            EventInput(
                external_id=f"{external_id}-{n}-u",
                source="user",
                role="user",
                content=f"question {n} from {external_id}",
                timestamp=t,
            ),
            EventInput(
                external_id=f"{external_id}-{n}-a",
                source="llm",
                role="assistant",
                content=f"answer {n}",
                timestamp=t + timedelta(seconds=1),
                usage=UsageInput(
                    model="gpt-4o-mini",
                    prompt_tokens=100,
                    completion_tokens=50,
                    cost_usd=Decimal("0.01"),
                ),
            ),
            EventInput(
                external_id=f"{external_id}-{n}-c",
                source="llm",
                type="tool_call",
                name="lookup",
                tool_call_id=f"call-{external_id}-{n}",
                content='{"order": 42}',
                parent_external_id=f"{external_id}-{n}-a",
                payload={"tool": "lookup", "arguments": {"order": 42}},
                timestamp=t + timedelta(seconds=2),
            ),
            EventInput(
                external_id=f"{external_id}-{n}-r",
                source="tool",
                type="tool_result",
                role="tool",
                name="lookup",
                tool_call_id=f"call-{external_id}-{n}",
                parent_tool_call_id=f"call-{external_id}-{n}",
                content="found 1 row",
                timestamp=t + timedelta(seconds=3),
            ),
        ]
        t += timedelta(minutes=1)
    if events:
        events_append(project=project, session_external_id=external_id, events=events)
    return AgentSession.objects.get(project=project, external_id=external_id)


@pytest.fixture
def session(project):
    return make_session(
        project,
        "s-main",
        turns=2,
        agent_name="support-bot",
        user_ref="u-1",
        metadata={"env": "prod"},
    )


HTMX = {"HTTP_HX_REQUEST": "true"}


def htmx(target: str) -> dict[str, str]:
    """Headers of an htmx request aimed at the element with this id."""
    return {**HTMX, "HTTP_HX_TARGET": target}
