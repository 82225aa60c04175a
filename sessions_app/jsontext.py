"""JSON text written fast: the canonical form behind body hashes, and documents for PostgreSQL.

orjson writes JSON 5-6x faster than the standard library, which mattered: hashing each event's
canonical JSON was the largest single cost of a batch in the ingest profile (bench/ingest.py).
A body hash must not change with the library that computes it, though: a client retrying an
event stored before this module existed has to get `duplicate`, not a 409. The canonical text is
therefore defined as the standard library's (`sort_keys`, compact separators, UTF-8), and orjson
is used only where its output is byte-for-byte the same. The two differ only on

- floats below 1e-4, written `0.00001`/`2.5e-7` by orjson and `1e-05`/`2.5e-07` by `repr`: every
  such float leaves `0.0000` or `e-` in orjson's text, and a text with either (a float, or a
  string that happens to hold one) is rewritten by the standard library;
- integers beyond 64 bits, non-string keys and other types orjson refuses (TypeError);
- values that need `default` (the importers hash Decimals and datetimes with `default=str`):
  orjson writes datetimes, enums and dataclasses itself, so with a `default` the standard
  library writes the whole text.

tests/sessions_app/test_jsontext.py checks the equality on generated JSON values.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import orjson


def _may_differ(text: bytes) -> bool:
    """Whether orjson's text may spell a float differently from the standard library's.

    Two substring tests rather than the regex `0\\.0000|e-`, which says the same: the regex
    scanned a 500-byte message about four times slower, and every event's hash passes here."""
    return b"0.0000" in text or b"e-" in text


def canonical(value: Any, default: Callable[[Any], Any] | None = None) -> bytes:
    """The canonical JSON of a value as UTF-8: keys sorted, no spaces, non-ASCII kept; `default`
    writes what JSON lacks, as in `json.dumps`."""
    text = None
    if default is None:
        try:
            text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            text = None
    if text is None or _may_differ(text):
        text = json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=default
        ).encode()
    return text


def body_hash(value: Any, default: Callable[[Any], Any] | None = None) -> str:
    """SHA-256 of a value's canonical JSON: what makes a retried event with the same id and the
    same body a duplicate rather than a conflict (and a re-import a duplicate)."""
    return hashlib.sha256(canonical(value, default)).hexdigest()


def document(value: Any, default: Callable[[Any], Any]) -> str:
    """Compact JSON text of a value for a server-side parameter (`jsonb_to_recordset`), with
    `default` for the types JSON lacks. Numbers may be spelled differently from the standard
    library's (`0.00001`); PostgreSQL reads the same value from either."""
    try:
        return orjson.dumps(value, default=default).decode()
    except TypeError:  # an integer beyond 64 bits
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=default)
