"""Full-text search as an ORM expression: words on PostgreSQL (through the GIN index), a
case-insensitive substring elsewhere; always within one project."""

from __future__ import annotations

import pytest
from django.db import connection

from sessions_app.inputs import EventInput
from sessions_app.models import AgentSession, Event
from sessions_app.selectors.search import events_matching, session_ids_matching
from sessions_app.services.events import events_append

pytestmark = pytest.mark.django_db


def _say(project, external_id: str, text: str) -> AgentSession:
    events_append(
        project=project,
        session_external_id=external_id,
        events=[EventInput(external_id=f"{external_id}-1", source="user", content=text)],
    )
    return AgentSession.objects.get(project=project, external_id=external_id)


def test_sessions_with_a_matching_event_are_found(project):
    hit = _say(project, "hit", "The invoice for March is attached")
    _say(project, "miss", "Nothing to see here")
    assert [r["session_id"] for r in session_ids_matching(project, "invoice")] == [hit.pk]


def test_another_projects_events_are_never_found(project, other_project):
    _say(other_project, "theirs", "The invoice for March is attached")
    assert list(session_ids_matching(project, "invoice")) == []


def test_the_search_is_case_insensitive(project):
    hit = _say(project, "hit", "The Invoice for March")
    assert [r["session_id"] for r in session_ids_matching(project, "INVOICE")] == [hit.pk]


@pytest.mark.postgres
def test_postgres_matches_words_through_the_content_index(project):
    hit = _say(project, "hit", "The invoice for March is attached")
    assert [r["session_id"] for r in session_ids_matching(project, "march invoice")] == [hit.pk]
    assert list(session_ids_matching(project, "invo")) == []  # words, not substrings
    query = events_matching(Event.objects.all(), "invoice").values("id")
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "event_search" in plan


def test_highlight_marks_each_word_and_escapes_the_rest():
    from sessions_app.selectors.search import highlight

    html = highlight("Refund <b>order</b> 42 now: the ORDER was late", "order 42")
    assert html == (
        "Refund &lt;b&gt;<mark>order</mark>&lt;/b&gt; <mark>42</mark> now: "
        "the <mark>ORDER</mark> was late"
    )


def test_highlight_cuts_a_window_around_the_first_match():
    from sessions_app.selectors.search import highlight

    text = "word " * 200 + "needle" + " tail" * 200
    html = highlight(text, "needle", width=60)
    assert html.startswith("…") and html.endswith("…")
    assert "<mark>needle</mark>" in html and len(html) < 120


def test_search_scope_reads_a_bounded_number_of_matches_latest_first(project, monkeypatch):
    from sessions_app.selectors import search

    old = _say(project, "old", "invoice one")
    new = _say(project, "new", "invoice two")
    scope = search.search_scope(project, "invoice")
    assert (scope.session_ids, scope.complete) == ([new.pk, old.pk], True)
    monkeypatch.setattr(search, "SEARCH_HITS", 1)
    monkeypatch.setattr(search, "SEARCH_ROUNDS", 1)
    scope = search.search_scope(project, "invoice")
    assert (scope.session_ids, scope.complete) == ([new.pk], False)


def test_snippets_come_from_each_sessions_latest_matching_event(project):
    from sessions_app.selectors.search import search_scope, search_snippets

    hit = _say(project, "hit", "The invoice for March")
    events_append(
        project=project,
        session_external_id="hit",
        events=[EventInput(external_id="hit-2", source="user", content="A second invoice")],
    )
    miss = _say(project, "miss", "Nothing here")
    scope = search_scope(project, "invoice")
    snippets = search_snippets(scope, [hit.pk, miss.pk], "invoice")
    assert list(snippets) == [hit.pk]
    assert snippets[hit.pk].seq == 2
    assert str(snippets[hit.pk].html) == "A second <mark>invoice</mark>"


def test_a_session_holding_all_the_latest_matches_does_not_hide_the_others(project, monkeypatch):
    from sessions_app.selectors import search

    old = _say(project, "old", "invoice one")
    events_append(
        project=project,
        session_external_id="busy",
        events=[
            EventInput(external_id=f"busy-{i}", source="user", content=f"invoice {i}")
            for i in range(5)
        ],
    )
    busy = AgentSession.objects.get(project=project, external_id="busy")
    monkeypatch.setattr(search, "SEARCH_HITS", 3)
    scope = search.search_scope(project, "invoice")
    # The first read sees only the busy session's latest three; the second skips it.
    assert scope.session_ids == [busy.pk, old.pk]
    assert scope.complete
