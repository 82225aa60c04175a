"""The per-session score values (SessionScore) the list shows, filters and sorts by: equal to
a from-scratch computation from the scores after any sequence of writes (own and event scores,
people and programs, removals rebuilt), backfilled by the migration, and the score sorts read
from them in keyset pages with ties and sessions without the score last."""

from __future__ import annotations

import importlib
import math
import random
from collections import defaultdict

import pytest
from django.apps import apps as django_apps
from django.db import connection

from sessions_app.models import DataType, Score, ScoreConfig, SessionScore
from sessions_app.selectors.session_list import SessionFilters, sessions_page
from sessions_app.services import queues as queue_services
from sessions_app.services.queues import queue_items_add
from sessions_app.services.score_values import score_value_add, score_values_rebuild
from sessions_app.services.scores import score_record
from tests.factories import SessionFactory, UserFactory

pytestmark = pytest.mark.django_db

LABELS = ["calm", "curt", "rude"]


def from_scratch(project) -> dict[tuple[int, str], tuple[str, float | None, str]]:
    """What the list showed before the table: the session's own latest score, else the
    average of its events' numbers; (cell, number, label) per (session, name)."""
    own: dict[tuple[int, str], Score] = {}
    numbers: dict[tuple[int, str], list[float]] = defaultdict(list)
    for s in Score.objects.filter(project=project).order_by("created_at", "id"):
        if s.event_id is None:
            own[(s.session_id, s.name)] = s
        elif s.value_number is not None:
            numbers[(s.session_id, s.name)].append(s.value_number)
    out = {}
    for key in set(own) | set(numbers):
        if key in own:
            o = own[key]
            out[key] = (o.display, o.value_number, o.value_label)
        else:
            mean = sum(numbers[key]) / len(numbers[key])
            out[key] = (f"{mean:.3g}", mean, "")
    return out


def table(project) -> dict[tuple[int, str], tuple[str, float | None, str]]:
    return {
        (r.session_id, r.name): (r.display, r.value, r.label)
        for r in SessionScore.objects.filter(project=project)
    }


def assert_table_exact(project) -> None:
    got, want = table(project), from_scratch(project)
    assert got.keys() == want.keys()
    for key, (cell, number, label) in want.items():
        g_cell, g_number, g_label = got[key]
        assert (g_cell, g_label) == (cell, label), key
        assert (g_number is None) == (number is None), key
        if number is not None:
            assert math.isclose(g_number, number, rel_tol=1e-12), key


def random_scores(project, seed: int, sessions: int = 14, writes: int = 70):
    """Sessions (agents a/b) with three events each, and random own and event scores of a
    numeric, a boolean, a categorical and an ad-hoc name, by people and by programs."""
    rnd = random.Random(seed)
    configs = {
        "quality": ScoreConfig.objects.create(project=project, name="quality", data_type="numeric"),
        "ok": ScoreConfig.objects.create(project=project, name="ok", data_type="boolean"),
        "tone": ScoreConfig.objects.create(
            project=project, name="tone", data_type=DataType.CATEGORICAL, categories=LABELS
        ),
    }
    user = UserFactory()
    rows = [
        SessionFactory(project=project, external_id=f"s{i:02}", agent_name=rnd.choice("ab"))
        for i in range(sessions)
    ]
    events = {
        s.pk: [
            s.events.create(project=project, seq=n + 1, external_id=f"{s.pk}-e{n}", source="user")
            for n in range(3)
        ]
        for s in rows
    }
    for n in range(writes):
        session = rnd.choice(rows)
        name = rnd.choice(["quality", "quality", "ok", "tone", "adhoc"])
        value: object = {
            "quality": rnd.randint(0, 5),
            "ok": rnd.random() < 0.5,
            "tone": rnd.choice(LABELS),
            "adhoc": rnd.choice([rnd.randint(0, 3), "odd"]),
        }[name]
        event = rnd.choice(events[session.pk]) if rnd.random() < 0.5 else None
        person = rnd.random() < 0.5
        score_record(
            session=session,
            name=name,
            value=value,
            config=configs.get(name),
            event=event,
            user=user if person else None,
            external_id=None if person else f"api-{seed}-{n}",
            body={"n": n},
        )
    return rows


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_the_value_table_equals_a_computation_from_scratch_after_random_writes(project, seed):
    random_scores(project, seed)
    assert_table_exact(project)


