"""Tests against a real Celery worker on Redis.

The worker is started outside the tests (by .ci/run, or by hand) with the same broker and with
DATABASE_URL pointing at the test database pytest creates ("test_" + the database name), and
CONN_MAX_AGE=0 so it never holds a connection that would stop pytest dropping that database:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test_ss_ci CONN_MAX_AGE=0 \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/9 .venv/bin/celery -A config worker -c 2
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ss_ci \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/9 .venv/bin/pytest -m celery_worker
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from django.conf import settings

from tests.conftest import require


@pytest.fixture
def celery_worker_ready(transactional_db):
    """A live worker answering on the configured broker (fail in CI, skip elsewhere)."""
    require(bool(settings.CELERY_BROKER_URL), "needs CELERY_BROKER_URL and a running worker")
    from config.celery import app

    replies = []
    for _ in range(20):
        try:
            replies = app.control.ping(timeout=1.0)
        except Exception:
            replies = []
        if replies:
            break
        time.sleep(0.5)
    require(bool(replies), f"no Celery worker answered on {settings.CELERY_BROKER_URL}")
    return app


def wait_for(check: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Poll until `check()` is true or the timeout passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False
