"""A served process keeps what it loaded once out of the cycle collector's full collections.

In a fresh interpreter, as gunicorn's worker starts: the objects a full collection walks
(`gc.get_objects()`, which leaves out the frozen ones) are counted after the application loads
and after litellm's import (what the served process does at start to warm the compare page).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import gc, json
import config.wsgi
loaded, walked = gc.get_freeze_count(), len(gc.get_objects())
from sessions_app import llm
llm._litellm()
print(json.dumps({
    "app_frozen": loaded, "app_walked": walked,
    "litellm_frozen": gc.get_freeze_count() - loaded, "litellm_walked": len(gc.get_objects()),
}))
"""


def test_what_the_app_and_litellm_load_is_frozen_not_walked_by_full_collections():
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DEBUG"}}
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**env, "SECRET_KEY": "k", "SESSIONSCOPE_WARM_LLM": "0"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    # Django and the project: tens of thousands of objects, none left for the collector.
    assert got["app_frozen"] > 50_000
    assert got["app_walked"] < 1_000
    # litellm: hundreds of thousands more, frozen by the import itself.
    assert got["litellm_frozen"] > 100_000
    assert got["litellm_walked"] < 1_000
