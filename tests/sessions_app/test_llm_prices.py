"""litellm's prices read from its bundled JSON: the same figures as litellm's own, without its
~3 s import for a name found in the table (the demo seed, ingest, the web process)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sessions_app import llm

ROOT = Path(__file__).resolve().parents[2]
DEMO_MODELS = [
    "gpt-4o-mini",
    "gpt-4o",
    "claude-sonnet-4-5-20250929",
    "claude-haiku-4-5-20251001",
]


@pytest.fixture
def fresh_prices():
    llm.table_prices.cache_clear()
    yield
    llm.table_prices.cache_clear()


@pytest.mark.parametrize("model", [*DEMO_MODELS, "text-embedding-3-small", "o3-mini"])
def test_a_model_in_the_bundled_table_has_litellms_own_prices(fresh_prices, model):
    prices = llm.table_prices(model)
    info = llm._litellm().model_cost[model]
    assert prices is not None
    assert prices.input == llm._decimal(info["input_cost_per_token"])
    assert prices.output == llm._decimal(info["output_cost_per_token"])
    assert prices.cached == llm._decimal(info.get("cache_read_input_token_cost"))


def test_a_name_litellm_maps_but_the_table_does_not_hold_is_still_priced(fresh_prices):
    assert "openai/gpt-4o-mini" not in llm._bundled_table()
    assert llm.table_prices("openai/gpt-4o-mini") == llm.table_prices("gpt-4o-mini")


def test_an_unknown_model_has_no_price(fresh_prices):
    assert llm.table_prices("my-local-llama") is None
    assert llm.table_prices("") is None


def test_pricing_the_demo_models_does_not_import_litellm():
    probe = (
        "import sys, django; django.setup(); from sessions_app import llm; "
        f"prices = [llm.table_prices(m) for m in {DEMO_MODELS!r}]; "
        "assert all(prices), prices; print('litellm' in sys.modules)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "SECRET_KEY": "x"}
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
