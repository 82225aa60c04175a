"""Snippets of search hits: the words found, marked, with some text around them."""

from __future__ import annotations

from dashboard.snippets import snippet


def test_a_snippet_marks_every_word_found():
    parts = snippet("The Needle and the thread; a needle again", "needle thread")
    assert ("Needle", True) in parts and ("thread", True) in parts and ("needle", True) in parts
    assert "".join(text for text, _ in parts) == "The Needle and the thread; a needle again"


def test_a_snippet_of_long_text_is_cut_around_the_first_match():
    text = "a" * 1000 + " needle " + "b" * 1000
    parts = snippet(text, "needle", width=60)
    assert parts[0] == ("…", False) and parts[-1] == ("…", False)
    assert ("needle", True) in parts
    assert sum(len(t) for t, _ in parts) < 70


def test_a_snippet_without_a_match_is_the_start_of_the_text():
    assert snippet("hello world", "absent") == [("hello world", False)]


def test_regex_characters_in_the_query_are_plain_text():
    parts = snippet("cost is $5 (approx.)", "(approx.)")
    assert ("approx", True) in parts
