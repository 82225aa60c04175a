"""An event's search words, worked out in Python where that gives PostgreSQL's own answer.

List search matches `plainto_tsquery('simple', <words>)` against each event's `search_vector`,
which migration 0016's trigger fills with `strip(to_tsvector('simple', left(content, 65536)))`.
That parse was most of what storing an event cost PostgreSQL: 26 of the 42 µs an INSERT of a
~500-character message took (20,000 rows). For most text the answer is simple: the runs of ASCII
letters and digits, lowercased, once each, and a hyphenated word with each of its parts
(`multi-turn` gives `multi-turn`, `multi` and `turn`). The event writers send those, as a
tsvector's text, and the trigger parses only the texts they leave out (migration 0018).

PostgreSQL's default parser makes more of some text: hosts, e-mail addresses, URLs and paths
(`.` `@` `/` `~` `_` between words), signed and decimal numbers (`-5`, `+1`, `3.14`, and so
`gpt-4` is `gpt` and `-4`), scientific notation (`1e10`, `3e-7`), XML tags and entities (`<b>`,
`&amp;`, which it skips), and non-ASCII words (their letters and case depend on the database's
locale). A text that could hold any of these is left to PostgreSQL.
tests/sessions_app/test_search_words.py holds the result to PostgreSQL's own on texts mixing
every ASCII character.
"""

from __future__ import annotations

import re

# What the index reads of a text (migration 0016: `left(content, 65536)`, in characters).
MAX_CHARS = 65536
# PostgreSQL leaves longer words out of a tsvector ("word is too long to be indexed").
MAX_WORD = 2047

_WORD = re.compile(r"[a-z0-9]+")
# Where the parser may see more than runs of letters and digits (matched on lowercased text):
# a joining character before a word character or another joining character (`a-b`, `-5`,
# `a.b`, `../`, `/_x`), a tag or an entity, or a number in scientific notation.
_PARSER_NEEDED = re.compile(r"[-./+~][a-z0-9_./+~-]|[<&]|(?<![a-z0-9])[0-9]+e[0-9]")
# A hyphenated word standing alone (`multi-turn`, `gpt-4o`): the parser gives the whole and
# each part, when every part has a letter (`ab-12` is `ab` and the number `-12`).
_COMPOUND = re.compile(
    r"(?<![a-z0-9_./+~-])[a-z0-9]+(?:-[a-z0-9]+)+(?![a-z0-9_]|[-./+~][a-z0-9_./+~-])"
)
_NUMBER = re.compile(r"[0-9]+(?:e[0-9].*|e)?")  # a part without a letter, or in scientific notation


def search_vector(text: str) -> str | None:
    """The text's search words as a tsvector's input text (`'words' 'like' 'this'`), or None
    when only PostgreSQL's parser can tell them."""
    text = text[:MAX_CHARS]
    if not text.isascii():
        return None
    lowered = text.lower()
    words: set[str] = set()
    if "-" in lowered:
        rest = []
        start = 0
        for match in _COMPOUND.finditer(lowered):
            parts = match[0].split("-")
            if any(_NUMBER.fullmatch(part) for part in parts):
                return None
            words.add(match[0])
            words.update(parts)
            rest.append(lowered[start : match.start()])
            start = match.end()
        rest.append(lowered[start:])
        lowered = " ".join(rest)
    if _PARSER_NEEDED.search(lowered):
        return None
    words.update(_WORD.findall(lowered))
    # Letters, digits and hyphens only: no quoting or escaping needed in a tsvector's text.
    return " ".join(word for word in words if len(word) <= MAX_WORD)
