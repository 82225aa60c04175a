"""A broker outage fails no request and loses no work (issue 16, items 5 and 6): tasks the broker
refuses wait in the outbox until the beat sweep sends them; summaries whose worker is gone are
re-queued."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from config.celery import app
from sessions_app.models import OutboxTask, Summary
from sessions_app.services.budgets import budget_create
from sessions_app.services.outbox import outbox_flush, task_send
from sessions_app.services.summaries import summaries_reap, summary_create
from sessions_app.tasks.pricing import budgets_check_task
from sessions_app.tasks.summaries import session_segment_task, summary_run_task
from tests.sessions_app.api.conftest import ApiClient

from .chat_format import append, assistant, user

pytestmark = pytest.mark.django_db

# Nothing listens there (a port of this worktree's range, never served).
DEAD_BROKER = "redis://127.0.0.1:18599/15"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _forget_connections() -> None:
    """Drop the app's connection pools, made with the broker URL of the time they were made."""
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def broker_down():
    """The Celery app sends to a broker that refuses connections (not in-process)."""
    saved = (app.conf.task_always_eager, app.conf.broker_url)
    # The shared tasks resolve through this thread's current app, which an earlier test's
    # library may have replaced with one of its own.
    app.set_current()
    _forget_connections()
    app.conf.task_always_eager = False
    app.conf.broker_url = DEAD_BROKER
    yield
    app.conf.task_always_eager, app.conf.broker_url = saved
    _forget_connections()


@pytest.fixture
def sent(monkeypatch):
    """The broker is back: tasks sent are recorded instead of delivered."""
    calls: list[tuple[str, list]] = []
    app.set_current()

    def apply_async(self, args=None, **kwargs):
        calls.append((self.name, list(args or [])))

    monkeypatch.setattr(type(summary_run_task), "apply_async", apply_async, raising=False)
    for task in (summary_run_task, budgets_check_task, session_segment_task):
        monkeypatch.setattr(task, "apply_async", apply_async.__get__(task), raising=False)
    return calls


def conversation(project, sid="conv"):
    return append(project, sid, user(f"{sid}-u", "Hi?"), assistant(f"{sid}-a", "Hello."))


def test_a_summary_asked_for_while_the_broker_is_down_is_202_and_waits_in_the_outbox(
    project, api_token, broker_down, django_capture_on_commit_callbacks
):
    conversation(project)
    api = ApiClient(api_token)
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/sessions/conv/summaries", {})
    assert response.status_code == 202
    assert time.monotonic() - started < 3
    summary = Summary.objects.get()
    assert summary.status == Summary.Status.QUEUED
    row = OutboxTask.objects.get()
    assert (row.task_name, row.args) == (summary_run_task.name, [summary.pk])
    assert row.last_error


def test_an_event_post_in_a_project_with_budgets_succeeds_while_the_broker_is_down(
    project, api_token, broker_down, django_capture_on_commit_callbacks
):
    budget_create(project=project, scope="project", period="total", amount_usd="1")
    OutboxTask.objects.all().delete()  # the check the new budget asked for
    api = ApiClient(api_token)
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/sessions/s/events", {"id": "e1", "source": "user", "message": "x"})
    assert response.status_code == 201
    assert time.monotonic() - started < 3
    row = OutboxTask.objects.get()
    assert row.task_name == budgets_check_task.name
    assert row.args[0] == project.pk


def test_the_sweep_sends_what_waits_once_the_broker_is_back(project, broker_down, sent):
    session = conversation(project)
    summary = summary_create(session=session)
    OutboxTask.objects.create(task_name=summary_run_task.name, args=[summary.pk])
    OutboxTask.objects.create(task_name=budgets_check_task.name, args=[project.pk, session.pk])
    assert outbox_flush() == 2
    assert sent == [
        (summary_run_task.name, [summary.pk]),
        (budgets_check_task.name, [project.pk, session.pk]),
    ]
    assert not OutboxTask.objects.exists()


def test_the_sweep_keeps_everything_while_the_broker_is_still_down(project, broker_down):
    OutboxTask.objects.create(task_name=budgets_check_task.name, args=[project.pk, None])
    OutboxTask.objects.create(task_name=budgets_check_task.name, args=[project.pk, 1])
    assert outbox_flush() == 0
    rows = list(OutboxTask.objects.order_by("pk"))
    assert len(rows) == 2
    assert rows[0].attempts == 1 and rows[1].attempts == 0


def test_a_task_sent_while_the_broker_is_up_leaves_nothing_in_the_outbox(project, sent):
    app.conf.task_always_eager, saved = False, app.conf.task_always_eager
    try:
        assert task_send(task=budgets_check_task, args=[project.pk, None])
    finally:
        app.conf.task_always_eager = saved
    assert sent == [(budgets_check_task.name, [project.pk, None])]
    assert not OutboxTask.objects.exists()


def test_without_a_broker_a_failing_task_is_logged_not_raised(project, caplog, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("task bug")

    monkeypatch.setattr(budgets_check_task, "run", boom)
    assert task_send(task=budgets_check_task, args=[project.pk, None])
    assert "task bug" in caplog.text
    assert not OutboxTask.objects.exists()


def _running(project, *, worker: str, task_name: str = "", started: datetime) -> Summary:
    summary = summary_create(session=conversation(project, f"s{Summary.objects.count()}"))
    Summary.objects.filter(pk=summary.pk).update(
        status=Summary.Status.RUNNING, worker=worker, task_name=task_name, started_at=started
    )
    return summary


def test_a_running_summary_whose_worker_is_gone_is_requeued_and_sent_again(
    project, sent, django_capture_on_commit_callbacks
):
    gone = _running(
        project,
        worker="celery@a 100",
        task_name=session_segment_task.name,
        started=NOW - timedelta(minutes=5),
    )
    alive = _running(project, worker="celery@b 200", started=NOW - timedelta(minutes=5))
    app.conf.task_always_eager, saved = False, app.conf.task_always_eager
    try:
        with django_capture_on_commit_callbacks(execute=True):
            reaped = summaries_reap(alive={"celery@b": {200, 201}}, now=NOW)
    finally:
        app.conf.task_always_eager = saved
    assert reaped == [gone.pk]
    gone.refresh_from_db()
    alive.refresh_from_db()
    assert (gone.status, gone.worker) == (Summary.Status.QUEUED, "")
    assert alive.status == Summary.Status.RUNNING
    assert sent == [(session_segment_task.name, [gone.pk])]


def test_a_summary_whose_worker_restarted_under_the_same_name_is_requeued(project, sent):
    summary = _running(project, worker="celery@a 100", started=NOW - timedelta(minutes=5))
    assert summaries_reap(alive={"celery@a": {300, 301}}, now=NOW) == [summary.pk]


def test_a_summary_that_has_just_started_is_left_alone(project, sent):
    _running(project, worker="celery@a 100", started=NOW - timedelta(seconds=10))
    assert summaries_reap(alive={}, now=NOW) == []


def test_a_summary_that_ran_out_of_process_and_was_reaped_completes_once(
    project, django_capture_on_commit_callbacks
):
    summary = _running(project, worker="celery@a 100", started=NOW - timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        summaries_reap(alive={}, now=NOW)
    summary.refresh_from_db()
    # No broker in the tests: the re-sent task ran in-process.
    assert summary.status == Summary.Status.SUCCEEDED
    assert summary.attempts == 1
    assert summary.event_id is not None
