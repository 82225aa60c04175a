"""Derived event ids keep their exact form: stored ids depend on it."""

from __future__ import annotations

import hashlib

from sessions_app.importers.base import stable_id
from sessions_app.inputs import MAX_ID, bounded_id
from sessions_app.normalize import derived_id


def test_a_short_id_is_its_text():
    assert bounded_id("a:b", keep="a") == "a:b"


def test_a_long_id_is_its_kept_prefix_and_the_texts_hash():
    text = "x" * 300
    assert (
        bounded_id(text, keep="x" * 10)
        == "x" * 10 + "#" + hashlib.sha256(text.encode()).hexdigest()
    )


def test_a_normalizers_derived_id_keeps_its_form():
    assert derived_id("msg-1", "tool_call", "c1") == "msg-1#tool_call:c1"
    parent = "p" * 250
    candidate = f"{parent}#tool_call:c1"
    expected = f"{parent[:180]}#{hashlib.sha256(candidate.encode()).hexdigest()}"
    assert derived_id(parent, "tool_call", "c1") == expected
    assert len(expected) <= MAX_ID


def test_an_importers_stable_id_keeps_its_form():
    assert stable_id("oai", "db.sqlite", "s1", 7) == "oai:db.sqlite:s1:7"
    text = ":".join(["af", "f" * 300, "3"])
    assert (
        stable_id("af", "f" * 300, 3) == f"{text[:150]}#{hashlib.sha256(text.encode()).hexdigest()}"
    )