@pytest.mark.parametrize("seed", [5, 6])
def test_removed_scores_rebuild_their_sessions_rows_exactly(project, seed):
    sessions = random_scores(project, seed)
    rnd = random.Random(seed)
    gone = rnd.sample(list(Score.objects.filter(project=project)), 25)
    Score.objects.filter(pk__in=[s.pk for s in gone]).delete()
    score_values_rebuild({s.session_id for s in gone})
    assert_table_exact(project)
    # A session whose last score went has no row left.
    Score.objects.filter(session=sessions[0]).delete()
    score_values_rebuild([sessions[0].pk])
    assert not SessionScore.objects.filter(session=sessions[0]).exists()


def test_the_rebuild_of_many_sessions_is_two_statements_per_thousand(
    project, django_assert_num_queries
):
    sessions = random_scores(project, 7)
    with django_assert_num_queries(2):
        score_values_rebuild(s.pk for s in sessions)
    assert_table_exact(project)


def test_a_new_score_updates_its_row_in_one_query(project, django_assert_num_queries):
    config = ScoreConfig.objects.create(project=project, name="quality", data_type="numeric")
    session = SessionFactory(project=project)
    event = session.events.create(project=project, seq=1, external_id="e1", source="user")
    score_record(session=session, event=event, name="quality", value=2, config=config)
    # The score's INSERT, its value's upsert, its history line, and two pairs of savepoints.
    with django_assert_num_queries(7):
        score_record(session=session, event=event, name="quality", value=5, config=config)
    row = SessionScore.objects.get(session=session)
    assert (row.event_count, row.event_sum, row.value, row.display) == (2, 7.0, 3.5, "3.5")


def test_the_migration_backfills_the_table_from_the_scores(project):
    random_scores(project, 8)
    SessionScore.objects.all().delete()
    migration = importlib.import_module("sessions_app.migrations.0015_session_score_values")
    migration.backfill_score_values(django_apps, SqlOnly())
    assert_table_exact(project)


class SqlOnly:
    """What the backfill uses of a schema editor (SQLite's cannot open inside a test's
    transaction)."""

    def execute(self, sql, params=()):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def expected_order(project, name: str, sessions, *, descending: bool) -> list[str]:
    """Sessions with a value by (value, id), then the rest by id, in the sort's direction."""
    values = {sid: v for (sid, n), v in from_scratch(project).items() if n == name}
    label = name == "tone"
    key = {sid: (v[2] if label else v[1]) for sid, v in values.items()}
    valued = [s for s in sessions if key.get(s.pk) not in (None, "")]
    rest = [s for s in sessions if key.get(s.pk) in (None, "")]
    valued.sort(key=lambda s: (key[s.pk], s.pk), reverse=descending)
    rest.sort(key=lambda s: s.pk, reverse=descending)
    return [s.external_id for s in valued + rest]


def walk(project, filters: SessionFilters, limit: int) -> list[str]:
    """Every page forward, then back from the last page: both must give the same rows."""
    pages, cursor = [], ""
    while True:
        page = sessions_page(project, filters, cursor=cursor, limit=limit)
        pages.append(page)
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    forward = [s.external_id for p in pages for s in p.items]
    backward = [s.external_id for s in pages[-1].items]
    before = pages[-1].prev_cursor
    while before:
        page = sessions_page(project, filters, before=before, limit=limit)
        backward = [s.external_id for s in page.items] + backward
        before = page.prev_cursor
    assert backward == forward
    return forward


@pytest.mark.parametrize("seed", [11, 12])
@pytest.mark.parametrize("name", ["quality", "tone"])
@pytest.mark.parametrize("limit", [1, 3])
def test_score_sorts_walk_ties_and_missing_values_across_pages(project, seed, name, limit):
    sessions = random_scores(project, seed)
    for descending in (True, False):
        sort = f"{'-' if descending else ''}score:{name}"
        got = walk(project, SessionFilters(sort=sort), limit)
        assert got == expected_order(project, name, sessions, descending=descending)
        agent_a = [s for s in sessions if s.agent_name == "a"]
        got = walk(project, SessionFilters(sort=sort, agent="a"), limit)
        assert got == expected_order(project, name, agent_a, descending=descending)


def test_the_score_filter_agrees_with_the_column(project):
    sessions = random_scores(project, 13)
    values = from_scratch(project)
    shown = {sid for (sid, n), v in values.items() if n == "quality" and v[1] is not None}
    inside = {sid for sid in shown if 1 <= values[(sid, "quality")][1] <= 3}
    filters = SessionFilters(score="quality", score_min=1, score_max=3, sort="-score:quality")
    got = {s.pk for s in sessions_page(project, filters, limit=100).items}
    assert got == inside
    calm = {sid for (sid, n), v in values.items() if n == "tone" and v[2] == "calm"}
    filters = SessionFilters(score="tone", score_value="calm")
    assert {s.pk for s in sessions_page(project, filters, limit=100).items} == calm
    assert len(sessions) == 14


