"""The sessions list: access, filters, sorts, keyset pages, the rows partial."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import AgentSession

from ..factories import UserFactory
from .conftest import htmx, make_session

pytestmark = pytest.mark.django_db


def url(slug: str = "acme", **params) -> str:
    from urllib.parse import urlencode

    base = reverse("dashboard:session_list", args=[slug])
    return f"{base}?{urlencode(params)}" if params else base


def titles(response) -> list[str]:
    return [s.external_id for s in response.context["page"].items]


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_login_page_has_a_real_form(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b'name="username"' in response.content and b'type="submit"' in response.content


def test_a_member_signs_in_through_the_login_form(client, viewer, project):
    response = client.post(
        "/accounts/login/", {"username": "viewer", "password": "pw-for-tests-1"}, follow=True
    )
    assert response.redirect_chain[-1][0] == url()
    assert response.status_code == 200 and 'id="session-rows"' in response.content.decode()


def test_home_sends_a_member_to_their_project(client, viewer, project):
    client.force_login(viewer)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == url()


def test_home_remembers_the_last_used_project(client, viewer, project, other_project):
    from sessions_app.services.projects import membership_set

    membership_set(user=viewer, project=other_project, role="viewer")
    client.force_login(viewer)
    client.get(url("other"))
    assert client.get("/")["Location"] == url("other")


def test_user_without_projects_is_told_so(client, db):
    client.force_login(UserFactory(username="lonely"))
    response = client.get("/")
    assert response.status_code == 200
    assert b"not a member of any project" in response.content


def test_list_page_shows_sessions_with_their_rollups(client, viewer, session):
    client.force_login(viewer)
    response = client.get(url())
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html and 'id="session-rows"' in html
    assert "question 0 from s-main" in html  # the first user message stands in for a title
    assert "support-bot" in html and "$0.0200" in html


def test_rows_partial_is_only_the_table(client, viewer, session):
    client.force_login(viewer)
    response = client.get(url(), **htmx("session-rows"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and html.lstrip().startswith('<div id="session-rows">')
    assert "s-main" in html


def test_non_member_gets_404(client, outsider, session):
    client.force_login(outsider)
    assert client.get(url()).status_code == 404


def test_superuser_sees_every_project(client, session):
    admin = UserFactory(username="root", is_superuser=True)
    client.force_login(admin)
    assert client.get(url()).status_code == 200


@pytest.fixture
def variety(project):
    now = timezone.now()
    a = make_session(project, "a", agent_name="alpha", user_ref="ann", metadata={"env": "prod"})
    b = make_session(
        project, "b", turns=3, agent_name="beta", user_ref="bob", metadata={"env": "staging"}
    )
    c = make_session(project, "c", turns=0, agent_name="alpha", status="archived")
    d = make_session(project, "d", parent="a", agent_name="alpha")
    AgentSession.objects.filter(pk=b.pk).update(
        error_count=2, review_status="flagged", last_event_at=now - timedelta(days=10)
    )
    return {"a": a, "b": b, "c": c, "d": d}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"a", "b", "d"}),  # archived sessions are out of sight by default
        ({"status": "archived"}, {"c"}),
        ({"status": "all"}, {"a", "b", "c", "d"}),
        ({"agent": "alpha"}, {"a", "d"}),
        ({"user": "bob"}, {"b"}),
        ({"kind": "child"}, {"d"}),
        ({"has_errors": "1"}, {"b"}),
        ({"review": "flagged"}, {"b"}),
        ({"review": "none"}, {"a", "d"}),
        ({"meta": "env=staging"}, {"b"}),
        ({"min_cost": "0.025"}, {"b"}),
        # max_cost is exclusive, as the costs page's buckets are (low <= cost < high).
        ({"max_cost": "0.025"}, {"a", "d"}),
        ({"max_cost": "0.01"}, set()),
        ({"min_cost": "0.01", "max_cost": "0.03"}, {"a", "d"}),
        ({"min_cost": "0.01", "max_cost": "0.0300001"}, {"a", "b", "d"}),
        ({"model": "gpt-4o-mini"}, {"a", "b", "d"}),
        ({"model": "other-model"}, set()),
        ({"q": "question 2"}, {"b"}),
    ],
)
def test_filters(client, viewer, variety, params, expected):
    client.force_login(viewer)
    response = client.get(url(**params))
    assert response.status_code == 200
    assert set(titles(response)) == expected


def test_date_range_is_on_last_activity(client, viewer, variety):
    client.force_login(viewer)
    day = (timezone.now() - timedelta(days=10)).date().isoformat()
    assert set(titles(client.get(url(**{"from": day, "to": day})))) == {"b"}
    later = (timezone.now() - timedelta(days=9)).date().isoformat()
    assert "b" not in titles(client.get(url(**{"from": later})))


def test_invalid_filter_is_reported_and_ignored(client, viewer, variety):
    client.force_login(viewer)
    response = client.get(url(min_cost="lots", meta="no-equals-sign"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "min_cost" in html and "meta" in html and "(ignored)" in html
    assert set(titles(response)) == {"a", "b", "d"}


@pytest.mark.parametrize("raw", ["lots", "-1", "NaN", "Infinity", "1e30", "0.00000000001", "1,5"])
def test_an_invalid_max_cost_is_reported_and_ignored_as_min_cost_is(client, viewer, variety, raw):
    client.force_login(viewer)
    for name in ("min_cost", "max_cost"):
        response = client.get(url(**{name: raw}))
        assert response.status_code == 200
        assert name in response.context["form"].errors
        assert f"<b>{name}</b>" in response.content.decode()
        assert set(titles(response)) == {"a", "b", "d"}


@pytest.mark.parametrize("max_cost", ["0.03", "0.02"])
def test_a_max_cost_not_above_min_cost_is_reported_and_the_list_keeps_min_cost(
    client, viewer, variety, max_cost
):
    client.force_login(viewer)
    response = client.get(url(min_cost="0.03", max_cost=max_cost))
    assert response.status_code == 200
    assert "Max cost must be more than min cost." in response.content.decode()
    assert set(titles(response)) == {"b"}


def test_the_filter_form_and_the_pages_links_keep_max_cost(client, viewer, variety, monkeypatch):
    import dashboard.views.sessions as view_module

    monkeypatch.setattr(view_module, "PAGE_SIZE", 1)
    client.force_login(viewer)
    assert 'name="max_cost" value="0.5"' in client.get(url(max_cost="0.5")).content.decode()
    # The next page and the sort headers: every link of the rows keeps the filter.
    rows = client.get(url(max_cost="0.5"), **htmx("session-rows")).content.decode()
    links = re.findall(r'href="(\?[^"]*)"', rows)
    assert "Next page" in rows and len(links) > 5
    assert all("max_cost=0.5" in h for h in links)


@pytest.mark.postgres
def test_a_cost_range_is_read_through_the_cost_index(project, variety):
    # Both bounds are conditions of the session_cost index (project, cost_usd, id): the list
    # sorted by cost reads just the range, as min_cost alone does. (Without a sort or a scan of
    # the table the planner must read that index; what matters is the range in its condition.)
    from django.db import connection

    from sessions_app.selectors.session_list import SessionFilters, sessions_filtered

    filters = SessionFilters(min_cost=Decimal("0.01"), max_cost=Decimal("0.03"))
    qs = sessions_filtered(project, filters).order_by("-cost_usd", "-id")[:51]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        plan = qs.explain()
    assert "session_cost" in plan, plan
    cond = next(line for line in plan.splitlines() if "Index Cond" in line)
    assert "cost_usd >=" in cond and "cost_usd <" in cond, plan


@pytest.mark.parametrize("params", [{"to": "9999-12-31"}, {"from": "0001-01-01"}])
def test_a_day_python_cannot_step_past_is_reported_and_ignored(client, viewer, variety, params):
    client.force_login(viewer)
    response = client.get(url(**params))
    assert response.status_code == 200
    assert "A day from 1970-01-01 to 9000-01-01." in response.content.decode()
    assert set(titles(response)) == {"a", "b", "d"}


@pytest.mark.parametrize(
    "column",
    [
        "last_event_at",
        "created_at",
        "cost_usd",
        "total_tokens",
        "event_count",
        "duration_seconds",
        "children_count",
        "error_count",
    ],
)
@pytest.mark.parametrize("descending", [True, False])
def test_keyset_pages_cover_every_session_once_in_order(
    client, viewer, project, column, descending, monkeypatch
):
    for i in range(7):
        make_session(project, f"k{i}", turns=i % 3)
    AgentSession.objects.filter(project=project, external_id__in=["k1", "k4"]).update(
        cost_usd=Decimal("1.5")
    )
    client.force_login(viewer)
    sort = f"-{column}" if descending else column
    seen, cursor = [], ""
    import dashboard.views.sessions as view_module

    monkeypatch.setattr(view_module, "PAGE_SIZE", 3)
    pages = []
    for _ in range(5):
        response = client.get(url(sort=sort, **({"cursor": cursor} if cursor else {})))
        pages.append([s.pk for s in response.context["page"].items])
        seen += response.context["page"].items
        cursor = response.context["page"].next_cursor
        if not cursor:
            break
    assert len(seen) == 7 and len({s.pk for s in seen}) == 7
    keys = [(getattr(s, column), s.pk) for s in seen]
    assert keys == sorted(keys, reverse=descending)
    # And back: each previous page is the page shown before it, the first one has none.
    before = response.context["page"].prev_cursor
    for expected in reversed(pages[:-1]):
        response = client.get(url(sort=sort, before=before))
        assert [s.pk for s in response.context["page"].items] == expected
        before = response.context["page"].prev_cursor
    assert before is None


def test_a_malformed_cursor_restarts_the_list(client, viewer, variety):
    client.force_login(viewer)
    response = client.get(url(cursor="not-a-cursor"))
    assert response.status_code == 200
    assert len(titles(response)) == 3


def test_list_page_query_count(client, viewer, variety, django_assert_num_queries):
    client.force_login(viewer)
    client.get(url())  # warm the session row
    # session, user, project, role, sessions page, the count, price coverage, filter choices
    # (agents, models), switcher, budgets, review columns (score configs; comment counts are a
    # column of the row), saved views
    with django_assert_num_queries(13):
        client.get(url(sort="-cost_usd", agent="alpha"))


def test_a_search_adds_two_queries_the_matching_events_and_the_snippets(
    client, viewer, variety, django_assert_num_queries
):
    client.force_login(viewer)
    client.get(url())
    with django_assert_num_queries(11):  # the rows partial's 9, plus the search's 2
        client.get(url(q="answer"), **htmx("session-rows"))


def test_rows_partial_query_count(client, viewer, variety, django_assert_num_queries):
    client.force_login(viewer)
    # the budgets, the price coverage, the count and the review columns (the score configs)
    with django_assert_num_queries(9):
        client.get(url(), **htmx("session-rows"))


def test_pages_carry_a_content_security_policy(client, viewer, session):
    client.force_login(viewer)
    policy = client.get(url())["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "object-src 'none'" in policy


@pytest.mark.postgres
def test_full_text_search_uses_words_and_has_a_gin_index(client, viewer, variety):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'event_search'")
        (definition,) = cursor.fetchone()
    assert "gin" in definition and "to_tsvector('simple'" in definition
    # The filter's expression is the index's: with sequential scans off, a search by it alone
    # can only be answered through the index.
    from sessions_app.selectors.search import FTS_DOCUMENT

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM sessions_app_event "
            f"WHERE {FTS_DOCUMENT} @@ plainto_tsquery('simple', 'answer')"
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "event_search" in plan
    client.force_login(viewer)
    assert set(titles(client.get(url(q="answer 2")))) == {"b"}
    # Whole words, not substrings: "answ" is not a word of any event.
    assert titles(client.get(url(q="answ"))) == []


def test_rows_and_project_over_or_near_a_budget_are_flagged(client, viewer, project):
    from sessions_app.models import Budget

    make_session(project, "spender", user_ref="big-spender", turns=2)
    make_session(project, "saver", user_ref="small-spender", turns=1)
    spent = AgentSession.objects.get(external_id="spender").cost_usd
    assert spent > 0
    Budget.objects.create(
        project=project, scope="user", target="big-spender", period="total", amount_usd=spent / 2
    )
    total = sum(AgentSession.objects.values_list("cost_usd", flat=True))
    Budget.objects.create(  # 90 % used: near, the warning ratio being 80 %
        project=project,
        scope="project",
        target="",
        period="total",
        amount_usd=(total / Decimal("0.9")).quantize(Decimal("1e-6")),
    )
    client.force_login(viewer)
    html = client.get(url()).content.decode()
    assert html.count("over budget") == 1
    assert "near its budget" in html


def append_unpriced_answer(project, external_id: str) -> None:
    """An assistant message whose model has no price anywhere: cost 0, source unknown."""
    from sessions_app.inputs import EventInput, UsageInput
    from sessions_app.services.events import events_append

    events_append(
        project=project,
        session_external_id=external_id,
        events=[
            EventInput(
                external_id=f"{external_id}-mystery",
                source="llm",
                role="assistant",
                content="an answer from an unknown model",
                timestamp=timezone.now(),
                usage=UsageInput(model="mystery-model", prompt_tokens=40, completion_tokens=10),
            )
        ],
    )


def cost_cell(html: str, external_id: str) -> str:
    """The cost cell of the row of this session (the tenth cell after the selection box)."""
    row = next(r for r in html.split("<tr")[1:] if f"<code>{external_id}</code>" in r)
    return row.split("<td")[10]


def test_a_session_with_only_unpriced_usage_says_price_unknown_not_zero(client, viewer, project):
    from sessions_app.services.sessions import session_upsert

    session_upsert(project=project, external_id="unpriced", fields={})
    append_unpriced_answer(project, "unpriced")
    make_session(project, "no-usage", turns=0)
    client.force_login(viewer)
    html = client.get(url()).content.decode()
    assert "price unknown" in cost_cell(html, "unpriced")
    assert "$0" not in cost_cell(html, "unpriced")
    # No usage at all is a true zero, not an unknown price.
    assert "price unknown" not in cost_cell(html, "no-usage")


def test_a_partly_priced_session_shows_its_cost_and_an_unpriced_marker(client, viewer, project):
    make_session(project, "mixed", turns=2)
    append_unpriced_answer(project, "mixed")
    make_session(project, "priced", turns=2)
    client.force_login(viewer)
    html = client.get(url()).content.decode()
    assert "$0.0200" in cost_cell(html, "mixed") and "unpriced" in cost_cell(html, "mixed")
    assert "price unknown" not in cost_cell(html, "mixed")
    assert "$0.0200" in cost_cell(html, "priced") and "unpriced" not in cost_cell(html, "priced")


def test_price_coverage_is_one_query_for_the_page(
    client, viewer, project, django_assert_num_queries
):
    for i in range(5):
        make_session(project, f"m{i}", turns=1)
        append_unpriced_answer(project, f"m{i}")
    client.force_login(viewer)
    with django_assert_num_queries(9):  # as the rows partial of a page without unpriced usage
        response = client.get(url(), **htmx("session-rows"))
    assert response.content.decode().count("+ unpriced") == 5


def test_search_results_show_a_highlighted_snippet_linking_to_the_event(client, viewer, variety):
    client.force_login(viewer)
    response = client.get(url(q="question 2"))
    html = response.content.decode()
    assert titles(response) == ["b"]
    b = variety["b"]
    assert f'href="/p/acme/sessions/{b.pk}/?at=' in html
    assert "<mark>question</mark>" in html and "<mark>2</mark>" in html


def test_a_snippet_escapes_the_event_text(client, viewer, project):
    from sessions_app.inputs import EventInput
    from sessions_app.services.events import events_append

    events_append(
        project=project,
        session_external_id="xss",
        events=[
            EventInput(external_id="x1", source="user", content="<img src=x onerror=boom> boom hi")
        ],
    )
    client.force_login(viewer)
    html = client.get(url(q="boom")).content.decode()
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=<mark>boom</mark>&gt; <mark>boom</mark>" in html


def test_the_list_says_how_many_sessions_match(client, viewer, variety):
    client.force_login(viewer)
    html = client.get(url(agent="alpha")).content.decode()
    assert "2 shown of 2 sessions" in html


def test_past_the_count_cap_the_list_says_more_than(client, viewer, variety, monkeypatch):
    from sessions_app.selectors import session_list

    monkeypatch.setattr(session_list, "COUNT_CAP", 2)
    client.force_login(viewer)
    response = client.get(url())
    assert response.context["listing"].total_capped
    assert "more than 2 sessions" in response.content.decode()


def test_a_search_past_its_bound_says_older_matches_may_be_missing(
    client, viewer, variety, monkeypatch
):
    from sessions_app.selectors import search

    monkeypatch.setattr(search, "SEARCH_HITS", 2)
    monkeypatch.setattr(search, "SEARCH_ROUNDS", 1)
    client.force_login(viewer)
    response = client.get(url(q="answer"))
    assert not response.context["listing"].search_complete
    assert "older matches may be missing" in response.content.decode()
    # The sessions shown are those of the two latest matching events ("a" answered first).
    assert set(titles(response)) == {"b", "d"}


def test_previous_page_link_is_offered_past_the_first_page(client, viewer, variety, monkeypatch):
    import dashboard.views.sessions as view_module

    monkeypatch.setattr(view_module, "PAGE_SIZE", 2)
    client.force_login(viewer)
    first = client.get(url())
    assert 'rel="prev"' not in first.content.decode()
    cursor = first.context["page"].next_cursor
    html = client.get(url(cursor=cursor), **htmx("session-rows")).content.decode()
    assert 'rel="prev"' in html and "before=" in html
    second = client.get(url(cursor=cursor))
    back = client.get(url(before=second.context["page"].prev_cursor))
    assert titles(back) == titles(first)


def header_and_empty_span(html: str) -> tuple[int, int]:
    """How many columns the list's header has, and how many its empty row spans."""
    head = re.search(r"<thead>(.*?)</thead>", html, re.S).group(1)
    span = re.search(r'<td colspan="(\d+)" class="empty-row">', html).group(1)
    return head.count("<th"), int(span)


@pytest.mark.parametrize("spent", [False, True])
@pytest.mark.parametrize("scores", [0, 1, 3])
def test_the_empty_row_spans_every_column_the_header_shows(client, viewer, project, spent, scores):
    # Each score config adds a column to the list (its review columns), a spent range one more.
    from sessions_app.models import DataType, ScoreConfig

    for n in range(scores):
        ScoreConfig.objects.create(project=project, name=f"score-{n}", data_type=DataType.NUMERIC)
    make_session(project, "cheap")
    client.force_login(viewer)
    params = {"min_cost": "1000"}
    if spent:
        params["spent_from"] = timezone.now().date().isoformat()
    for headers in ({}, htmx("session-rows")):
        response = client.get(url(**params), **headers)
        assert titles(response) == []
        columns, span = header_and_empty_span(response.content.decode())
        assert columns == 14 + spent + scores
        assert span == columns
