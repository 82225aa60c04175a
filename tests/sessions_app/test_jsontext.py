"""The canonical JSON behind body hashes is the standard library's text, however it is written."""

import hashlib
import json
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sessions_app import jsontext


def stdlib_canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=["Cs"])),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(st.characters(exclude_categories=["Cs"]), max_size=6), children)
    ),
    max_leaves=20,
)


@settings(max_examples=600, deadline=None)
@given(json_values)
def test_canonical_text_is_the_standard_librarys_for_any_json_value(value):
    assert jsontext.canonical(value) == stdlib_canonical(value)


def test_floats_and_integers_the_fast_writer_spells_differently_keep_the_standard_text():
    value = {"tiny": 1e-05, "tinier": 2.5e-07, "big": 2**64 + 1, "plain": 0.5, "word": "e-mail"}

    assert jsontext.canonical(value) == stdlib_canonical(value)


def test_a_body_hash_never_changes_for_an_event_stored_by_an_earlier_release():
    # Pinned: hashes are stored with events, and a retry is compared with the stored one.
    event = {"id": "evt-1", "source": "user", "message": 'héllo \u2028 "quoted"\n', "n": 1e-05}

    assert jsontext.body_hash(event) == hashlib.sha256(stdlib_canonical(event)).hexdigest()
    assert jsontext.body_hash(event) == (
        "c6861d5274226de5ff4d6e705474c37fe3199c531790b0c9b7519278b299a8ad"
    )


def _default(value):
    return value.isoformat() if isinstance(value, datetime) else str(value)


@pytest.mark.parametrize("n", [2, 2**65], ids=["fast writer", "integer beyond 64 bits"])
def test_document_writes_dates_and_decimals_for_postgresql(n):
    at = datetime(2026, 11, 21, 9, 30, 0, 125000, tzinfo=UTC)

    text = jsontext.document([{"at": at, "cost": Decimal("0.00125"), "n": n}], default=_default)

    assert json.loads(text) == [
        {"at": "2026-11-21T09:30:00.125000+00:00", "cost": "0.00125", "n": n}
    ]


def test_a_body_hash_with_a_default_is_the_importers_standard_library_hash():
    # What importers/base.py computed before it used this module: imported events stay
    # duplicates when imported again.
    value = {
        "usage": {"model": "m", "cost_usd": Decimal("0.125")},
        "at": datetime(2024, 5, 1, 12, 30, tzinfo=UTC),
        "text": "héllo",
        "n": [1, 2.5, 1e-05],
    }
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    assert jsontext.body_hash(value, default=str) == hashlib.sha256(text.encode()).hexdigest()


@settings(max_examples=300, deadline=None)
@given(st.binary() | st.text().map(str.encode), st.sampled_from([b"", b"0.0000", b"e-", b"0.000"]))
def test_the_float_check_finds_what_the_regex_it_replaced_found(text, inside):
    text = text[: len(text) // 2] + inside + text[len(text) // 2 :]
    assert jsontext._may_differ(text) == bool(re.search(rb"0\.0000|e-", text))
