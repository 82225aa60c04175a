"""An event's search words, worked out in Python where that gives PostgreSQL's own answer.

List search matches `plainto_tsquery('simple', <words>)` against each event's `search_vector`,
which migration 0016's trigger fills with `strip(to_tsvector('simple', left(content, 65536)))`.
That parse was most of what storing an event cost PostgreSQL: 26 of the 42 µs an INSERT of a
~500-character message took (20,000 rows). For most text the answer is simple: the runs of ASCII
letters and digits, lowercased, once each, a hyphenated word with each of its parts
(`multi-turn` gives `multi-turn`, `multi` and `turn`) and a dotted number whole (`4.99`). The
event writers send those, as a tsvector's text, and the trigger parses only the texts they leave
out (migration 0018).

PostgreSQL's default parser makes more of some text: hosts, e-mail addresses, URLs and paths
(words joined by `.`, `/` or `~`), signed numbers (`-5`, `+1`, and so `gpt-4` is `gpt` and
`-4`), scientific notation (`1e10`, `3e-7`), XML tags and entities (`<b>`, `&amp;`, which it
skips), and non-ASCII words (their letters and case depend on the database's locale). A text
that could hold any of these is left to PostgreSQL.
tests/sessions_app/test_search_words.py holds the result to PostgreSQL's own on texts mixing
every ASCII character.
"""

from __future__ import annotations

import re

# What the index reads of a text (migration 0016: `left(content, 65536)`, in characters).
MAX_CHARS = 65536
# PostgreSQL leaves longer words out of a tsvector ("word is too long to be indexed").
MAX_WORD = 2047

# Lowercases ASCII letters and blanks every other byte but digits: then the words are what
# `split()` finds, in a third of a regex's findall's time. A table of bytes, for the text's
# ASCII bytes: `str.translate` looks each character up in a dict and took twice as long.
_TO_WORDS = bytes(c if chr(c).isascii() and chr(c).isalnum() else 32 for c in range(256)).lower()
# A joining character before a word character or another joining character (`a.b`, `-5`,
# `../`, `/_x`, `a-b` outside a hyphenated word): hosts, paths, numbers, URLs to the parser.
_JOINED = re.compile(r"[-./+~][A-Za-z0-9_./+~-]")
# A word in scientific notation (`1e10`, `3e-7`'s `3e`): the parser reads a number.
_SCIENTIFIC = re.compile(r"[0-9]+e(?:[0-9]|$)")
# A hyphenated word (`multi-turn`, `gpt-4o`) or a dotted number (`4.99`, `1.2.3`), and at most
# one joining character after it (`multi-turn.`). The parser gives a hyphenated word whole and
# each part, when every part has a letter (`ab-12` is `ab` and the number `-12`); a dotted
# number whole.
_COMPOUND = re.compile(r"([a-z0-9]+(?:-[a-z0-9]+)+|[0-9]+(?:\.[0-9]+)+)[-./+~]?")
_NUMBER = re.compile(r"[0-9]+")
# The characters of a run the parser may read as one token (a word, host, path, number...).
_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./+~-")


def search_vector(text: str) -> str | None:
    """The text's search words as a tsvector's input text (`'words' 'like' 'this'`), or None
    when only PostgreSQL's parser can tell them."""
    text = text[:MAX_CHARS]
    if not text.isascii() or "<" in text or "&" in text:  # tags and entities
        return None
    words: set[str] = set()
    if _JOINED.search(text):
        rest = _without_compounds(text, words)
        if rest is None:
            return None
        text = rest
    found = set(text.encode("ascii").translate(_TO_WORDS).decode("ascii").split())
    if any(word[0].isdigit() and _SCIENTIFIC.match(word) for word in found):
        return None
    words |= found
    # Letters, digits, hyphens and dots only: no quoting or escaping in a tsvector's text.
    return " ".join(word for word in words if len(word) <= MAX_WORD)


def _without_compounds(text: str, words: set[str]) -> str | None:
    """The text without the runs that hold a joining character, each a hyphenated word or a
    dotted number (their words added to `words`); None when a run is anything else."""
    kept = []
    done = 0  # the text before this is handled
    for hit in _JOINED.finditer(text):
        if hit.start() < done:
            continue  # a run already taken whole
        start, end = hit.start(), hit.end()
        while start > done and text[start - 1] in _TOKEN_CHARS:
            start -= 1
        while end < len(text) and text[end] in _TOKEN_CHARS:
            end += 1
        run = text[start:end].lower()
        match = _COMPOUND.fullmatch(run)
        if match is None:
            return None
        word = match[1]
        if "-" in word:
            parts = word.split("-")
            if any(_NUMBER.fullmatch(part) or _SCIENTIFIC.match(part) for part in parts):
                return None
            words.update(parts)
        words.add(word)
        kept.append(text[done:start])
        done = end
    kept.append(text[done:])
    return " ".join(kept)
