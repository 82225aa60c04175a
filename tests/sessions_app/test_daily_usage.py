"""The daily usage aggregate always equals the usage rows it sums, by UTC day, agent and user."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db.models import Sum

from sessions_app.inputs import EventInput, UsageInput
from sessions_app.models import AgentSession, DailyUsage, TokenUsage
from sessions_app.services.events import events_append
from sessions_app.services.sessions import session_delete, session_upsert

pytestmark = pytest.mark.django_db

PLUS_FIVE = timezone(timedelta(hours=5))


def _llm(i: str, at: datetime) -> EventInput:
    return EventInput(
        external_id=i,
        source="llm",
        role="assistant",
        content="ok",
        timestamp=at,
        usage=UsageInput(model="gpt-4o", prompt_tokens=100, completion_tokens=10),
    )


def _daily() -> dict:
    return {
        (d.day.isoformat(), d.agent_name, d.user_ref): d.events
        for d in DailyUsage.objects.all()
        if d.events
    }


def test_usage_is_counted_on_its_utc_day_whatever_offset_the_client_sent(project):
    # 01:00 on March 1st at +05:00 is 20:00 on February 28th in UTC.
    events_append(
        project=project,
        session_external_id="s",
        events=[_llm("e", datetime(2026, 3, 1, 1, 0, tzinfo=PLUS_FIVE))],
    )
    assert _daily() == {("2026-02-28", "", ""): 1}

    session_delete(session=AgentSession.objects.get(external_id="s"))
    assert set(DailyUsage.objects.values_list("events", flat=True)) == {0}


def test_renaming_a_sessions_agent_or_user_moves_its_usage_in_the_aggregate(project):
    session_upsert(project=project, external_id="s", fields={"agent_name": "old", "user_ref": "u1"})
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    events_append(project=project, session_external_id="s", events=[_llm("a", at), _llm("b", at)])

    session_upsert(project=project, external_id="s", fields={"agent_name": "new", "user_ref": "u2"})

    assert _daily() == {("2026-03-01", "new", "u2"): 2}
    totals = DailyUsage.objects.aggregate(t=Sum("total_tokens"))["t"]
    assert totals == TokenUsage.objects.aggregate(t=Sum("total_tokens"))["t"] == 220
    session_delete(session=AgentSession.objects.get(external_id="s"))
    assert _daily() == {}
