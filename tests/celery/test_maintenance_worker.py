"""Maintenance tasks run on a real worker through Redis."""

import pytest

from sessions_app.inputs import EventInput, UsageInput
from sessions_app.models import AgentSession
from sessions_app.services.events import events_append
from sessions_app.tasks import session_recompute_rollups_task

from .conftest import wait_for

pytestmark = pytest.mark.celery_worker


def test_a_worker_repairs_a_sessions_rollups(celery_worker_ready, project):
    events_append(
        project=project,
        session_external_id="s",
        events=[
            EventInput(
                external_id=f"e{i}",
                source="llm",
                role="assistant",
                content="hi",
                usage=UsageInput(model="gpt-4o", prompt_tokens=10, completion_tokens=5),
            )
            for i in range(3)
        ],
    )
    AgentSession.objects.filter(external_id="s").update(event_count=0, total_tokens=0)

    session_recompute_rollups_task.delay(AgentSession.objects.get(external_id="s").pk)

    def repaired() -> bool:
        s = AgentSession.objects.get(external_id="s")
        return s.event_count == 3 and s.total_tokens == 45

    assert wait_for(repaired), "the worker did not recompute the rollups"
