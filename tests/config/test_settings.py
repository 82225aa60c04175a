"""Settings come from the environment; each case loads them in a fresh interpreter."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import env_bool, env_int, env_list

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, django.conf, config.settings as s; "
    "print(json.dumps({'debug': s.DEBUG, 'engine': s.DATABASES['default']['ENGINE'], "
    "'name': str(s.DATABASES['default']['NAME']), 'eager': s.CELERY_TASK_ALWAYS_EAGER, "
    "'hosts': s.ALLOWED_HOSTS, 'model': s.SUMMARY_MODEL, "
    "'litellm_offline': __import__('os').environ.get('LITELLM_LOCAL_MODEL_COST_MAP')}))"
)


def load_settings(**env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DEBUG",
            "SECRET_KEY",
            "DATABASE_URL",
            "CELERY_BROKER_URL",
            "ALLOWED_HOSTS",
            "SUMMARY_MODEL",
        }
    }
    return subprocess.run(
        [sys.executable, "-c", "import config; " + PROBE],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_defaults_are_sqlite_and_in_process_tasks():
    out = load_settings(SECRET_KEY="k")
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["engine"] == "django.db.backends.sqlite3"
    assert got["name"].endswith("db.sqlite3")
    assert got["eager"] is True
    assert got["debug"] is False
    assert got["litellm_offline"] == "True"


def test_database_url_and_broker_switch_to_postgres_and_celery():
    out = load_settings(
        SECRET_KEY="k",
        DATABASE_URL="postgres://u@db.internal:5432/prod",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
        ALLOWED_HOSTS="scope.example.com, other.example.com",
        SUMMARY_MODEL="claude-3-haiku-20240307",
    )
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["engine"] == "django.db.backends.postgresql"
    assert got["name"] == "prod"
    assert got["eager"] is False
    assert got["hosts"] == ["scope.example.com", "other.example.com"]
    assert got["model"] == "claude-3-haiku-20240307"


def test_a_missing_secret_key_outside_debug_is_an_error():
    out = load_settings(DEBUG="false")
    assert out.returncode != 0
    assert "SECRET_KEY must be set" in out.stderr


def test_manage_py_without_a_secret_key_says_so_in_one_line():
    """Not Django's "Models aren't loaded yet" traceback from the first command that checks."""
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    out = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1
    said = "manage.py: SECRET_KEY must be set when DEBUG is off. "
    assert out.stderr.strip().splitlines() == [said + "The README lists the environment variables."]


def test_debug_runs_without_a_secret_key():
    out = load_settings(DEBUG="1")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["debug"] is True


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        ("YES", True),
        ("on", True),
        ("0", False),
        ("no", False),
        ("", False),
        (None, False),
    ],
)
def test_env_bool(monkeypatch, raw, expected):
    if raw is None:
        monkeypatch.delenv("SOME_FLAG", raising=False)
    else:
        monkeypatch.setenv("SOME_FLAG", raw)
    assert env_bool("SOME_FLAG") is expected


def test_env_list_and_int(monkeypatch):
    monkeypatch.setenv("HOSTS", " a.example, ,b.example ")
    monkeypatch.setenv("N", "42")
    assert env_list("HOSTS") == ["a.example", "b.example"]
    assert env_int("N", 1) == 42
    monkeypatch.setenv("N", "forty")
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="N must be an integer"):
        env_int("N", 1)
