"""Faults injected into real processes (issue 16): a broker stopped and started again under a
running gunicorn, and a worker killed outright with the production visibility timeout.

Each test starts its own Redis (a port of its own, so stopping it touches nothing else), its
own workers (`-A config`, the production app) and, for the outage, its own gunicorn, all on the
test database. Beat's periodic tasks are sent by the test itself, as beat would send them, so
the test need not wait for beat's minute.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from config.celery import app
from sessions_app import summaries as text
from sessions_app.models import BudgetAlert, Event, OutboxTask, Summary
from sessions_app.services.projects import api_key_create
from sessions_app.services.summaries import summary_create
from sessions_app.tasks.maintenance import outbox_flush_task, summaries_reap_task
from sessions_app.tasks.summaries import summary_run_task
from tests.conftest import require
from tests.sessions_app.chat_format import append, assistant, user

from .conftest import wait_for
from .test_worker import _database_url

pytestmark = pytest.mark.celery_worker
ROOT = Path(__file__).resolve().parents[2]
# Ports of their own (FAULT_PORT_BASE, FAULT_PORT_BASE + 1): Redis, then gunicorn.
PORT_BASE = int(os.environ.get("FAULT_PORT_BASE", "18510"))


def _free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


class Redis:
    """A redis-server this test owns, stopped and started at will on the same port."""

    def __init__(self, port: int):
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        assert wait_for(lambda: not _free(self.port), timeout=10), "redis did not start"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        assert wait_for(lambda: _free(self.port), timeout=10)


@pytest.fixture
def redis(transactional_db) -> Iterator[Redis]:
    require(bool(shutil.which("redis-server")), "needs redis-server")
    require(connection.vendor == "postgresql", "needs PostgreSQL shared with the workers")
    require(_free(PORT_BASE), f"port {PORT_BASE} is taken")
    server = Redis(PORT_BASE)
    server.start()
    yield server
    server.stop()


def _env(broker: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CONN_MAX_AGE": "0",
        "CELERY_BROKER_URL": broker,
        "SECRET_KEY": "fault-tests",
        **extra,
    }


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        args,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _worker(broker: str, name: str, delay: float) -> subprocess.Popen:
    env = _env(
        broker,
        **{
            text.MOCK_RESPONSE_ENV: "Exported via Settings.",
            text.MOCK_DELAY_ENV: str(delay),
            "SUMMARY_REAP_GRACE_SECONDS": "0",
        },
    )
    return _spawn(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "-n",
            f"{name}@%h",
            "--loglevel",
            "WARNING",
        ],
        env,
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _send(task, broker: str, args: list | None = None) -> None:
    """Send a task to this test's broker (what beat does for the periodic ones)."""
    with app.connection_for_write(broker) as conn:
        task.apply_async(args=args or [], connection=conn)


def _conversation(project, sid: str):
    return append(
        project,
        sid,
        user(f"{sid}-u", "How do I export my data?"),
        assistant(f"{sid}-a", "Use Settings, then Export."),
    )


def _call(port: int, method: str, path: str, token: str, body: bytes = b"{}"):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=body if method != "GET" else None,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, time.monotonic() - started
    except urllib.error.HTTPError as exc:
        return exc.code, time.monotonic() - started


def test_work_accepted_while_the_broker_is_down_is_done_once_it_is_back(redis, project):
    _conversation(project, "outage")
    from sessions_app.services.budgets import budget_create

    budget_create(project=project, scope="project", period="total", amount_usd="0.000001")
    _, token = api_key_create(project=project, name="fault")
    web_port = PORT_BASE + 1
    require(_free(web_port), f"port {web_port} is taken")
    web = _spawn(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.asgi:application",
            "-k",
            "asgi",
            "--bind",
            f"127.0.0.1:{web_port}",
            "--workers",
            "1",
            "--log-level",
            "warning",
        ],
        _env(redis.url),
    )
    worker = None
    try:
        assert wait_for(lambda: not _free(web_port), timeout=30), "gunicorn did not start"
        event = b'{"source": "llm", "message": "x", "token_usage": '
        event += b'{"model": "gpt-4o-mini", "prompt_tokens": 10, "cost_usd": "1"}}'
        # Warm the process up (imports, connections) while the broker is still there.
        assert _call(web_port, "POST", "/api/v1/sessions/warm/events", token, event)[0] == 201
        redis.stop()
        # While the broker is down: no request fails, none is held.
        status, took = _call(web_port, "POST", "/api/v1/sessions/outage/summaries", token)
        assert status == 202 and took < 2.5, (status, took)
        status, took = _call(web_port, "POST", "/api/v1/sessions/outage/events", token, event)
        assert status == 201 and took < 2.5, (status, took)
        summary = Summary.objects.get()
        assert summary.status == Summary.Status.QUEUED
        assert OutboxTask.objects.count() >= 2  # the summary and the budget check

        # The broker comes back; a worker runs; beat's sweep sends what waited.
        redis.start()
        worker = _worker(redis.url, "back", delay=0)
        _send(outbox_flush_task, redis.url)

        def done() -> bool:
            summary.refresh_from_db()
            return summary.status == Summary.Status.SUCCEEDED

        assert wait_for(done, timeout=90), "the summary was not done once the broker was back"
        assert wait_for(BudgetAlert.objects.filter(project=project).exists, timeout=30)
        assert not OutboxTask.objects.exists()
        assert summary.attempts == 1
        assert Event.objects.filter(type=Event.Type.SUMMARY).count() == 1
    finally:
        _stop(web)
        if worker is not None:
            _stop(worker)


def test_a_summary_whose_worker_is_killed_outright_completes_once_within_minutes(redis, project):
    session = _conversation(project, "killed")
    summary = summary_create(session=session, strategy="basic", model="gpt-4o-mini")
    _send(summary_run_task, redis.url, [summary.pk])
    slow = _worker(redis.url, "slow", delay=120)
    second = None
    try:

        def running() -> bool:
            summary.refresh_from_db()
            return summary.status == Summary.Status.RUNNING

        assert wait_for(running, timeout=60), "the first worker never started the summary"
        os.kill(slow.pid, signal.SIGKILL)
        slow.wait(timeout=10)
        killed_at = time.monotonic()
        second = _worker(redis.url, "second", delay=0)
        time.sleep(3)  # the second worker answers broadcasts
        # Beat's reaper, as it runs every minute; the production visibility timeout (12 min)
        # would redeliver the message much later.
        _send(summaries_reap_task, redis.url)

        def succeeded() -> bool:
            summary.refresh_from_db()
            return summary.status == Summary.Status.SUCCEEDED

        assert wait_for(succeeded, timeout=90), "the reaper did not re-queue the summary"
        assert time.monotonic() - killed_at < 120
    finally:
        _stop(slow)
        if second is not None:
            _stop(second)
    assert summary.attempts == 2
    assert summary.text == "Exported via Settings."
    assert Event.objects.filter(session=session, type=Event.Type.SUMMARY).count() == 1
