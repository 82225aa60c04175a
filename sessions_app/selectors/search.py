"""Full-text search over events' content, as ORM expressions: PostgreSQL's text search through
the GIN index of migration 0005, a case-insensitive substring match on other databases."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import BooleanField, Expression, F, Func, QuerySet, Value
from django.db.models.sql.compiler import SQLCompiler

from ..models import Event, Project

# The indexed document of an event (migration 0005): its first 65,536 characters, since a
# tsvector holds at most 1 MB and larger outputs made the insert fail. The expression must match
# the index's exactly for the planner to use it.
FTS_DOCUMENT = "to_tsvector('simple', left(content, 65536))"


class ContentMatches(Func):
    """`to_tsvector('simple', left(<text>, 65536)) @@ plainto_tsquery('simple', <words>)`: the
    index's own expression, spelled out rather than built from SearchVector, which would wrap
    the column in COALESCE and pass the configuration as a parameter, so the planner would no
    longer recognise the index's expression."""

    template = (
        "to_tsvector('simple', left(%(document)s, 65536)) @@ plainto_tsquery('simple', %(words)s)"
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
        document_sql, document_params = compiler.compile(self.source_expressions[0])
        words_sql, words_params = compiler.compile(self.source_expressions[1])
        sql = self.template % {"document": document_sql, "words": words_sql}
        return sql, [*document_params, *words_params]


def events_matching(events: QuerySet[Event], q: str) -> QuerySet[Event]:
    """The events whose content has the words of `q` (PostgreSQL, over each event's first
    65,536 characters) or contains `q` case-insensitively (other databases)."""
    if connection.vendor == "postgresql":
        return events.filter(ContentMatches(F("content"), q))
    return events.filter(content__icontains=q)


def session_ids_matching(project: Project, q: str) -> QuerySet:
    """Ids of the project's sessions with an event matching `q`, for a semi-join."""
    return events_matching(Event.objects.filter(project=project), q).values("session_id")
