"""Cost analytics: rollups equal the usage rows, overrides and effective dates, re-pricing,
budgets and their alerts."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessions_app.errors import Conflict, InvalidInput
from sessions_app.inputs import EventInput, UsageInput
from sessions_app.models import (
    AgentSession,
    Budget,
    BudgetAlert,
    DailyUsage,
    ModelPrice,
    TokenUsage,
)
from sessions_app.pricing import PriceBook
from sessions_app.selectors import costs as analytics
from sessions_app.selectors.budgets import budget_levels, budgets_status
from sessions_app.selectors.costs import UsageFilter
from sessions_app.selectors.whatif import (
    session_usage,
    usage_reprice_what_if,
    usage_reprice_what_if_filtered,
)
from sessions_app.services.budgets import budget_create, budgets_check
from sessions_app.services.events import event_pop_last, events_append
from sessions_app.services.repricing import usage_reprice
from sessions_app.services.sessions import session_upsert
from tests.conftest import PUBLIC_HOOK_ADDRESS
from tests.factories import ProjectFactory

DAY0 = datetime(2026, 3, 1, tzinfo=UTC)
# Session-level figures (top sessions, trees, distribution) go by last activity, which is never
# earlier than the session's creation: those tests write events "now".
TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=1, microsecond=0)
_ids = itertools.count()


def price(
    project, pattern: str, inp: str, out: str, *, since: datetime = DAY0 - timedelta(days=400)
):
    return ModelPrice.objects.create(
        project=project,
        pattern=pattern,
        input_cost_per_token=Decimal(inp),
        output_cost_per_token=Decimal(out),
        effective_from=since,
    )


def llm_event(
    *,
    model: str,
    prompt: int,
    completion: int,
    at: datetime,
    cost: Decimal | None = None,
    content: str = "",
) -> EventInput:
    return EventInput(
        external_id=f"ev-{next(_ids)}",
        source="llm",
        role="assistant",
        content=content,
        timestamp=at,
        usage=UsageInput(
            model=model, prompt_tokens=prompt, completion_tokens=completion, cost_usd=cost
        ),
    )


def append(project, session_id: str, *events: EventInput, agent: str = "", user: str = ""):
    if agent or user:
        session_upsert(
            project=project, external_id=session_id, fields={"agent_name": agent, "user_ref": user}
        )
    return events_append(project=project, session_external_id=session_id, events=list(events))


usage_rows = st.lists(
    st.tuples(
        st.sampled_from(["m-small", "m-large", "mystery"]),  # priced, priced, unknown
        st.sampled_from(["", "bot-a", "bot-b"]),
        st.sampled_from(["", "alice", "bob"]),
        st.integers(min_value=0, max_value=5),  # day offset
        st.integers(min_value=0, max_value=23),  # hour
        st.integers(min_value=0, max_value=50_000),
        st.integers(min_value=0, max_value=5_000),
        st.one_of(st.none(), st.decimals(min_value=0, max_value=5, places=6)),
    ),
    min_size=1,
    max_size=25,
)


@pytest.mark.django_db
@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=usage_rows, pops=st.lists(st.integers(min_value=0, max_value=2), max_size=3))
def test_rollup_totals_equal_the_sum_of_the_usage_rows_for_every_grouping(rows, pops):
    project = ProjectFactory()
    price(project, "m-small", "0.0000001", "0.0000004")
    price(project, "m-large", "0.000003", "0.000015")
    for i, (model, agent, user, day, hour, prompt, completion, cost) in enumerate(rows):
        at = DAY0 + timedelta(days=day, hours=hour)
        append(
            project,
            f"s-{agent}-{user}-{i % 3}",
            llm_event(model=model, prompt=prompt, completion=completion, at=at, cost=cost),
            agent=agent,
            user=user,
        )
    # Removing events (an SDK session's pop_item) must take their usage out of the aggregate.
    for i in pops:
        session = AgentSession.objects.filter(project=project, external_id__endswith=f"-{i}")
        for s in session:
            event_pop_last(session=s)
    f = UsageFilter(project=project, start=DAY0.date(), end=DAY0.date() + timedelta(days=5))
    usage = TokenUsage.objects.filter(project=project)
    columns = {
        "model": "model",
        "agent": "session__agent_name",
        "user": "session__user_ref",
        "source": "cost_source",
    }
    for group, column in [*columns.items(), ("day", None)]:
        expected_qs = (
            usage.annotate(day=TruncDate("timestamp")).values("day")
            if column is None
            else usage.values(column)
        )
        expected = {
            r["day" if column is None else column]: (r["c"], r["p"], r["n"])
            for r in expected_qs.annotate(
                c=Sum("cost_usd"), p=Sum("prompt_tokens"), n=Count("id")
            ).order_by()
        }
        got = {
            r[group]: (r["cost_usd"], r["prompt_tokens"], r["events"])
            for r in analytics.usage_rollup(f, group_by=(group,))
        }
        assert got == expected, group
    totals = analytics.usage_totals(f)
    assert totals["cost_usd"] == sum((u.cost_usd for u in usage), Decimal(0))
    assert totals["total_tokens"] == sum(u.total_tokens for u in usage)
    assert totals["events"] == usage.count()
    hourly = analytics.usage_hourly(f)
    assert sum((h["cost_usd"] for h in hourly), Decimal(0)) == totals["cost_usd"]


@pytest.mark.django_db
def test_range_and_narrowing_filters_select_only_their_days_and_groups(project):
    price(project, "m-small", "0.000001", "0.000002")
    append(project, "a", llm_event(model="m-small", prompt=100, completion=10, at=DAY0), agent="x")
    append(
        project,
        "b",
        llm_event(model="m-small", prompt=1000, completion=0, at=DAY0 + timedelta(days=3)),
        agent="y",
    )
    first_day = UsageFilter(project=project, start=DAY0.date(), end=DAY0.date())
    assert analytics.usage_totals(first_day)["prompt_tokens"] == 100
    week = UsageFilter(project=project, start=DAY0.date(), end=DAY0.date() + timedelta(days=6))
    assert analytics.usage_totals(week)["prompt_tokens"] == 1100
    assert analytics.usage_totals(week.narrowed(agent="y"))["prompt_tokens"] == 1000
    assert analytics.usage_totals(week.narrowed(model="nope"))["events"] == 0


@pytest.mark.django_db
def test_reported_computed_and_unknown_usage_are_kept_apart(project):
    price(project, "m-small", "0.000001", "0.000002")
    append(
        project,
        "s",
        llm_event(model="m-small", prompt=1000, completion=500, at=DAY0),
        llm_event(model="m-small", prompt=10, completion=10, at=DAY0, cost=Decimal("0.5")),
        llm_event(model="mystery", prompt=70, completion=7, at=DAY0),
    )
    split = analytics.usage_by_source(
        UsageFilter(project=project, start=DAY0.date(), end=DAY0.date())
    )
    assert split["computed"]["cost_usd"] == Decimal("0.002")
    assert split["reported"]["cost_usd"] == Decimal("0.5")
    assert split["unknown"]["cost_usd"] == 0
    assert split["unknown"]["prompt_tokens"] == 70


@pytest.mark.django_db
def test_top_trees_include_the_cost_of_descendants(project):
    price(project, "m", "0.001", "0")
    append(project, "root-a", llm_event(model="m", prompt=1, completion=0, at=TODAY))
    session_upsert(project=project, external_id="child-a", fields={}, parent_external_id="root-a")
    append(project, "child-a", llm_event(model="m", prompt=5, completion=0, at=TODAY))
    append(project, "root-b", llm_event(model="m", prompt=3, completion=0, at=TODAY))
    f = UsageFilter(project=project, start=TODAY.date(), end=TODAY.date())
    trees = analytics.top_trees(f)
    assert [(t["root"].external_id, t["cost_usd"], t["sessions"]) for t in trees] == [
        ("root-a", Decimal("0.006"), 2),
        ("root-b", Decimal("0.003"), 1),
    ]
    assert [s.external_id for s in analytics.top_sessions(f)] == ["child-a", "root-b", "root-a"]


@pytest.mark.django_db
def test_cost_distribution_counts_each_active_session_once(project):
    price(project, "m", "0.001", "0")
    for i, prompt in enumerate([0, 1, 1, 50, 20_000]):
        append(project, f"s{i}", llm_event(model="m", prompt=prompt, completion=0, at=TODAY))
    buckets = analytics.cost_distribution(
        UsageFilter(project=project, start=TODAY.date(), end=TODAY.date())
    )
    assert [b.sessions for b in buckets] == [1, 2, 1, 0, 0, 1]
    assert sum(b.sessions for b in buckets) == 5


# Prices: overrides before litellm, exact names before globs, by effective date.


@pytest.mark.django_db
def test_the_newest_override_in_force_at_the_usage_time_wins(project):
    price(project, "m-*", "0.000001", "0.000001", since=DAY0 - timedelta(days=10))
    price(project, "m-x", "0.000002", "0.000002", since=DAY0 - timedelta(days=5))
    price(project, "m-x", "0.000003", "0.000003", since=DAY0 + timedelta(days=5))
    book = PriceBook(project)
    assert book.price("m-x", DAY0 - timedelta(days=7)).prices.input == Decimal("0.000001")
    assert book.price("m-x", DAY0).prices.input == Decimal("0.000002")
    assert book.price("m-x", DAY0 + timedelta(days=6)).prices.input == Decimal("0.000003")
    assert book.price("m-y", DAY0).prices.input == Decimal("0.000001")
    assert book.price("m-x", DAY0 - timedelta(days=20)).origin == "unknown"


@pytest.mark.django_db
def test_an_override_takes_precedence_over_litellms_table(project):
    price(project, "gpt-4o-mini", "0.5", "0.5")
    append(project, "s", llm_event(model="gpt-4o-mini", prompt=2, completion=2, at=DAY0))
    assert TokenUsage.objects.get().cost_usd == Decimal("2")


# Re-pricing.


@pytest.mark.django_db
def test_what_if_on_another_model_gives_the_known_figure_and_changes_nothing(project):
    append(
        project,
        "s",
        llm_event(model="gpt-4o", prompt=1_000_000, completion=100_000, at=DAY0, content="hello"),
    )
    stored = TokenUsage.objects.get()
    session = AgentSession.objects.get(external_id="s")
    # gpt-4o: $2.50 / $10 per million; gpt-4o-mini: $0.15 / $0.60 (same tokenizer, o200k).
    assert stored.cost_usd == Decimal("3.5")
    result = usage_reprice_what_if(
        project=project, usage=session_usage(session), target_model="gpt-4o-mini"
    )
    [line] = result.lines
    assert line.token_ratio == 1
    assert result.cost_usd == Decimal("0.21")
    assert result.stored_cost_usd == Decimal("3.5")
    stored.refresh_from_db()
    session.refresh_from_db()
    assert stored.cost_usd == Decimal("3.5") and stored.model == "gpt-4o"
    assert session.cost_usd == Decimal("3.5")
    assert DailyUsage.objects.get().cost_usd == Decimal("3.5")


@pytest.mark.django_db
def test_what_if_recounts_tokens_with_the_target_models_tokenizer(project):
    text = "Überraschung! 東京 def foo(x): return x**2 " * 20
    append(
        project, "s", llm_event(model="gpt-4o", prompt=1000, completion=1000, at=DAY0, content=text)
    )
    session = AgentSession.objects.get(external_id="s")
    [line] = usage_reprice_what_if(
        project=project, usage=session_usage(session), target_model="gpt-4"
    ).lines
    # cl100k (gpt-4) needs more tokens than o200k (gpt-4o) for this text.
    assert line.token_ratio > 1
    assert line.target_completion_tokens == int((1000 * line.token_ratio).to_integral_value())


@pytest.mark.django_db
def test_what_if_says_which_stored_usage_had_no_price(project):
    price(project, "m", "0.000001", "0")
    append(
        project,
        "s",
        llm_event(model="mystery", prompt=1000, completion=0, at=DAY0),
        llm_event(model="m", prompt=1000, completion=0, at=DAY0),
    )
    price(project, "mystery", "0.000003", "0", since=DAY0 + timedelta(days=1))
    session = AgentSession.objects.get(external_id="s")
    f = UsageFilter(project=project, start=DAY0.date(), end=DAY0.date())
    for result in (
        usage_reprice_what_if(project=project, usage=session_usage(session)),
        usage_reprice_what_if_filtered(f),
    ):
        by_model = {line.model: line for line in result.lines}
        assert by_model["mystery"].unpriced_events == 1
        assert by_model["mystery"].cost_usd == Decimal("0.003")
        assert by_model["m"].unpriced_events == 0
        assert result.stored_unpriced_events == 1


@pytest.mark.django_db
def test_what_if_at_todays_prices_uses_the_override_now_in_force(project):
    price(project, "m", "0.000001", "0", since=DAY0 - timedelta(days=30))
    append(project, "s", llm_event(model="m", prompt=1000, completion=0, at=DAY0))
    price(project, "m", "0.000002", "0", since=DAY0 + timedelta(days=1))
    session = AgentSession.objects.get(external_id="s")
    result = usage_reprice_what_if(project=project, usage=session_usage(session))
    assert result.stored_cost_usd == Decimal("0.001")
    assert result.cost_usd == Decimal("0.002")


@pytest.mark.django_db
def test_reprice_after_an_override_rewrites_costs_rollups_and_aggregate(project):
    append(
        project,
        "s",
        llm_event(model="house-llama", prompt=1000, completion=100, at=DAY0),
        llm_event(model="house-llama", prompt=10, completion=10, at=DAY0, cost=Decimal("1")),
        agent="bot",
        user="u1",
    )
    assert TokenUsage.objects.filter(cost_source="unknown").count() == 1
    price(project, "house-*", "0.00001", "0.00002", since=DAY0 - timedelta(days=1))
    result = usage_reprice(project=project)
    assert result["changed"] == 1
    computed = TokenUsage.objects.get(cost_source="computed")
    assert computed.cost_usd == Decimal("0.012")
    assert TokenUsage.objects.get(cost_source="reported").cost_usd == Decimal("1")
    session = AgentSession.objects.get(external_id="s")
    assert session.cost_usd == Decimal("1.012")
    daily = {d.cost_source: d for d in DailyUsage.objects.filter(project=project)}
    assert daily["computed"].cost_usd == Decimal("0.012") and daily["computed"].events == 1
    assert daily["unknown"].events == 0
    assert daily["computed"].agent_name == "bot"
    assert usage_reprice(project=project)["changed"] == 0


# Budgets.


@pytest.mark.django_db
def test_budget_crossing_records_one_alert_not_one_per_event(
    project, django_capture_on_commit_callbacks
):
    price(project, "m", "0.001", "0")
    budget = budget_create(project=project, scope="project", period="total", amount_usd="1")
    for _ in range(5):
        # Each ingest commits on its own and schedules its check after the commit.
        with django_capture_on_commit_callbacks(execute=True):
            append(project, "s", llm_event(model="m", prompt=500, completion=0, at=DAY0))
    alerts = list(BudgetAlert.objects.filter(budget=budget).order_by("id"))
    assert [a.level for a in alerts] == ["over"]
    assert alerts[0].spent_usd == Decimal("1")  # recorded when the second event crossed it


@pytest.mark.django_db
def test_a_budget_already_crossed_when_created_gets_its_alert_at_once(
    project, django_capture_on_commit_callbacks
):
    price(project, "m", "0.001", "0")
    append(project, "s", llm_event(model="m", prompt=900, completion=0, at=DAY0))
    with django_capture_on_commit_callbacks(execute=True):
        budget = budget_create(project=project, scope="project", period="total", amount_usd="1")
    assert [(a.level, a.spent_usd) for a in budget.alerts.all()] == [("near", Decimal("0.9"))]


@pytest.mark.django_db
def test_user_and_session_budgets_only_count_their_own_spend(project):
    price(project, "m", "0.001", "0")
    now = datetime.now(UTC)
    budget_create(project=project, scope="user", target="alice", period="day", amount_usd="1")
    budget_create(project=project, scope="session", target="s2", period="month", amount_usd="0.1")
    append(project, "s1", llm_event(model="m", prompt=900, completion=0, at=now), user="alice")
    append(project, "s2", llm_event(model="m", prompt=900, completion=0, at=now), user="bob")
    s2 = AgentSession.objects.get(external_id="s2")
    s1 = AgentSession.objects.get(external_id="s1")
    assert [(a.budget.scope, a.level) for a in budgets_check(project=project, session=s1)] == [
        ("user", "near")
    ]
    assert [(a.budget.scope, a.level) for a in budgets_check(project=project, session=s2)] == [
        ("session", "over")
    ]
    levels = {(s.budget.scope, s.level) for s in budgets_status(project)}
    assert levels == {("user", "near"), ("session", "over")}
    assert budget_levels(project) == {("user", "alice"): "near", ("session", "s2"): "over"}


@pytest.mark.django_db
def test_a_budget_needs_a_valid_scope_target_and_amount(project):
    with pytest.raises(InvalidInput) as err:
        budget_create(project=project, scope="user", period="day", amount_usd="5")
    assert err.value.field == "target"
    with pytest.raises(InvalidInput) as err:
        budget_create(project=project, scope="project", period="day", amount_usd="-1")
    assert err.value.field == "amount_usd"
    with pytest.raises(InvalidInput) as err:
        budget_create(project=project, scope="project", period="decade", amount_usd="1")
    assert err.value.field == "period"
    budget_create(project=project, scope="project", period="day", amount_usd="1")
    with pytest.raises(Conflict):
        budget_create(project=project, scope="project", period="day", amount_usd="2")
    assert Budget.objects.count() == 1


@pytest.mark.django_db
def test_a_crossed_budget_posts_its_alert_to_the_webhook(
    project, fake_dns, webhook_receiver, django_capture_on_commit_callbacks
):
    fake_dns["hooks.example.com"] = [PUBLIC_HOOK_ADDRESS]
    project.alert_webhook_url = "http://hooks.example.com/budget"
    project.save()
    price(project, "m", "0.001", "0")
    budget_create(project=project, scope="project", period="total", amount_usd="0.5")
    append(project, "s", llm_event(model="m", prompt=600, completion=0, at=DAY0))
    with django_capture_on_commit_callbacks(execute=True):
        [alert] = budgets_check(project=project)
    [request] = webhook_receiver.requests
    assert request["path"] == "/budget"
    assert request["json"]["alert"]["level"] == "over"
    alert.refresh_from_db()
    assert alert.webhook_status == "sent 204"


def test_period_start_of_a_week_is_monday():
    from sessions_app.selectors.budgets import period_start

    assert period_start("week", datetime(2026, 3, 5, 12, tzinfo=UTC)).date() == date(2026, 3, 2)
    assert period_start("month", datetime(2026, 3, 5, 12, tzinfo=UTC)).date() == date(2026, 3, 1)


@pytest.mark.django_db
def test_a_failing_webhook_keeps_the_alert_and_records_the_failure(
    project, fake_dns, webhook_receiver, django_capture_on_commit_callbacks
):
    fake_dns["hooks.example.com"] = ["93.184.215.15"]  # nothing listens there
    project.alert_webhook_url = "http://hooks.example.com/down"
    project.save()
    price(project, "m", "0.001", "0")
    budget_create(project=project, scope="project", period="total", amount_usd="0.5")
    append(project, "s", llm_event(model="m", prompt=600, completion=0, at=DAY0))
    with django_capture_on_commit_callbacks(execute=True):
        [alert] = budgets_check(project=project)
    alert.refresh_from_db()
    assert alert.webhook_status == "failed: ConnectionRefusedError"
    assert BudgetAlert.objects.count() == 1


# -- the range of days a rollup covers (the costs page and the API share it) ----------------


def test_a_range_defaults_to_the_thirty_days_to_today():
    today = date(2026, 3, 31)
    assert analytics.usage_range(None, None, today=today) == (date(2026, 3, 2), today)
    assert analytics.usage_range(None, date(2026, 1, 30), today=today) == (
        date(2026, 1, 1),
        date(2026, 1, 30),
    )
    # A range starting after today ends on its first day.
    assert analytics.usage_range(date(2026, 4, 5), None, today=today) == (
        date(2026, 4, 5),
        date(2026, 4, 5),
    )


def test_a_reversed_or_too_long_range_is_refused():
    with pytest.raises(analytics.UsageRangeError) as reversed_:
        analytics.usage_range(date(2026, 3, 2), date(2026, 3, 1))
    assert reversed_.value.reversed
    start = date(2016, 1, 1)
    end = start + timedelta(days=analytics.MAX_RANGE_DAYS)
    with pytest.raises(analytics.UsageRangeError) as too_long:
        analytics.usage_range(start, end)
    assert not too_long.value.reversed
    assert analytics.usage_range(start, end - timedelta(days=1)) == (start, end - timedelta(1))


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (None, date(1, 1, 1)),
        (date(1, 1, 1), date(1, 1, 5)),
        (date(9999, 12, 31), None),
        (None, date(9999, 12, 31)),
        (date(1969, 12, 31), date(1970, 1, 5)),
    ],
)
def test_a_range_with_a_day_outside_the_supported_years_is_refused(start, end):
    with pytest.raises(analytics.UsageRangeError) as outside:
        analytics.usage_range(start, end)
    assert outside.value.outside and not outside.value.reversed


def test_the_supported_years_ends_are_days_of_a_range(project):
    first, last = analytics.FIRST_DAY, analytics.LAST_DAY
    assert analytics.usage_range(None, first) == (first - timedelta(days=29), first)
    assert analytics.usage_range(last, None) == (last, last)
    f = UsageFilter(project=project, start=last, end=last)
    assert f.end_before - f.start_at == timedelta(days=1)
