"""The sessions list sorted by comment count and by a score column: the order the column
shows, sessions without the score last in both directions, and keyset pages that cover every
row once whichever way they are walked, ties included."""

from __future__ import annotations

import pytest

from sessions_app.models import DataType, ScoreConfig
from sessions_app.selectors.pagination import decode_cursor, encode_cursor
from sessions_app.selectors.session_list import SessionFilters, sessions_page
from sessions_app.services.comments import comment_add, comment_delete
from sessions_app.services.scores import score_record
from tests.factories import SessionFactory, UserFactory

pytestmark = pytest.mark.django_db


def walk(project, sort: str, limit: int = 2) -> list[str]:
    """Every page forward from the first, then every page back from the last: both must list
    the same rows in the same order."""
    filters = SessionFilters(sort=sort)
    forward, pages, cursor = [], [], ""
    while True:
        page = sessions_page(project, filters, cursor=cursor, limit=limit)
        pages.append(page)
        forward += [s.external_id for s in page.items]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    backward: list[str] = []
    before = pages[-1].prev_cursor
    backward = [s.external_id for s in pages[-1].items]
    while before:
        page = sessions_page(project, filters, before=before, limit=limit)
        backward = [s.external_id for s in page.items] + backward
        before = page.prev_cursor
    assert backward == forward
    return forward


@pytest.fixture
def scored(project):
    """Sessions s0..s6 (ids in that order): numeric scores with a tie, one from its events'
    average only, two without the score."""
    config = ScoreConfig.objects.create(project=project, name="quality", data_type="numeric")
    sessions = [SessionFactory(project=project, external_id=f"s{i}") for i in range(7)]
    for i, value in ((0, 3), (1, 5), (2, 3), (4, 1)):
        score_record(session=sessions[i], name="quality", value=value, config=config)
    # s5: no score of its own, its events' 2 and 5 average to 3.5.
    for n, value in enumerate((2, 5)):
        event = sessions[5].events.create(
            project=project, seq=n + 1, external_id=f"e{n}", source="user"
        )
        score_record(session=sessions[5], event=event, name="quality", value=value, config=config)
    # s3 and s6 have no quality score.
    return sessions


def test_a_score_sort_orders_by_the_value_shown_and_puts_sessions_without_it_last(project, scored):
    assert walk(project, "-score:quality") == ["s1", "s5", "s2", "s0", "s4", "s6", "s3"]
    assert walk(project, "score:quality") == ["s4", "s0", "s2", "s5", "s1", "s3", "s6"]


def test_pages_of_one_row_still_cover_every_session_once(project, scored):
    assert walk(project, "-score:quality", limit=1) == walk(project, "-score:quality", limit=3)
    assert walk(project, "score:quality", limit=1) == walk(project, "score:quality", limit=4)


def test_a_session_s_own_latest_score_wins_over_older_ones_and_its_events(project, scored):
    config = ScoreConfig.objects.get(name="quality")
    score_record(session=scored[1], name="quality", value=0, config=config)
    assert walk(project, "-score:quality")[:5] == ["s5", "s2", "s0", "s4", "s1"]


def test_a_categorical_score_sorts_by_its_label(project):
    config = ScoreConfig.objects.create(
        project=project, name="tone", data_type=DataType.CATEGORICAL, categories=["calm", "rude"]
    )
    sessions = [SessionFactory(project=project, external_id=f"t{i}") for i in range(4)]
    for i, label in ((0, "rude"), (1, "calm"), (3, "calm")):
        score_record(session=sessions[i], name="tone", value=label, config=config)
    assert walk(project, "score:tone") == ["t1", "t3", "t0", "t2"]
    assert walk(project, "-score:tone", limit=1) == ["t0", "t3", "t1", "t2"]


def test_a_score_without_a_config_or_any_value_leaves_every_session_in_id_order(project):
    for i in range(3):
        SessionFactory(project=project, external_id=f"n{i}")
    assert walk(project, "-score:nothing") == ["n2", "n1", "n0"]
    assert walk(project, "score:nothing") == ["n0", "n1", "n2"]


def test_the_comment_count_sort_follows_comments_added_and_deleted(project):
    user = UserFactory()
    sessions = [SessionFactory(project=project, external_id=f"c{i}") for i in range(4)]
    for i, n in ((0, 1), (1, 3), (2, 1)):
        for _ in range(n):
            comment_add(session=sessions[i], text="hm", user=user)
    assert walk(project, "-comment_count") == ["c1", "c2", "c0", "c3"]
    for comment in sessions[1].comments.all()[:3]:
        comment.session = sessions[1]
        comment_delete(comment=comment, user=user, is_admin=False)
    assert walk(project, "comment_count") == ["c1", "c3", "c0", "c2"]


@pytest.mark.parametrize(
    ("column", "value"), [("score_sort", 3.25), ("score_sort", None), ("score_label", "ok ü")]
)
def test_a_score_cursor_gives_back_its_key_even_when_null(column, value):
    assert decode_cursor(encode_cursor(value, 9), column) == (value, 9)


def test_a_forged_score_cursor_restarts_the_list(project, scored):
    forged = encode_cursor("nan", 3)
    assert decode_cursor(forged, "score_sort") is None
    page = sessions_page(project, SessionFilters(sort="-score:quality"), cursor=forged, limit=2)
    assert [s.external_id for s in page.items] == ["s1", "s5"]
