"""Snippets of a search hit: the words found, with a little text around them, as segments the
template marks up (autoescaped: no HTML is built here)."""

from __future__ import annotations

import re

SNIPPET_CHARS = 180


def words_of(query: str) -> list[str]:
    """The words of a search, longest first (so a longer word wins where two overlap)."""
    words = {w for w in re.findall(r"\w+", query.lower()) if w}
    return sorted(words, key=len, reverse=True) or ([query.lower()] if query.strip() else [])


def snippet(text: str, query: str, width: int = SNIPPET_CHARS) -> list[tuple[str, bool]]:
    """About `width` characters of `text` around the first word of `query` it holds, as
    (text, is_match) segments; the text's start when no word is found (a match past the part
    read, or a database whose stemming differs)."""
    words = words_of(query)
    if not words:
        return [(text[:width], False)]
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    first = pattern.search(text)
    start = 0 if first is None else max(first.start() - width // 3, 0)
    window = " ".join(text[start : start + width].split())
    segments: list[tuple[str, bool]] = []
    if start:
        segments.append(("…", False))
    position = 0
    for match in pattern.finditer(window):
        if match.start() > position:
            segments.append((window[position : match.start()], False))
        segments.append((match.group(0), True))
        position = match.end()
    if position < len(window):
        segments.append((window[position:], False))
    if start + width < len(text):
        segments.append(("…", False))
    return segments
