"""The only module that imports litellm, and only when a caller needs it (a price found as it
is in its bundled table is read from the JSON, without the import).

`import litellm` costs ~3 s and ~125 MB. A process that serves pages (gunicorn, uvicorn,
runserver; or any process with SESSIONSCOPE_WARM_LLM=1) imports it at start-up, in a background
thread that sessions_app/apps.py starts: the server answers at once, and a request that needs
litellm before the import is done waits only for the rest of it. Other processes (tests,
migrations, Celery workers) pay it on the first call that needs it: counting tokens, a
completion, a price not found as it is in the bundled JSON. config/__init__.py has already set
LITELLM_LOCAL_MODEL_COST_MAP=True so the import reads the bundled price table, not the network.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson

from .heap import freeze_loaded


@functools.cache
def _litellm() -> ModuleType:
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import litellm

    # Counting tokens for a non-OpenAI model otherwise stalls trying to download a tokenizer.
    litellm.disable_hf_tokenizer_download = True
    litellm.suppress_debug_info = True
    litellm.telemetry = False
    freeze_loaded()  # ~125 MB of objects the collector need never walk again (heap.py)
    return litellm


@dataclass(frozen=True)
class UnitPrices:
    """USD per token for one model; `cached` is None where the table has no cached rate."""

    input: Decimal
    output: Decimal
    cached: Decimal | None = None


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value))


@functools.cache
def _bundled_table() -> dict[str, Any]:
    """litellm's bundled price table, read as JSON without importing litellm (~3 s): the file
    the import itself loads under LITELLM_LOCAL_MODEL_COST_MAP. Empty if it cannot be read."""
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return {}
    folder = Path(next(iter(spec.submodule_search_locations)))
    try:
        table = orjson.loads((folder / "model_prices_and_context_window_backup.json").read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    return table if isinstance(table, dict) else {}


@functools.lru_cache(maxsize=4096)
def table_prices(model: str) -> UnitPrices | None:
    """litellm's price for a model, or None when the model is not in its table (unknown).

    A name found as it is in the bundled table is priced from the JSON (seeding, ingest and
    the web process do not pay litellm's import for it); other names go through litellm's own
    mapping (provider prefixes, aliases)."""
    if not model:
        return None
    info = _bundled_table().get(model)
    if info is None:
        litellm = _litellm()
        info = litellm.model_cost.get(model)
        if info is None:
            try:
                info = litellm.get_model_info(model)
            except Exception:
                # litellm raises for names it cannot map (including some dated model names):
                # that is an unknown price, not an error.
                return None
    inp, out = (
        _decimal(info.get("input_cost_per_token")),
        _decimal(info.get("output_cost_per_token")),
    )
    if inp is None or out is None:
        return None
    return UnitPrices(
        input=inp, output=out, cached=_decimal(info.get("cache_read_input_token_cost"))
    )


def count_tokens(model: str, *, text: str | None = None, messages: list[dict] | None = None) -> int:
    """Tokens of a text or a list of chat messages, counted with the model's tokenizer.

    litellm falls back to tiktoken's cl100k for models whose tokenizer it does not ship.
    """
    litellm = _litellm()
    if messages is not None:
        return int(litellm.token_counter(model=model or "gpt-4o", messages=messages))
    return int(litellm.token_counter(model=model or "gpt-4o", text=text or ""))


def completion(**kwargs: Any) -> Any:
    """litellm.completion, for summaries; tests pass `mock_response=`."""
    return _litellm().completion(**kwargs)


def completion_cost(response: Any) -> Decimal | None:
    """The cost litellm computes for a completion response, or None for an unknown model."""
    try:
        return _decimal(_litellm().completion_cost(completion_response=response))
    except Exception:
        return None


@dataclass(frozen=True)
class TablePrice:
    """One row of litellm's bundled price table."""

    model: str
    provider: str
    mode: str
    prices: UnitPrices


@functools.cache
def table_list() -> tuple[TablePrice, ...]:
    """Every model in litellm's bundled table that has input and output prices, by name."""
    rows = []
    for model, info in _litellm().model_cost.items():
        if model == "sample_spec" or not isinstance(info, dict):
            continue  # the table's documentation entry, not a model
        inp = _decimal(info.get("input_cost_per_token"))
        out = _decimal(info.get("output_cost_per_token"))
        if inp is None or out is None:
            continue
        rows.append(
            TablePrice(
                model=model,
                provider=str(info.get("litellm_provider") or ""),
                mode=str(info.get("mode") or ""),
                prices=UnitPrices(inp, out, _decimal(info.get("cache_read_input_token_cost"))),
            )
        )
    return tuple(sorted(rows, key=lambda r: r.model))
