"""The web process warms litellm's token counter at start; nothing else does."""

from __future__ import annotations

import pytest

from sessions_app import apps


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        (["/srv/.venv/bin/gunicorn", "config.wsgi"], {}, True),
        (["manage.py", "runserver"], {"RUN_MAIN": "true"}, True),
        (["manage.py", "runserver"], {}, False),  # the autoreloader's parent serves nothing
        (["manage.py", "migrate"], {}, False),
        (["/srv/.venv/bin/pytest"], {}, False),
        (["/srv/.venv/bin/celery", "-A", "config", "worker"], {}, False),
        (["/srv/.venv/bin/pytest"], {"SESSIONSCOPE_WARM_LLM": "1"}, True),
        (["/srv/.venv/bin/gunicorn"], {"SESSIONSCOPE_WARM_LLM": "0"}, False),
    ],
)
def test_only_a_serving_process_warms_the_token_counter(monkeypatch, argv, env, expected):
    monkeypatch.setattr(apps.sys, "argv", argv)
    monkeypatch.delenv("SESSIONSCOPE_WARM_LLM", raising=False)
    monkeypatch.delenv("RUN_MAIN", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert apps._serving() is expected
