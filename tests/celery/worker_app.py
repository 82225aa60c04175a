"""The Celery app for workers a test starts itself (`celery -A tests.celery.worker_app`).

Same app as config.celery, with a short broker visibility timeout: a message whose worker was
killed outright (SIGKILL, no chance to reject it) is redelivered after seconds, not the default
hour, so a test can watch a second worker pick it up.
"""

from __future__ import annotations

import os

from config.celery import app

app.conf.broker_transport_options = {
    "visibility_timeout": float(os.environ.get("TEST_VISIBILITY_TIMEOUT", "3")),
    # kombu >= 5.5 looks for unacked messages every `unacked_restore_interval` seconds but scans
    # only on every `unacked_restore_throttle`-th look (default 10 x 10 s = 100 s): scan each
    # second here so the redelivery happens within the test's wait.
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}

__all__ = ("app",)
