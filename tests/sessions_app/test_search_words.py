"""An event's search words as the writers give them: PostgreSQL's own answer, or none.

List search finds events by the words the parser (`to_tsvector('simple', ...)`) makes of their
text. Writers that give the words themselves must give exactly those, or a search would miss an
event (or find one that does not say the word); texts the Python rule cannot read are left to
the parser.
"""

from __future__ import annotations

import random
import string

import pytest
from django.db import connection

from sessions_app.inputs import EventInput
from sessions_app.models import Event
from sessions_app.otel.decode import decode_protobuf
from sessions_app.otel.service import otel_spans_store
from sessions_app.search_words import MAX_CHARS, MAX_WORD, search_vector
from sessions_app.services.events import events_append
from tests.otel_spans import emit_conversation
from tests.sessions_app.otel.conftest import protobuf, recorded

PARSER = "strip(to_tsvector('simple', left({}, 65536)))"


def _words(text: str) -> set[str] | None:
    vector = search_vector(text)
    return None if vector is None else set(vector.split())


def test_plain_text_gives_its_words_lowercased_once_each():
    text = "The refund for order 42 is late. THE customer asked twice: refund, now!"
    assert _words(text) == {
        "the", "refund", "for", "order", "42", "is", "late", "customer", "asked", "twice", "now"
    }  # fmt: skip
    assert _words("") == set()
    assert _words("A multi-turn, state-of-the-art agent on gpt-4o.") == {
        "a", "multi-turn", "multi", "turn", "state-of-the-art", "state", "of", "the", "art",
        "agent", "on", "gpt-4o", "gpt", "4o",
    }  # fmt: skip
    assert _words("Refunded $4.99 (v 1.2.3).") == {"refunded", "4.99", "v", "1.2.3"}
    assert _words("it's (maybe) \"quoted\" #tag, a_b? x=1; 50% $5 [ok] {}") == {
        "it", "s", "maybe", "quoted", "tag", "a", "b", "x", "1", "50", "5", "ok"
    }  # fmt: skip


@pytest.mark.parametrize(
    "text",
    [
        "on gpt-4 turbo",  # a number after a hyphen is signed: `gpt` and `-4`
        "x--y and ab-12-cd",
        "see https://example.com/a",  # URL, host, path
        "mail bob@example.com",
        "a 3.5x or -3.5 or 0.5-1",  # a dotted number joined to more
        "retry -5 or +1",
        "run ../setup or ~/bin",
        "1e10 requests",  # scientific notation
        "at 3e-7 seconds",
        "a <b>bold</b> word",  # tags are skipped by the parser
        "fish &amp; chips",  # entities too
        "café au lait",  # non-ASCII: letters and case by the database's locale
    ],
)
def test_text_the_parser_reads_otherwise_is_left_to_it(text):
    assert search_vector(text) is None


def test_only_what_the_index_reads_counts_and_overlong_words_are_left_out():
    assert _words("x" * MAX_WORD + " " + "y" * (MAX_WORD + 1)) == {"x" * MAX_WORD}
    assert _words("a " * (MAX_CHARS // 2) + "beyond") == {"a"}
    assert _words("a " * (MAX_CHARS // 2) + "café") == {"a"}  # past the limit: not read


def _mixed_texts(count: int, seed: int) -> list[str]:
    """Texts mixing words, digits, blanks, control characters and every ASCII punctuation."""
    rnd = random.Random(seed)
    words = ["amp", "gt", "http", "www", "com", "x1", "12", "0", "e5", "1e", "div", "4o", "3.5"]
    words += ["x" * MAX_WORD, "z" * (MAX_WORD + 1)]  # the longest word kept, one left out
    alnum = string.ascii_letters + string.digits
    controls = "".join(map(chr, range(1, 32))) + "\x7f"

    def piece() -> str:
        r = rnd.random()
        if r < 0.3:
            return rnd.choice(words)
        if r < 0.6:
            return "".join(rnd.choice(alnum) for _ in range(rnd.randint(1, 6)))
        if r < 0.7:
            return rnd.choice(" \n\t")
        if r < 0.75:
            return "-"
        if r < 0.8:
            return rnd.choice(controls)
        return "".join(rnd.choice(string.punctuation) for _ in range(rnd.randint(1, 3)))

    return ["".join(piece() for _ in range(rnd.randint(1, 15))) for _ in range(count)]


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_words_given_are_the_parsers_on_texts_of_every_ascii_character():
    texts = [
        *_mixed_texts(4000, seed=20261203),
        "x" * MAX_WORD + " y" + "y" * MAX_WORD,
        "1e5" + "y" * MAX_WORD,  # a number, then a word: too long as one, yet read as two
        "a-b " + "c" * MAX_WORD,
    ]
    given = [(t, v) for t in texts if (v := search_vector(t)) is not None]
    assert len(given) > 1000  # the rule covers much of it, not only the trivial texts
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t FROM unnest(%s::text[], %s::text[]) AS x(t, v) "
            f"WHERE v::tsvector <> {PARSER.format('t')}",
            [[t for t, _ in given], [v for _, v in given]],
        )
        assert cursor.fetchall() == []


def _stored_words_differ() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT external_id FROM sessions_app_event "
            f"WHERE search_vector IS DISTINCT FROM {PARSER.format('content')}"
        )
        return [row[0] for row in cursor.fetchall()]


TEXTS = ["Plain words, twice: plain.", "a multi-turn agent", "gpt-4 at https://x.io/a", "café", ""]


@pytest.mark.postgres
@pytest.mark.django_db
def test_every_write_path_stores_the_parsers_words(project):
    # The one statement (a plain batch), then the general path (a run and a parent).
    events_append(
        project=project,
        session_external_id="plain",
        events=[EventInput(external_id=f"p-{i}", source="user", content=t)
                for i, t in enumerate(TEXTS)],
    )  # fmt: skip
    events_append(
        project=project,
        session_external_id="plain",
        events=[
            EventInput(external_id=f"g-{i}", source="llm", content=t, run_external_id="run-1",
                       parent_external_id="p-0")
            for i, t in enumerate(TEXTS)
        ],
    )  # fmt: skip
    # The many-session path: the OTLP receiver's.
    spans = decode_protobuf(protobuf(recorded(emit_conversation)))
    assert otel_spans_store(project=project, spans=spans).rejected == 0
    assert Event.objects.count() > 2 * len(TEXTS)
    assert _stored_words_differ() == []
    # Changing the text changes the words (the update trigger).
    Event.objects.filter(external_id="p-0").update(content="Entirely new text")
    assert _stored_words_differ() == []
