"""Retention: idle sessions archived or whole idle trees deleted, each run recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sessions_app.errors import InvalidInput
from sessions_app.models import AgentSession, Event, RetentionRun
from sessions_app.services.retention import project_retention_set, retention_apply
from sessions_app.tasks.retention import retention_apply_all
from tests.dashboard.conftest import make_session

pytestmark = pytest.mark.django_db


def idle(external_id: str, days: int) -> None:
    AgentSession.objects.filter(external_id=external_id).update(
        last_event_at=timezone.now() - timedelta(days=days)
    )


def test_no_policy_does_nothing(project):
    make_session(project, "old")
    idle("old", 400)
    assert retention_apply(project=project) is None
    assert AgentSession.objects.get(external_id="old").status == "active"


def test_archive_policy_archives_idle_sessions_and_records_them(project):
    make_session(project, "old")
    make_session(project, "fresh")
    idle("old", 40)
    project_retention_set(project=project, days=30, action="archive")
    run = retention_apply(project=project)
    assert AgentSession.objects.get(external_id="old").status == "archived"
    assert AgentSession.objects.get(external_id="fresh").status == "active"
    assert (run.sessions_affected, run.external_ids, run.action) == (1, ["old"], "archive")
    assert retention_apply(project=project).sessions_affected == 0  # a re-run finds nothing


def test_delete_policy_deletes_only_trees_idle_throughout(project):
    make_session(project, "idle-root")
    make_session(project, "idle-kid", parent="idle-root")
    make_session(project, "busy-root")
    make_session(project, "busy-kid", parent="busy-root")
    for sid in ("idle-root", "idle-kid", "busy-root"):
        idle(sid, 40)
    project_retention_set(project=project, days=30, action="delete")
    run = retention_apply(project=project)
    remaining = set(AgentSession.objects.values_list("external_id", flat=True))
    assert remaining == {"busy-root", "busy-kid"}
    assert run.sessions_affected == 2 and run.events_deleted == 8
    assert set(run.external_ids) == {"idle-root", "idle-kid"}
    assert Event.objects.count() == 8


def test_the_beat_task_applies_every_policy(project, other_project):
    make_session(project, "a-old")
    make_session(other_project, "b-old")
    idle("a-old", 10)
    idle("b-old", 10)
    project_retention_set(project=project, days=5, action="archive")
    assert retention_apply_all() == 1  # tasks run eagerly without a broker
    assert AgentSession.objects.get(external_id="a-old").status == "archived"
    assert AgentSession.objects.get(external_id="b-old").status == "active"
    assert RetentionRun.objects.filter(project=project).count() == 1


@pytest.mark.parametrize(("days", "action"), [(0, "archive"), (5, "shred")])
def test_bad_policy_is_refused(project, days, action):
    with pytest.raises(InvalidInput):
        project_retention_set(project=project, days=days, action=action)


def test_beat_schedules_the_retention_task_daily():
    from config.celery import app

    app.loader.import_default_modules()
    entry = app.conf.beat_schedule["retention-daily"]
    assert entry["task"] in app.tasks and entry["schedule"] == 86400
