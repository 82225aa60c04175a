"""Full-text search over events' content, as ORM expressions: PostgreSQL's text search through
the GIN index of migration 0016, a case-insensitive substring match on other databases."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import (
    BooleanField,
    Expression,
    F,
    Func,
    QuerySet,
    Value,
)
from django.db.models.expressions import Col
from django.db.models.functions import Left
from django.db.models.sql.compiler import SQLCompiler
from django.utils.html import escape
from django.utils.safestring import SafeString

from ..models import Event, Project

# The indexed document of an event (migration 0016): the words its insert trigger stored, else
# (rows older than that migration) its first 65,536 characters parsed, since a tsvector holds at
# most 1 MB and larger outputs made the insert fail. The expression must match the index's
# exactly for the planner to use it; the stored words spare each match's recheck a parse.
OLD_DOCUMENT = "to_tsvector('simple', left(content, 65536))"
FTS_DOCUMENT = f"coalesce(search_vector, {OLD_DOCUMENT})"


class ContentMatches(Func):
    """`coalesce(search_vector, to_tsvector('simple', left(content, 65536))) @@
    plainto_tsquery('simple', <words>)`: the index's own expression, spelled out rather than
    built from SearchVector, which would pass the configuration as a parameter, so the planner
    would no longer recognise the index's expression. `search_vector` is not a model field (the
    ORM never loads it): it is named here beside the content column, on the same table alias."""

    template = (
        "coalesce(%(vector)s, to_tsvector('simple', left(%(document)s, 65536)))"
        " @@ plainto_tsquery('simple', %(words)s)"
    )
    output_field = BooleanField()

    def __init__(self, document: Expression | F, words: str) -> None:
        super().__init__(document, Value(words))

    def as_sql(
        self,
        compiler: SQLCompiler,
        connection: Any,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> tuple[str, list[Any]]:
        """The match as SQL, each operand compiled by Django (no string formatting of input)."""
        document = self.source_expressions[0]
        document_sql, document_params = compiler.compile(document)
        words_sql, words_params = compiler.compile(self.source_expressions[1])
        if not isinstance(document, Col):
            raise TypeError("ContentMatches searches an events table's content column")
        alias = compiler.quote_name_unless_alias(document.alias)
        vector_sql = f"{alias}.{connection.ops.quote_name('search_vector')}"
        sql = self.template % {"vector": vector_sql, "document": document_sql, "words": words_sql}
        return sql, [*document_params, *words_params]


def events_matching(events: QuerySet[Event], q: str) -> QuerySet[Event]:
    """The events whose content has the words of `q` (PostgreSQL, over each event's first
    65,536 characters) or contains `q` case-insensitively (other databases)."""
    if connection.vendor == "postgresql":
        return events.filter(ContentMatches(F("content"), q))
    return events.filter(content__icontains=q)


def _live_events(project: Project) -> QuerySet[Event]:
    # An agent's pop or clear takes the text out of the conversation: the list's search finds
    # and counts what the agent kept (the removed events stay in the record and the costs).
    return Event.objects.filter(project=project, removed_at__isnull=True)


def session_ids_matching(project: Project, q: str) -> QuerySet:
    """Ids of the project's sessions with a live event (not popped or cleared) matching `q`,
    for a semi-join."""
    return events_matching(_live_events(project), q).values("session_id")


# -- the sessions list's search -------------------------------------------------------------

# A search reads at most this many matching events, the latest first. A word found in 100,000
# events would otherwise make the list read them all to learn their sessions (1.9 s on
# PostgreSQL); past the bound the list shows the sessions of the latest matches and says so.
SEARCH_HITS = 2000
SEARCH_ROUNDS = 3
SNIPPET_CHARS = 160
# The text a snippet is cut from: the indexed part of the content, no more.
SNIPPET_SOURCE = 65536


@dataclass(frozen=True)
class SearchScope:
    """The sessions a search found: all of them (`complete`), or those of the latest
    `SEARCH_HITS` matching events. `latest_hit` maps each session to its latest matching event
    read (the snippet's source)."""

    session_ids: list[int]
    complete: bool
    latest_hit: dict[int, int] = field(default_factory=dict)


def search_scope(project: Project, q: str, *, want: int = 50) -> SearchScope:
    """The sessions with a live event matching `q`, read from at most SEARCH_HITS + 1 events, the
    latest first. When the bound is reached with fewer than `want` sessions (one long session
    holds all the latest matches), up to SEARCH_ROUNDS - 1 more bounded reads skip the sessions
    already found, so a busy session cannot hide every other one."""
    latest: dict[int, int] = {}
    complete = False
    for _ in range(SEARCH_ROUNDS):
        hits = list(
            events_matching(_live_events(project), q)
            .exclude(session_id__in=list(latest))
            .order_by("-pk")
            .values_list("session_id", "pk")[: SEARCH_HITS + 1]
        )
        complete = len(hits) <= SEARCH_HITS
        for session_id, event_id in hits[:SEARCH_HITS]:
            latest.setdefault(session_id, event_id)
        if complete or len(latest) >= want:
            break
    return SearchScope(session_ids=list(latest), complete=complete, latest_hit=latest)


@dataclass(frozen=True)
class Snippet:
    """Why a session matched: the seq of its first matching event and the words in context."""

    seq: int
    html: SafeString


def search_words(q: str) -> list[str]:
    """The words of a query as the highlighter looks for them (letters and digits)."""
    return [w for w in re.findall(r"\w+", q.lower()) if w][:20]


def highlight(text: str, q: str, *, width: int = SNIPPET_CHARS) -> SafeString:
    """`width` characters of `text` around the first word of `q`, escaped, each word of `q`
    wrapped in <mark>. PostgreSQL matches whole words, other databases substrings: the
    highlighter marks whole words when it finds one, else the substring."""
    words = search_words(q)
    flat = " ".join(text.split())
    if not words:
        return SafeString(escape(flat[:width]))
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
    first = pattern.search(flat)
    if first is None:
        pattern = re.compile(alternatives, re.IGNORECASE)
        first = pattern.search(flat)
    start = 0 if first is None else max(0, first.start() - width // 3)
    window = flat[start : start + width]
    parts: list[str] = ["…" if start else ""]
    at = 0
    for m in pattern.finditer(window):
        parts.append(str(escape(window[at : m.start()])))
        parts.append(f"<mark>{escape(m.group(0))}</mark>")
        at = m.end()
    parts.append(str(escape(window[at:])))
    if start + width < len(flat):
        parts.append("…")
    return SafeString("".join(parts))


def search_snippets(scope: SearchScope, session_ids: list[int], q: str) -> dict[int, Snippet]:
    """For each session, its latest matching event that the search read, as a highlighted
    snippet: one query by primary key (a scan for each session's first match took 1.3 s for a
    rare word deep in a 100,000-event session)."""
    wanted = [scope.latest_hit[pk] for pk in session_ids if pk in scope.latest_hit]
    if not wanted:
        return {}
    rows = (
        Event.objects.filter(pk__in=wanted)
        .annotate(part=Left("content", SNIPPET_SOURCE))
        .values_list("session_id", "seq", "part")
    )
    return {sid: Snippet(seq=seq, html=highlight(text or "", q)) for sid, seq, text in rows}
