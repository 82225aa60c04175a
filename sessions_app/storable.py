"""Text the database can store, one rule for every way text comes in (the JSON API's bodies,
OTLP spans): PostgreSQL takes no NUL character, UTF-8 encodes no lone UTF-16 surrogate. And the
ids the API addresses by path, one rule for the JSON API and the OTLP receiver: no control
characters either."""

from __future__ import annotations

import re

# A JSON escape that decodes to such text (`\u0000`, a surrogate: alone it is invalid, in a
# pair it is fine, so a match is only a reason to look). Raw control bytes are already invalid
# JSON, so only these escapes can smuggle them in.
SUSPECT_ESCAPE_PATTERN = r"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})"
SUSPECT_ESCAPE = re.compile(SUSPECT_ESCAPE_PATTERN)
SUSPECT_ESCAPE_BYTES = re.compile(SUSPECT_ESCAPE_PATTERN.encode())
# The control characters no id may hold: C0 (NUL included), DEL and C1.
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def text_problem(text: str) -> str | None:
    """Why `text` cannot be stored, or None.

    `isascii` is constant time: only non-ASCII text is encoded to look for surrogates."""
    if "\x00" in text:
        return "contains a NUL character"
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError:
            return "contains invalid text (a lone UTF-16 surrogate)"
    return None


def id_problem(value: str) -> str | None:
    """Why `value` cannot be an id (a session's, event's, run's, branch's), in the body or in
    the path, or None: a NUL, a lone surrogate (not UTF-8), or another control character (C0,
    DEL, C1; in a path also the bytes that are not UTF-8, config/handlers.py NOT_UTF8). Any
    other Unicode is an id, `/` included."""
    if value.isprintable():  # the common case, one pass in C
        return None
    if "\x00" in value:
        return "must not contain a NUL character"
    if CONTROL_CHARS.search(value):
        return "must not contain control characters (nor bytes that are not UTF-8)"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid text"
    return None
