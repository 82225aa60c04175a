"""Summaries and segmentation on a real Celery worker through Redis, including a worker
killed outright in the middle of a summary.

Two kinds of worker:
- the shared one the CI script starts (see tests/celery/conftest.py for its command line),
  consuming the default queue, used by the first tests;
- workers the kill test starts itself, on a queue of their own (so the shared worker never
  takes their task), with DATABASE_URL pointing at this test run's database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from sessions_app import summaries as text
from sessions_app.models import AgentSession, Event, Summary
from sessions_app.services.summaries import summary_create, summary_request
from sessions_app.tasks.summaries import summary_run_task
from tests.conftest import require
from tests.sessions_app.chat_format import append, assistant, user

from .conftest import wait_for

pytestmark = pytest.mark.celery_worker
ROOT = Path(__file__).resolve().parents[2]


def summary_events(session) -> int:
    return Event.objects.filter(session=session, type=Event.Type.SUMMARY).count()


def conversation(project, sid="conv"):
    return append(
        project,
        sid,
        user(f"{sid}-u", "How do I export my data?"),
        assistant(f"{sid}-a", "Use Settings, then Export."),
    )


def test_a_worker_computes_a_requested_summary(celery_worker_ready, project):
    session = conversation(project)
    summary = summary_request(session=session, strategy="query_focused")

    def finished() -> bool:
        summary.refresh_from_db()
        return summary.status in (Summary.Status.SUCCEEDED, Summary.Status.FAILED)

    assert wait_for(finished), "the worker did not finish the summary"
    assert summary.status == Summary.Status.SUCCEEDED, summary.error
    assert summary.text and summary_events(session) == 1


def test_a_worker_segments_a_session_over_its_turn_limit(celery_worker_ready, project):
    project.segment_turn_limit = 2
    project.save()
    conversation(project, "long")

    def segmented() -> bool:
        return AgentSession.objects.get(external_id="long").continued_in_id is not None

    assert wait_for(segmented), "the worker did not open a segment"
    append(project, "long", user("long-next", "and then?"))
    segment = AgentSession.objects.get(external_id="long").continued_in
    assert Event.objects.get(external_id="long-next").session_id == segment.pk


def _database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _start_worker(queue: str, name: str, delay: float) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CONN_MAX_AGE": "0",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        text.MOCK_RESPONSE_ENV: "Exported via Settings.",
        text.MOCK_DELAY_ENV: str(delay),
        "TEST_VISIBILITY_TIMEOUT": "3",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tests.celery.worker_app",
            "worker",
            "--pool",
            "solo",
            "-Q",
            queue,
            "-n",
            f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def test_a_summary_is_written_once_when_its_worker_is_killed_mid_task(transactional_db, project):
    require(bool(settings.CELERY_BROKER_URL), "needs CELERY_BROKER_URL (Redis)")
    require(connection.vendor == "postgresql", "needs PostgreSQL shared with the workers")
    session = conversation(project, "killed")
    summary = summary_create(session=session, strategy="basic", model="gpt-4o-mini")
    queue = f"kill-test-{uuid.uuid4().hex[:8]}"
    summary_run_task.apply_async(args=[summary.pk], queue=queue)

    slow = _start_worker(queue, "slow", delay=60)
    try:

        def running() -> bool:
            summary.refresh_from_db()
            return summary.status == Summary.Status.RUNNING

        assert wait_for(running, timeout=60), "the first worker never started the summary"
        os.kill(slow.pid, signal.SIGKILL)
        slow.wait(timeout=10)
    finally:
        _stop(slow)
    summary.refresh_from_db()
    assert summary.status == Summary.Status.RUNNING and summary_events(session) == 0

    second = _start_worker(queue, "second", delay=0)
    try:

        def succeeded() -> bool:
            summary.refresh_from_db()
            return summary.status == Summary.Status.SUCCEEDED

        assert wait_for(succeeded, timeout=90), "the message was not redelivered and finished"
    finally:
        _stop(second)
    assert summary.attempts == 2
    assert summary.text == "Exported via Settings."
    assert summary_events(session) == 1
