"""Constraints the database itself enforces, and the deletion rules."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from sessions_app.inputs import EventInput, UsageInput
from sessions_app.models import AgentSession, DailyUsage, Event, Run, Summary, TokenUsage
from sessions_app.services.events import events_append
from sessions_app.services.runs import run_create
from sessions_app.services.sessions import session_delete, session_upsert

pytestmark = pytest.mark.django_db


def _append(project, sid, *ids, model="gpt-4o"):
    return events_append(
        project=project,
        session_external_id=sid,
        events=[
            EventInput(
                external_id=i,
                source="llm",
                role="assistant",
                content=f"answer {i}",
                usage=UsageInput(model=model, prompt_tokens=100, completion_tokens=10),
            )
            for i in ids
        ],
    )


def test_seq_is_unique_within_a_session(project):
    session, _ = _append(project, "s1", "e1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Event.objects.create(
            project=project, session=session, external_id="x", seq=1, source="user"
        )


def test_the_same_seq_may_repeat_across_sessions(project):
    _append(project, "s1", "a")
    _append(project, "s2", "b")
    assert sorted(Event.objects.values_list("seq", flat=True)) == [1, 1]


def test_session_external_ids_are_unique_per_project_not_globally(project, other_project):
    session_upsert(project=project, external_id="same", fields={})
    session_upsert(project=other_project, external_id="same", fields={})
    with pytest.raises(IntegrityError), transaction.atomic():
        AgentSession.objects.create(project=project, external_id="same")


def test_event_external_ids_are_unique_per_project(project, other_project):
    _append(project, "s1", "evt")
    _append(other_project, "s1", "evt")  # another project may use the same id
    session = AgentSession.objects.get(project=project, external_id="s1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Event.objects.create(
            project=project, session=session, external_id="evt", seq=2, source="user"
        )


def test_run_external_ids_are_unique_per_project(project):
    session, _ = session_upsert(project=project, external_id="s", fields={})
    run_create(session=session, external_id="r1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Run.objects.create(project=project, session=session, external_id="r1")


def test_deleting_a_session_deletes_its_subtree_and_everything_in_it(project):
    _append(project, "root", "r-1")
    session_upsert(project=project, external_id="child", fields={}, parent_external_id="root")
    session_upsert(project=project, external_id="grandchild", fields={}, parent_external_id="child")
    _append(project, "child", "c-1", "c-2")
    _append(project, "grandchild", "g-1")
    child = AgentSession.objects.get(external_id="child")
    run_create(session=child, external_id="run-c")
    Summary.objects.create(project=project, session=child, model="gpt-4o", text="s")

    deleted = session_delete(session=child)

    assert deleted == 2
    assert set(AgentSession.objects.values_list("external_id", flat=True)) == {"root"}
    assert list(Event.objects.values_list("external_id", flat=True)) == ["r-1"]
    assert TokenUsage.objects.count() == 1
    assert not Run.objects.exists()
    assert not Summary.objects.exists()
    root = AgentSession.objects.get(external_id="root")
    assert root.children_count == 0


def test_deleting_sessions_keeps_the_daily_aggregate_equal_to_the_remaining_usage(project):
    _append(project, "keep", "k-1")
    _append(project, "drop", "d-1", "d-2")
    session_delete(session=AgentSession.objects.get(external_id="drop"))
    daily = DailyUsage.objects.get()
    usage = TokenUsage.objects.get()
    assert daily.events == 1
    assert daily.total_tokens == usage.total_tokens == 110
    assert daily.cost_usd == usage.cost_usd


def test_deleting_a_project_deletes_all_its_data(project):
    _append(project, "s", "e")
    project.delete()
    assert not AgentSession.objects.exists()
    assert not Event.objects.exists()
    assert not TokenUsage.objects.exists()


def test_money_is_decimal(project):
    _append(project, "s", "e")
    assert isinstance(AgentSession.objects.get().cost_usd, Decimal)
