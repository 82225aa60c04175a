"""The costs page's drill-down: every figure links to the sessions that used tokens in its range
(`spent_from`/`spent_to`), whatever their last activity, and the list's in-range figures add up
to it. The clock is frozen: the days are fixed, whatever today is."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.db import connection
from django.http import QueryDict
from django.test import Client
from django.urls import reverse

from dashboard.sharing_forms import list_query
from sessions_app.inputs import EventInput, UsageInput
from sessions_app.list_query import query_filters
from sessions_app.models import ModelPrice
from sessions_app.selectors import costs as analytics
from sessions_app.selectors.costs import UsageFilter
from sessions_app.selectors.session_list import SessionFilters, sessions_filtered
from sessions_app.services.events import events_append
from sessions_app.services.sessions import session_upsert

from .conftest import htmx

pytestmark = pytest.mark.django_db

# A Tuesday early in March; the day drilled into is three days before, across the month's end.
NOW = datetime(2030, 3, 2, 12, 0, tzinfo=UTC)
DAY = date(2030, 2, 27)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), UTC)


def use(project, sid: str, when: datetime, model: str = "m-big", prompt: int = 0, **fields):
    """One event of session `sid` at `when`; with `prompt`, it used that many prompt tokens
    (and 10 completion tokens) of `model`."""
    session_upsert(project=project, external_id=sid, fields=fields)
    usage = UsageInput(model=model, prompt_tokens=prompt, completion_tokens=10) if prompt else None
    events_append(
        project=project,
        session_external_id=sid,
        events=[
            EventInput(
                external_id=f"{sid}-{when.isoformat()}-{model}",
                source="llm" if usage else "user",
                content="an answer" if usage else "a question",
                timestamp=when,
                usage=usage,
            )
        ],
    )


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def spending(clock, project):
    """Five sessions around DAY; three of them spent on DAY and were active again later."""
    ModelPrice.objects.create(
        project=project,
        pattern="m-*",
        input_cost_per_token=Decimal("0.00001"),
        output_cost_per_token=Decimal("0.00002"),
        effective_from=NOW - timedelta(days=400),
    )
    later = DAY + timedelta(days=3)
    # Spent on DAY, active again (and spending) three days later.
    use(project, "late", at(DAY, 10), prompt=1000, agent_name="support", user_ref="alice")
    use(project, "late", at(later, 9), prompt=2000, agent_name="support", user_ref="alice")
    # Spent on DAY only.
    use(project, "same-day", at(DAY, 11), "m-small", 500, agent_name="support", user_ref="bob")
    # Spent the day after only.
    use(project, "next-day", at(DAY + timedelta(days=1), 8), prompt=700, agent_name="triage")
    # Active on DAY + 3 first; its usage on DAY arrives afterwards (a backdated event).
    use(project, "backdated", at(later, 8), agent_name="triage", user_ref="carol")
    use(project, "backdated", at(DAY, 23, 59), "m-small", 300, agent_name="triage")
    # Three models on DAY, one of them without a price; a question on DAY + 1.
    use(project, "mixed", at(DAY, 12), "m-big", 400, agent_name="support", user_ref="alice")
    use(project, "mixed", at(DAY, 12, 1), "m-small", 800, agent_name="support", user_ref="alice")
    use(project, "mixed", at(DAY, 12, 2), "mystery", 100, agent_name="support", user_ref="alice")
    use(project, "mixed", at(DAY + timedelta(days=1), 9), agent_name="support", user_ref="alice")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def costs_page(client: Client, project, start: date, end: date):
    url = reverse("dashboard:costs", args=[project.slug])
    return client.get(url, {"from": start.isoformat(), "to": end.isoformat()})


def listed(client: Client, href: str):
    """The sessions list a figure links to: its rows (every one: a page holds 50)."""
    response = client.get(href)
    assert response.status_code == 200
    assert not response.context["page"].next_cursor
    return response.context["page"].items


def spent_total(rows) -> dict[str, Decimal | int]:
    return {
        "cost_usd": sum((s.spent_cost for s in rows), Decimal(0)),
        "total_tokens": sum(s.spent_tokens for s in rows),
        "events": sum(s.spent_events for s in rows),
    }


def test_a_day_lists_the_sessions_that_spent_on_it_even_when_active_later(
    spending, project, viewer
):
    client = client_for(viewer)
    context = costs_page(client, project, DAY - timedelta(days=1), DAY + timedelta(days=3)).context
    (row,) = [r for r in context["by_day"] if r["day"] == DAY]
    rows = listed(client, row["href"])
    assert {s.external_id for s in rows} == {"late", "same-day", "backdated", "mixed"}
    # What the list says they spent that day is the day's figure, to the token and event.
    assert spent_total(rows) == {
        "cost_usd": row["cost_usd"],
        "total_tokens": row["total_tokens"],
        "events": row["events"],
    }
    late = next(s for s in rows if s.external_id == "late")
    assert late.spent_cost == Decimal("0.0102")  # 1000 * 0.00001 + 10 * 0.00002
    assert late.cost_usd == Decimal("0.0304")  # its whole cost, the later day's included


def test_every_linked_figure_adds_up_from_the_sessions_it_lists(spending, project, viewer):
    client = client_for(viewer)
    start, end = DAY - timedelta(days=1), DAY + timedelta(days=3)
    context = costs_page(client, project, start, end).context
    checked = 0
    for table in ("by_day", "by_model", "by_agent", "by_user"):
        for row in context[table]:
            if not row["href"]:  # no agent or no end user: the list cannot select those
                continue
            got = spent_total(listed(client, row["href"]))
            assert got["cost_usd"] == row["cost_usd"], (table, row["label"])
            assert got["total_tokens"] == row["total_tokens"], (table, row["label"])
            assert got["events"] == row["events"], (table, row["label"])
            checked += 1
    assert checked == 3 + 3 + 2 + 3  # days, models, agents, end users with a name
    total = spent_total(listed(client, context["totals_href"]))
    assert total["cost_usd"] == context["totals"]["cost_usd"]
    # A chart bar: one day, one model.
    f = UsageFilter(project=project, start=start, end=end)
    by_day_model = {
        (r["day"], r["model"]): r["cost_usd"]
        for r in analytics.usage_rollup(f, group_by=("day", "model"), order="day")
    }
    bars = [b for b in context["chart_model"].bars if "model=" in b.href]
    for bar in bars:
        params = parse_qs(urlsplit(bar.href).query)
        key = (date.fromisoformat(params["spent_from"][0]), params["model"][0])
        assert spent_total(listed(client, bar.href))["cost_usd"] == by_day_model[key]
    assert len(bars) == len([cost for cost in by_day_model.values() if cost])  # $0 has no bar


def test_a_model_row_lists_each_sessions_spending_on_that_model(spending, project, viewer):
    client = client_for(viewer)
    context = costs_page(client, project, DAY, DAY).context
    (row,) = [r for r in context["by_model"] if r["model"] == "m-small"]
    rows = {s.external_id: s for s in listed(client, row["href"])}
    assert set(rows) == {"same-day", "backdated", "mixed"}
    # "mixed" also used m-big that day: only its m-small usage is listed.
    assert rows["mixed"].spent_cost == Decimal("0.0082")
    assert rows["mixed"].spent_tokens == 810


def test_spending_without_a_known_price_is_marked_in_the_list(spending, project, viewer):
    client = client_for(viewer)
    context = costs_page(client, project, DAY, DAY).context
    (mystery,) = [r for r in context["by_model"] if r["model"] == "mystery"]
    (only_unpriced,) = listed(client, mystery["href"])
    assert only_unpriced.spent_unpriced == "all"
    (day,) = context["by_day"]
    rows = {s.external_id: s for s in listed(client, day["href"])}
    assert rows["mixed"].spent_unpriced == "some"
    assert rows["late"].spent_unpriced == ""


def test_the_list_says_what_it_shows_and_has_a_spent_column(spending, project, viewer):
    client = client_for(viewer)
    (day,) = costs_page(client, project, DAY, DAY).context["by_day"]
    html = client.get(day["href"]).content.decode()
    assert 'id="spent-range"' in html
    assert "Sessions that used tokens on Feb 27, 2030 (UTC), whatever their last activity" in html
    assert ">Spent</th>" in html
    model = client.get(day["href"] + "&model=m-small").content.decode()
    assert "Sessions that used <b>m-small</b> on Feb 27, 2030" in model


def test_from_and_to_still_mean_last_activity(spending, project, viewer):
    client = client_for(viewer)
    url = reverse("dashboard:session_list", args=[project.slug])
    response = client.get(url, {"from": DAY.isoformat(), "to": DAY.isoformat(), "status": "all"})
    # "late" and "backdated" spent on DAY but were last active three days later.
    assert {s.external_id for s in response.context["page"].items} == {"same-day"}
    html = response.content.decode()
    assert 'id="spent-range"' not in html and ">Spent</th>" not in html


def test_short_and_long_spent_ranges_find_the_same_sessions(spending, project, viewer):
    # Three ways (session_list._spent_strategy): now the 2 days are a DISTINCT semi-join, the 3
    # and 32 days left to the database; 120 days later all read the range's usage rows first.
    # Each finds every session.
    url = reverse("dashboard:session_list", args=[project.slug])
    expected = {"late", "same-day", "next-day", "backdated", "mixed"}
    end = DAY + timedelta(days=1)
    for now in (NOW, NOW + timedelta(days=120)):
        with time_machine.travel(now, tick=False):
            client = client_for(viewer)
            for start in (DAY, DAY - timedelta(days=1), DAY - timedelta(days=30)):
                query = {"spent_from": start, "spent_to": end, "status": "all"}
                response = client.get(url, query)
                assert {s.external_id for s in response.context["page"].items} == expected, query
    # An open range: from a day on.
    response = client_for(viewer).get(url, {"spent_from": (DAY + timedelta(days=2)).isoformat()})
    assert {s.external_id for s in response.context["page"].items} == {"late"}


def _plan(qs) -> str:
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        # Only penalised, not forbidden: the tables are tiny, a scan would be cheapest.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.postgres
def test_a_range_that_ended_long_ago_reads_its_usage_rows_before_the_sessions(spending, project):
    # Walking the sort index from the newest session and probing each one's usage would pass
    # every session active since the range ended (bench/costs_drilldown.py: 0.4-1 s for 3 days
    # 60 days back); the range's session ids are taken first, once (an InitPlan), and the
    # sessions are then read by them (by primary key on a large table), never probed per row.
    def page(days: int, *, ended_ago: int) -> str:
        with time_machine.travel(at(DAY + timedelta(days=ended_ago), 12), tick=False):
            filters = SessionFilters(
                status="all", spent_from=DAY - timedelta(days=days - 1), spent_to=DAY
            )
            qs = sessions_filtered(project, filters)
        return _plan(qs.order_by("-last_event_at", "-id")[:51])

    for days, ended_ago in ((1, 8), (3, 60), (20, 60)):
        plan = page(days, ended_ago=ended_ago)
        assert "InitPlan" in plan and "= ANY ($0)" in plan, (days, ended_ago)
        assert "SubPlan" not in plan and "Semi Join" not in plan, (days, ended_ago)
    # A range that ended recently, or long for its age: there the walk, or hashing the
    # sessions active since, costs no more.
    for days, ended_ago in ((1, 3), (3, 3), (30, 60), (30, 1), (90, 1)):
        assert "InitPlan" not in page(days, ended_ago=ended_ago), (days, ended_ago)


def test_the_distribution_still_links_to_sessions_last_active_in_the_range(
    spending, project, viewer
):
    context = costs_page(client_for(viewer), project, DAY, DAY).context
    for bucket in context["distribution"]:
        params = parse_qs(urlsplit(bucket.href).query)
        assert params["from"] == params["to"] == [DAY.isoformat()]
        assert "spent_from" not in params


def test_each_distribution_bucket_lists_its_own_sessions_once(clock, project, viewer):
    # min_cost and max_cost are the bucket's bounds (low <= cost < high): a session costing
    # exactly a bound is listed under the bucket it starts, as the distribution counts it.
    from sessions_app.models import AgentSession

    costs = ["0", "0.0005", "0.001", "0.0099", "0.01", "0.1", "0.5", "1", "10", "99"]
    for n, cost in enumerate(costs):
        use(project, f"s{n}", at(DAY, 9))
        AgentSession.objects.filter(external_id=f"s{n}").update(cost_usd=Decimal(cost))
    client = client_for(viewer)
    buckets = costs_page(client, project, DAY, DAY).context["distribution"]
    assert [b.sessions for b in buckets] == [2, 2, 1, 2, 1, 2]
    seen: list[str] = []
    for bucket in buckets:
        rows = listed(client, bucket.href)
        assert len(rows) == bucket.sessions, bucket.label
        assert sum((s.cost_usd for s in rows), Decimal(0)) == bucket.cost_usd, bucket.label
        seen += [s.external_id for s in rows]
    assert sorted(seen) == sorted(f"s{n}" for n in range(len(costs)))


def test_a_spent_list_adds_one_query_for_the_page(
    spending, client, project, viewer, django_assert_num_queries
):
    client.force_login(viewer)
    url = reverse("dashboard:session_list", args=[project.slug])
    spent = {"spent_from": DAY.isoformat(), "spent_to": DAY.isoformat()}
    # The rows partial's 9 (tests/dashboard/test_sessions_list.py) and the in-range sums.
    with django_assert_num_queries(10):
        response = client.get(url, spent, **htmx("session-rows"))
    assert len(response.context["page"].items) == 4


def test_a_spent_day_outside_the_supported_years_is_reported_and_ignored(project, viewer):
    client = client_for(viewer)
    url = reverse("dashboard:session_list", args=[project.slug])
    response = client.get(url, {"spent_to": "9999-12-31"})
    assert response.status_code == 200
    assert "spent_to" in response.context["form"].errors
    assert not response.context["filters"].spent


def test_saved_views_and_queue_rules_keep_the_spent_days():
    query = QueryDict("spent_from=2030-02-27&spent_to=2030-02-28&status=all")
    assert list_query(query) == "spent_from=2030-02-27&spent_to=2030-02-28&status=all"
    rule = query_filters("spent_from=2030-02-27&spent_to=2030-02-28")
    assert (rule.spent_from, rule.spent_to) == (DAY, DAY + timedelta(days=1))


def test_a_queue_rule_with_a_day_the_list_refuses_ignores_it_and_still_filters(project):
    # A rule saved with `to=9999-12-31` (the list's form refuses it) used to fail every fill:
    # the day after it is beyond what Python holds.
    from sessions_app.selectors.session_list import sessions_filtered

    use(project, "kept", at(DAY, 9), prompt=100)
    for raw in ("to=9999-12-31", "spent_to=9999-12-31", "from=0001-01-01", "spent_from=0001-01-01"):
        rule = query_filters(raw)
        assert (rule.date_from, rule.date_to, rule.spent_from, rule.spent_to) == (None,) * 4
        assert [s.external_id for s in sessions_filtered(project, rule)] == ["kept"]
