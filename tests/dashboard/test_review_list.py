"""The sessions list's review columns (comments, scores) and score filters; the costs CSV."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from sessions_app.models import DataType, ScoreConfig
from sessions_app.selectors.session_list import SessionFilters, sessions_page
from sessions_app.services.comments import comment_add
from sessions_app.services.scores import score_record

from .conftest import htmx, make_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(project):
    helpful = ScoreConfig.objects.create(
        project=project, name="helpfulness", data_type=DataType.NUMERIC
    )
    ScoreConfig.objects.create(project=project, name="solved", data_type=DataType.BOOLEAN)
    a = make_session(project, "a")
    b = make_session(project, "b")
    make_session(project, "c")
    score_record(session=a, name="helpfulness", value=5, config=helpful, author_name="t")
    score_record(session=b, name="helpfulness", value=2, config=helpful, author_name="t")
    # b's events are scored too; a session's own score wins over its events' average.
    event = b.events.get(seq=2)
    score_record(session=b, event=event, name="helpfulness", value=4, config=helpful)
    score_record(session=a, name="solved", value=True, config=None, author_name="t")
    comment_add(session=a, text="one", author_name="t")
    comment_add(session=a, text="two", author_name="t")
    return a, b


def rows(response) -> list[str]:
    return [line for line in response.content.decode().split("<tr") if "session-link" in line]


def test_the_list_shows_comment_counts_and_score_columns(client, viewer, scored):
    client.force_login(viewer)
    response = client.get(reverse("dashboard:session_list", args=["acme"]))
    html = response.content.decode()
    assert 'class="sort">helpfulness</a>' in html and 'class="sort">solved</a>' in html
    row_a = next(r for r in rows(response) if "<code>a</code>" in r)
    assert '<td class="num comment-count">2</td>' in row_a
    assert '<td class="num score-cell">5</td><td class="num score-cell">true</td>' in row_a
    row_b = next(r for r in rows(response) if "<code>b</code>" in r)
    assert '<td class="num score-cell">2</td>' in row_b


def test_the_list_filters_by_a_score_range_and_value(client, viewer, scored):
    client.force_login(viewer)
    list_url = reverse("dashboard:session_list", args=["acme"])
    high = client.get(list_url, {"score": "helpfulness", "score_min": "5"}, **htmx("session-rows"))
    assert [r for r in rows(high) if "<code>" in r] and all(
        "<code>a</code>" in r for r in rows(high)
    )
    anyscore = client.get(list_url, {"score": "helpfulness"}, **htmx("session-rows"))
    assert len(rows(anyscore)) == 2
    solved = client.get(list_url, {"score": "solved", "score_value": "true"})
    assert len(rows(solved)) == 1


def test_the_costs_sessions_csv_has_comments_and_scores(client, viewer, scored):
    client.force_login(viewer)
    response = client.get(
        reverse("dashboard:costs", args=["acme"]), {"format": "csv", "breakdown": "sessions"}
    )
    table = {r["session"]: r for r in csv.DictReader(io.StringIO(response.content.decode()))}
    assert table["a"]["comments"] == "2" and table["a"]["score:helpfulness"] == "5"
    assert table["a"]["score:solved"] == "true" and table["b"]["score:helpfulness"] == "2"


def test_score_and_comment_headers_sort_the_list(client, viewer, scored):
    client.force_login(viewer)
    list_url = reverse("dashboard:session_list", args=["acme"])
    page = client.get(list_url).content.decode()
    assert 'href="?sort=-score%3Ahelpfulness"' in page and 'href="?sort=-comment_count"' in page
    down = client.get(list_url, {"sort": "-score:helpfulness"}, **htmx("session-rows"))
    assert [r.split("<code>")[1][0] for r in rows(down)] == ["a", "b", "c"]
    # Clicking again turns it around; the unscored session stays last.
    assert 'href="?sort=score%3Ahelpfulness"' in down.content.decode()
    up = client.get(list_url, {"sort": "score:helpfulness"}, **htmx("session-rows"))
    assert [r.split("<code>")[1][0] for r in rows(up)] == ["b", "a", "c"]
    comments = client.get(list_url, {"sort": "-comment_count"}, **htmx("session-rows"))
    assert [r.split("<code>")[1][0] for r in rows(comments)] == ["a", "c", "b"]


def test_a_sort_that_is_no_column_is_reported_and_the_default_order_kept(client, viewer, scored):
    client.force_login(viewer)
    list_url = reverse("dashboard:session_list", args=["acme"])
    response = client.get(list_url, {"sort": "-password"}, **htmx("session-rows"))
    assert response.status_code == 200 and "Sort by a column of the list." in response.text
    assert len(rows(response)) == 3


def test_another_project_s_user_cannot_sort_this_list(client, outsider, scored):
    client.force_login(outsider)
    url = reverse("dashboard:session_list", args=["acme"])
    assert client.get(url, {"sort": "-score:helpfulness"}).status_code == 404


@pytest.mark.parametrize(
    ("sort", "queries"),
    # The rows partial's 10 with score columns (the last reads the page's scores); a score sort
    # reads its config once more, to know whether it sorts by label or by number, and a page
    # that runs past the sessions with a value reads the others in a second query (here every
    # page does: the list is shorter than a page).
    [
        ("-comment_count", 10),
        ("comment_count", 10),
        ("-score:helpfulness", 12),
        ("score:solved", 12),
    ],
)
def test_review_sorts_keep_the_rows_partial_s_query_count(
    client, viewer, scored, django_assert_num_queries, sort, queries
):
    client.force_login(viewer)
    list_url = reverse("dashboard:session_list", args=["acme"])
    with django_assert_num_queries(queries):
        client.get(list_url, {"sort": sort}, **htmx("session-rows"))


def test_the_next_page_of_a_score_sort_is_the_same_query_count(
    client, viewer, scored, django_assert_num_queries
):
    client.force_login(viewer)
    list_url = reverse("dashboard:session_list", args=["acme"])
    first = client.get(list_url, {"sort": "-score:helpfulness"}, **htmx("session-rows"))
    assert first.status_code == 200
    page = sessions_page(scored[0].project, SessionFilters(sort="-score:helpfulness"), limit=1)
    with django_assert_num_queries(12):
        second = client.get(
            list_url,
            {"sort": "-score:helpfulness", "cursor": page.next_cursor},
            **htmx("session-rows"),
        )
    assert [r.split("<code>")[1][0] for r in rows(second)] == ["b", "c"]