def test_bulk_add_to_a_queue_goes_in_chunks(project, monkeypatch):
    from sessions_app.models import AnnotationQueue, QueueItem

    monkeypatch.setattr(queue_services, "QUEUE_ADD_CHUNK", 3)
    queue = AnnotationQueue.objects.create(project=project, name="q")
    sessions = [SessionFactory(project=project) for _ in range(8)]
    assert queue_items_add(queue=queue, sessions=sessions[:2]) == 2
    assert queue_items_add(queue=queue, sessions=sessions + sessions[:1]) == 6
    assert QueueItem.objects.filter(queue=queue).count() == 8


def test_a_renamed_agent_moves_its_sessions_values_for_the_agent_filtered_sort(project):
    from sessions_app.services.sessions import session_upsert

    sessions = random_scores(project, 14)
    moved = next(s for s in sessions if s.agent_name == "a" and s.score_values.exists())
    session_upsert(project=project, external_id=moved.external_id, fields={"agent_name": "b"})
    assert set(SessionScore.objects.filter(session=moved).values_list("agent_name", flat=True)) == {
        "b"
    }
    moved.agent_name = "b"
    for agent in ("a", "b"):
        mine = [s for s in sessions if s.agent_name == agent]
        got = walk(project, SessionFilters(sort="-score:quality", agent=agent), 3)
        assert got == expected_order(project, "quality", mine, descending=True)


# -- scores stored before the ±1e15 limit -------------------------------------------------------


def legacy_event_scores(project, numbers: list[float], name: str = "legacy"):
    """A session with event scores of these numbers, as an earlier release could store them
    (any finite double): recorded within the range, then set as they were."""
    session = SessionFactory(project=project)
    event = session.events.create(project=project, seq=1, external_id="e1", source="user")
    for n, number in enumerate(numbers):
        score, _ = score_record(session=session, event=event, name=name, value=n, config=None)
        Score.objects.filter(pk=score.pk).update(value_number=number)
    return session


def test_a_rebuild_sums_scores_beyond_the_range_without_overflow(project):
    # Summed as they are, these overflow: an error on PostgreSQL, infinity on SQLite.
    session = legacy_event_scores(project, [1.7e308, 1.7e308, -1e300, 3.0])
    score_values_rebuild([session.pk])
    row = SessionScore.objects.get(session=session)
    # Each counts as the range's end: (1e15 + 1e15 - 1e15 + 3) / 4.
    assert (row.event_count, row.event_sum) == (4, 1e15 + 3)
    assert row.value == (1e15 + 3) / 4


def test_the_migration_backfills_scores_beyond_the_range_without_overflow(project):
    session = legacy_event_scores(project, [1.7e308, 1.7e308])
    SessionScore.objects.all().delete()
    migration = importlib.import_module("sessions_app.migrations.0015_session_score_values")
    migration.backfill_score_values(django_apps, SqlOnly())
    row = SessionScore.objects.get(session=session)
    assert (row.event_count, row.event_sum, row.value) == (2, 2e15, 1e15)


def test_a_new_score_added_to_a_sum_of_old_ones_stays_finite(project):
    session = legacy_event_scores(project, [1.7e308])
    score_values_rebuild([session.pk])
    event = session.events.get()
    score_record(session=session, event=event, name="legacy", value=5, config=None)
    row = SessionScore.objects.get(session=session, name="legacy")
    assert (row.event_count, row.event_sum, row.value) == (2, 1e15 + 5, (1e15 + 5) / 2)
    # A number beyond the range handed to the upsert itself counts as the range's end too.
    score = Score.objects.filter(session=session).latest("id")
    score.value_number = -1.7e308
    score_value_add(score, session.agent_name)
    row.refresh_from_db()
    assert (row.event_count, row.event_sum) == (3, 5.0)


def test_ten_thousand_scores_at_the_range_s_end_still_sum(project):
    # Past 9,223 of them a sum of 1e15 overflows a 64-bit integer: SQLite must sum them as reals.
    session = legacy_event_scores(project, [2e20])
    first = Score.objects.get(session=session)
    Score.objects.bulk_create(
        Score(
            project_id=project.pk,
            session=session,
            event_id=first.event_id,
            name="legacy",
            data_type=DataType.NUMERIC,
            value_number=2e20,
        )
        for _ in range(9_999)
    )
    score_values_rebuild([session.pk])
    row = SessionScore.objects.get(session=session)
    assert (row.event_count, row.event_sum, row.value) == (10_000, 1e19, 1e15)
