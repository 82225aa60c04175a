"""The costs, re-pricing, price table and budgets pages: whole page, partial, access, queries,
drill-down links and CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db.models import Sum
from django.test import Client
from django.urls import reverse

from sessions_app.inputs import EventInput, UsageInput
from sessions_app.list_query import SessionFilterForm
from sessions_app.models import AgentSession, Budget, ModelPrice, TokenUsage
from sessions_app.selectors.session_list import sessions_filtered
from sessions_app.services.budgets import budget_create
from sessions_app.services.events import events_append
from sessions_app.services.sessions import session_upsert

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC)


def spend_in(project, external_id: str, model: str, prompt: int, *, at=None, **fields):
    session_upsert(project=project, external_id=external_id, fields=fields)
    events_append(
        project=project,
        session_external_id=external_id,
        events=[
            EventInput(
                external_id=f"{external_id}-{model}-{prompt}",
                source="llm",
                content="an answer",
                timestamp=at or NOW - timedelta(minutes=5),
                usage=UsageInput(model=model, prompt_tokens=prompt, completion_tokens=10),
            )
        ],
    )


@pytest.fixture
def spend(project):
    ModelPrice.objects.create(
        project=project,
        pattern="m-*",
        input_cost_per_token=Decimal("0.00001"),
        output_cost_per_token=Decimal("0.00002"),
        effective_from=NOW - timedelta(days=400),
    )
    # One model per session, so every breakdown row is made of whole sessions.
    spend_in(project, "s1", "m-big", 5000, agent_name="support", user_ref="alice")
    spend_in(project, "s2", "m-big", 3000, agent_name="support", user_ref="bob")
    spend_in(project, "s3", "m-small", 200, agent_name="triage", user_ref="alice")
    spend_in(project, "s4", "mystery", 100, agent_name="triage", user_ref="carol")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def costs_url(project, **params) -> str:
    return reverse("dashboard:costs", args=[project.slug]) + (
        "?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else ""
    )


def test_costs_page_shows_totals_breakdowns_and_charts(spend, project, viewer):
    response = client_for(viewer).get(costs_url(project))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html and 'id="cost-report"' in html
    for region in ("by-model", "by-agent", "by-user", "by-day", "by-source", "top-trees"):
        assert f'id="{region}"' in html
    assert 'id="chart-model"' in html and 'id="chart-agent"' in html
    assert 'id="chart-distribution"' in html
    # (5000 + 3000 + 200) prompt * $0.00001 + 30 completion * $0.00002
    assert response.context["totals"]["cost_usd"] == Decimal("0.0826")
    assert response.context["by_source"]["unknown"]["events"] == 1
    assert "price unknown" in html
    mystery = next(r for r in response.context["by_model"] if r["model"] == "mystery")
    assert mystery["unpriced_events"] == 1


def test_costs_partial_is_only_the_report(spend, project, viewer):
    response = client_for(viewer).get(
        costs_url(project, agent="triage"),
        headers={"HX-Request": "true", "HX-Target": "cost-report"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and html.lstrip().startswith('<div id="cost-report">')
    assert [r["agent"] for r in response.context["by_agent"]] == ["triage"]


def test_costs_page_of_another_project_is_a_404(spend, project, outsider):
    assert client_for(outsider).get(costs_url(project)).status_code == 404


def test_costs_page_needs_a_login(project):
    response = Client().get(costs_url(project))
    assert response.status_code == 302


def test_costs_page_query_count_does_not_grow_with_the_data(
    spend, project, viewer, django_assert_num_queries
):
    client = client_for(viewer)
    client.get(costs_url(project))  # warm the session and litellm caches
    budget_create(project=project, scope="user", target="alice", period="month", amount_usd="1")
    # Login session, user, project, role; 13 report aggregates (from the daily aggregate and
    # the sessions' rollups); the budgets and the one budget's spend; the project switcher.
    with django_assert_num_queries(20):
        client.get(costs_url(project))
    for i in range(5):
        spend_in(project, f"more-{i}", f"m-{i}", 100, agent_name=f"a{i}", user_ref=f"u{i}")
    with django_assert_num_queries(20):
        client.get(costs_url(project))


def test_every_breakdown_link_reproduces_its_number_in_the_sessions_list(spend, project, viewer):
    context = client_for(viewer).get(costs_url(project)).context
    checked = 0
    for table in ("by_model", "by_agent", "by_user", "by_day"):
        for row in context[table]:
            if not row["href"]:
                continue
            params = {k: v[0] for k, v in parse_qs(urlsplit(row["href"]).query).items()}
            assert urlsplit(row["href"]).path == reverse(
                "dashboard:session_list", args=[project.slug]
            )
            form = SessionFilterForm(params)
            assert form.is_valid(), form.errors
            listed = sessions_filtered(project, form.filters())
            assert listed.aggregate(c=Sum("cost_usd"))["c"] == row["cost_usd"], (table, row)
            checked += 1
    assert checked >= 7
    total = {k: v[0] for k, v in parse_qs(urlsplit(context["totals_href"]).query).items()}
    form = SessionFilterForm(total)
    assert form.is_valid()
    listed = sessions_filtered(project, form.filters()).aggregate(c=Sum("cost_usd"))["c"]
    assert listed == context["totals"]["cost_usd"]


def test_a_chart_bar_links_to_the_sessions_of_its_day_and_model(spend, project, viewer):
    chart = client_for(viewer).get(costs_url(project)).context["chart_model"]
    bar = chart.bars[0]
    params = parse_qs(urlsplit(bar.href).query)
    assert params["model"] == ["m-big"]
    assert params["spent_from"] == params["spent_to"] == [NOW.date().isoformat()]
    assert "from" not in params and "to" not in params


def test_csv_of_a_breakdown_matches_the_page(spend, project, viewer):
    client = client_for(viewer)
    page = client.get(costs_url(project))
    html = page.content.decode()
    for breakdown, table in (("model", "by_model"), ("agent", "by_agent"), ("user", "by_user")):
        response = client.get(costs_url(project, format="csv", breakdown=breakdown))
        assert response["Content-Type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.content.decode())))
        expected = page.context[table]
        assert [r[breakdown] for r in rows] == [e[breakdown] for e in expected]
        assert [Decimal(r["cost_usd"]) for r in rows] == [e["cost_usd"] for e in expected]
        assert [int(r["total_tokens"]) for r in rows] == [e["total_tokens"] for e in expected]
        shown = {Decimal(c) for c in re.findall(r'data-cost="([^"]+)"', html)}
        assert {Decimal(r["cost_usd"]) for r in rows} <= shown


def test_csv_money_is_written_alike_in_every_breakdown(spend, project, viewer):
    client = client_for(viewer)
    for breakdown in ("model", "agent", "user", "day", "source", "hour", "sessions", "trees"):
        response = client.get(costs_url(project, format="csv", breakdown=breakdown))
        for row in csv.DictReader(io.StringIO(response.content.decode())):
            cost = row["cost_usd"]
            # As the API writes money: no exponent, no trailing zeros ("0.0012500000").
            assert "E" not in cost.upper() and not (("." in cost) and cost.endswith("0")), (
                breakdown,
                cost,
            )


def test_csv_rollups_count_the_events_without_a_known_price(spend, project, viewer):
    client = client_for(viewer)
    expected = {"model": "mystery", "agent": "triage", "user": "carol"}
    for breakdown, unpriced_key in expected.items():
        response = client.get(costs_url(project, format="csv", breakdown=breakdown))
        rows = {r[breakdown]: r for r in csv.DictReader(io.StringIO(response.content.decode()))}
        assert rows[unpriced_key]["unpriced_events"] == "1", breakdown
        assert all(r["unpriced_events"] == "0" for k, r in rows.items() if k != unpriced_key)
    response = client.get(costs_url(project, format="csv", breakdown="day"))
    (day,) = csv.DictReader(io.StringIO(response.content.decode()))
    assert (day["events"], day["unpriced_events"]) == ("4", "1")


def test_csv_neutralises_spreadsheet_formulas_in_agent_names(project, viewer):
    spend_in(project, "evil", "m-x", 10, agent_name="=HYPERLINK(1)")
    response = client_for(viewer).get(costs_url(project, format="csv", breakdown="agent"))
    assert "'=HYPERLINK(1)" in response.content.decode()


def test_an_invalid_range_is_reported_and_the_default_shown(project, viewer):
    response = client_for(viewer).get(
        costs_url(project, **{"from": "2026-03-10", "to": "2026-03-01"})
    )
    assert response.status_code == 200
    assert "The range starts after it ends." in response.content.decode()
    assert response.context["f"].days == 30


@pytest.mark.parametrize("page", ["dashboard:costs", "dashboard:reprice"])
@pytest.mark.parametrize(
    "params",
    [
        {"to": "0001-01-01"},
        {"from": "0001-01-01"},
        {"from": "9999-12-31"},
        {"to": "9999-12-31"},
        {"from": "0001-01-01", "to": "0001-01-05"},
        {"from": "9999-12-01", "to": "9999-12-31"},
        {"from": "1969-12-31", "to": "1970-01-10"},
        {"from": "9000-01-02"},
        {"to": "0001-01-01", "format": "csv"},
    ],
)
def test_a_day_outside_the_supported_years_is_reported_and_the_default_shown(
    project, viewer, page, params
):
    url = reverse(page, args=[project.slug]) + "?" + "&".join(f"{k}={v}" for k, v in params.items())
    response = client_for(viewer).get(url)
    assert response.status_code == 200
    context = response.context or {}  # a CSV download renders no template
    f = context.get("f")
    if page == "dashboard:costs" and "format" not in params:
        assert "A day from 1970-01-01 to 9000-01-01." in response.content.decode()
    if f is not None:
        assert f.days == 30 and f.end == datetime.now(UTC).date()


def test_the_ends_of_the_supported_years_are_a_range(project, viewer):
    first = client_for(viewer).get(costs_url(project, **{"from": "1970-01-01", "to": "1970-01-31"}))
    last = client_for(viewer).get(costs_url(project, **{"to": "9000-01-01", "from": "8999-12-01"}))
    assert first.status_code == last.status_code == 200
    assert (first.context["f"].start.isoformat(), last.context["f"].end.isoformat()) == (
        "1970-01-01",
        "9000-01-01",
    )


def test_a_short_range_has_an_hourly_breakdown(spend, project, viewer):
    day = NOW.date().isoformat()
    context = client_for(viewer).get(costs_url(project, **{"from": day, "to": day})).context
    assert sum(r["events"] for r in context["by_hour"]) == 4
    long = client_for(viewer).get(costs_url(project)).context
    assert long["by_hour"] is None


# What-if re-pricing page.


def test_reprice_page_shows_a_session_on_another_model_without_changing_it(spend, project, viewer):
    ModelPrice.objects.create(
        project=project,
        pattern="cheap",
        input_cost_per_token=Decimal("0.000001"),
        output_cost_per_token=Decimal("0.000001"),
        effective_from=NOW - timedelta(days=1),
    )
    session = AgentSession.objects.get(external_id="s1")
    url = reverse("dashboard:reprice", args=[project.slug])
    response = client_for(viewer).get(url, {"session": session.pk, "target": "cheap"})
    assert response.status_code == 200
    result = response.context["result"]
    assert result.stored_cost_usd == Decimal("0.0502")
    # m-big and cheap are both unknown to litellm: the same fallback tokenizer, ratio 1.
    assert result.cost_usd == Decimal("0.00501")
    session.refresh_from_db()
    assert session.cost_usd == Decimal("0.0502")
    partial = client_for(viewer).get(
        url,
        {"session": session.pk, "target": "cheap"},
        headers={"HX-Request": "true", "HX-Target": "reprice-result"},
    )
    assert partial.content.decode().lstrip().startswith('<div id="reprice-result">')


def test_reprice_page_of_another_projects_session_is_a_404(spend, project, outsider, other_project):
    session = AgentSession.objects.get(external_id="s1")
    url = reverse("dashboard:reprice", args=[other_project.slug])
    assert client_for(outsider).get(url, {"session": session.pk}).status_code == 404


# Price table page.


def test_price_table_shows_overrides_and_the_prices_in_force(spend, project, viewer):
    response = client_for(viewer).get(
        reverse("dashboard:prices", args=[project.slug]), {"q": "gpt-4o-mini"}
    )
    assert response.status_code == 200
    in_force = {r["model"]: r for r in response.context["in_force"]}
    assert in_force["m-big"]["origin"] == "override"
    assert in_force["mystery"]["origin"] == "unknown"
    assert any(r.model == "gpt-4o-mini" for r in response.context["table"])
    assert "$10.00" in response.content.decode()  # m-* input per million


def test_an_editor_adds_a_price_override(project, editor):
    url = reverse("dashboard:price_new", args=[project.slug])
    response = client_for(editor).post(
        url,
        {
            "pattern": "house-llama-*",
            "input_per_million": "0.5",
            "output_per_million": "1.5",
            "effective_from": "2026-01-01",
        },
        headers={"HX-Request": "true", "HX-Target": "price-overrides"},
    )
    assert response.status_code == 200
    price = ModelPrice.objects.get(project=project)
    assert price.input_cost_per_token == Decimal("0.0000005")
    assert price.output_cost_per_token == Decimal("0.0000015")
    assert price.effective_from == datetime(2026, 1, 1, tzinfo=UTC)
    assert price.created_by == editor
    assert "house-llama-*" in response.content.decode()


def test_a_bad_override_is_refused_with_the_field_named(project, editor):
    response = client_for(editor).post(
        reverse("dashboard:price_new", args=[project.slug]),
        {
            "pattern": "x",
            "input_per_million": "-1",
            "output_per_million": "1",
            "effective_from": "2026-01-01",
        },
    )
    assert response.status_code == 400
    assert response.context["price_form"].errors["input_per_million"]
    assert not ModelPrice.objects.exists()


def test_a_viewer_cannot_add_prices(project, viewer):
    response = client_for(viewer).post(
        reverse("dashboard:price_new", args=[project.slug]),
        {
            "pattern": "x",
            "input_per_million": "1",
            "output_per_million": "1",
            "effective_from": "2026-01-01",
        },
    )
    assert response.status_code == 403
    assert not ModelPrice.objects.exists()


def test_price_page_of_another_project_is_a_404(project, outsider):
    assert (
        client_for(outsider).get(reverse("dashboard:prices", args=[project.slug])).status_code
        == 404
    )


def test_an_editor_reprices_stored_usage_after_an_override(
    spend, project, editor, django_capture_on_commit_callbacks
):
    ModelPrice.objects.create(
        project=project,
        pattern="mystery",
        input_cost_per_token=Decimal("0.001"),
        output_cost_per_token=Decimal("0"),
        effective_from=NOW - timedelta(days=1),
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(editor).post(
            reverse("dashboard:reprice_stored", args=[project.slug]), {}
        )
    assert response.status_code == 302
    usage = TokenUsage.objects.get(model="mystery")
    assert (usage.cost_source, usage.cost_usd) == ("computed", Decimal("0.1"))
    assert AgentSession.objects.get(external_id="s4").cost_usd == Decimal("0.1")


def test_a_viewer_cannot_reprice_stored_usage(project, viewer):
    response = client_for(viewer).post(reverse("dashboard:reprice_stored", args=[project.slug]))
    assert response.status_code == 403


# Budgets page.


def test_budgets_page_shows_spend_level_and_alerts(spend, project, viewer):
    budget_create(project=project, scope="user", target="alice", period="month", amount_usd="0.06")
    response = client_for(viewer).get(reverse("dashboard:budgets", args=[project.slug]))
    assert response.status_code == 200
    [status] = response.context["statuses"]
    assert status.spent_usd == Decimal("0.0524") and status.level == "near"
    costs = client_for(viewer).get(costs_url(project))
    assert "near its month budget" in costs.content.decode()
    alice = next(r for r in costs.context["by_user"] if r["user"] == "alice")
    assert alice["budget"].level == "near"


def test_an_editor_adds_and_deletes_a_budget(project, editor):
    client = client_for(editor)
    response = client.post(
        reverse("dashboard:budget_new", args=[project.slug]),
        {
            "scope": "project",
            "target": "",
            "period": "week",
            "amount_usd": "10",
            "warn_percent": "90",
        },
        headers={"HX-Request": "true", "HX-Target": "budgets-region"},
    )
    assert response.status_code == 200
    budget = Budget.objects.get(project=project)
    assert (budget.period, budget.warn_ratio) == ("week", Decimal("0.9"))
    response = client.post(reverse("dashboard:budget_remove", args=[project.slug, budget.pk]))
    assert response.status_code == 302
    assert not Budget.objects.exists()


def test_a_user_budget_without_a_target_is_refused(project, editor):
    response = client_for(editor).post(
        reverse("dashboard:budget_new", args=[project.slug]),
        {"scope": "user", "target": "", "period": "week", "amount_usd": "10", "warn_percent": "80"},
    )
    assert response.status_code == 400
    assert response.context["budget_form"].errors["target"]


def test_a_viewer_cannot_add_budgets(project, viewer):
    response = client_for(viewer).post(
        reverse("dashboard:budget_new", args=[project.slug]),
        {"scope": "project", "period": "week", "amount_usd": "10", "warn_percent": "80"},
    )
    assert response.status_code == 403


def test_budgets_page_of_another_project_is_a_404(project, outsider):
    assert (
        client_for(outsider).get(reverse("dashboard:budgets", args=[project.slug])).status_code
        == 404
    )


def test_long_breakdowns_show_the_costliest_rows_and_the_csv_has_all(spend, project, viewer):
    for i in range(51):
        spend_in(project, f"u-{i}", "m-x", 10 + i, user_ref=f"user-{i:02d}")
    client = client_for(viewer)
    page = client.get(costs_url(project))
    assert len(page.context["by_user"]) == 50
    assert page.context["by_user"][0]["user"] == "alice"  # from the fixture: 5200 tokens
    assert page.context["by_user"][1]["user"] == "bob"
    assert "The 50 costliest; the CSV has them all." in page.content.decode()
    rows = list(
        csv.DictReader(
            io.StringIO(
                client.get(costs_url(project, format="csv", breakdown="user")).content.decode()
            )
        )
    )
    assert len(rows) == 51 + 3  # and the fixture's alice, bob and carol


def test_budgets_page_queries_are_pinned(spend, project, viewer, django_assert_num_queries):
    budget_create(project=project, scope="user", target="alice", period="month", amount_usd="1")
    budget_create(project=project, scope="session", target="s1", period="day", amount_usd="1")
    client = client_for(viewer)
    client.get(reverse("dashboard:budgets", args=[project.slug]))
    # Login session, user, project, role; the budgets and one spend query each; the alerts;
    # the project switcher.
    with django_assert_num_queries(9):
        client.get(reverse("dashboard:budgets", args=[project.slug]))


def test_prices_page_queries_are_pinned(spend, project, viewer, django_assert_num_queries):
    client = client_for(viewer)
    url = reverse("dashboard:prices", args=[project.slug])
    client.get(url)
    # Login session, user, project, role; the overrides; the models used; the switcher; what a
    # re-price would cover (one aggregate).
    with django_assert_num_queries(8):
        client.get(url, {"q": "gpt-4o"})


def test_prices_search_partial_is_only_the_table(project, viewer):
    response = client_for(viewer).get(
        reverse("dashboard:prices", args=[project.slug]),
        {"q": "claude"},
        headers={"HX-Request": "true", "HX-Target": "litellm-table"},
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="panel" id="litellm-table">')
    assert "claude" in html and "<html" not in html


def test_an_admin_sets_the_alert_webhook(project, admin_user, fake_dns):
    fake_dns["hooks.example.com"] = ["93.184.215.14"]
    url = reverse("dashboard:alert_webhook_set", args=[project.slug])
    response = client_for(admin_user).post(
        url,
        {"url": "https://hooks.example.com/budget"},
        headers={"HX-Request": "true", "HX-Target": "budgets-region"},
    )
    assert response.status_code == 200
    project.refresh_from_db()
    assert project.alert_webhook_url == "https://hooks.example.com/budget"
    bad = client_for(admin_user).post(url, {"url": "ftp://example.com/x"})
    assert bad.status_code == 400
    assert bad.context["webhook_form"].errors["url"]
    project.refresh_from_db()
    assert project.alert_webhook_url == "https://hooks.example.com/budget"


def test_an_editor_cannot_set_the_alert_webhook(project, editor):
    url = reverse("dashboard:alert_webhook_set", args=[project.slug])
    assert client_for(editor).post(url, {"url": "https://x.example.com"}).status_code == 403


def test_price_table_shows_each_overrides_state(project, viewer):
    for days, inp in ((-30, "1"), (-10, "2"), (10, "3")):
        ModelPrice.objects.create(
            project=project,
            pattern="house-llama",
            input_cost_per_token=Decimal(inp) / 1_000_000,
            output_cost_per_token=Decimal(0),
            effective_from=NOW + timedelta(days=days),
        )
    response = client_for(viewer).get(reverse("dashboard:prices", args=[project.slug]))
    states = [
        (r.price.input_cost_per_token * 1_000_000, r.state) for r in response.context["overrides"]
    ]
    assert states == [(3, "scheduled"), (2, "in force"), (1, "superseded")]


def test_an_editor_deletes_an_override_and_a_viewer_cannot(project, editor, viewer):
    price = ModelPrice.objects.create(
        project=project,
        pattern="x",
        input_cost_per_token=Decimal(0),
        output_cost_per_token=Decimal(0),
    )
    url = reverse("dashboard:price_remove", args=[project.slug, price.pk])
    assert client_for(viewer).post(url).status_code == 403
    response = client_for(editor).post(
        url, headers={"HX-Request": "true", "HX-Target": "price-overrides"}
    )
    assert response.status_code == 200
    assert not ModelPrice.objects.exists()


def test_another_projects_override_cannot_be_deleted(other_project, project, editor):
    price = ModelPrice.objects.create(
        project=other_project,
        pattern="x",
        input_cost_per_token=Decimal(0),
        output_cost_per_token=Decimal(0),
    )
    url = reverse("dashboard:price_remove", args=[project.slug, price.pk])
    assert client_for(editor).post(url).status_code == 404
    assert ModelPrice.objects.exists()


def test_the_budgets_region_keeps_its_editing_controls_after_an_htmx_change(project, admin_user):
    response = client_for(admin_user).post(
        reverse("dashboard:budget_new", args=[project.slug]),
        {"scope": "project", "period": "week", "amount_usd": "10", "warn_percent": "80"},
        headers={"HX-Request": "true", "HX-Target": "budgets-region"},
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "Add budget" in html and ">Delete</button>" in html  # editors' controls
    assert 'id="alert-webhook"' in html  # the admin's


def test_the_overrides_region_keeps_its_delete_buttons_after_an_htmx_change(project, editor):
    response = client_for(editor).post(
        reverse("dashboard:price_new", args=[project.slug]),
        {
            "pattern": "house-*",
            "input_per_million": "1",
            "output_per_million": "2",
            "effective_from": "2026-01-01",
        },
        headers={"HX-Request": "true", "HX-Target": "price-overrides"},
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "house-*" in html and ">Delete</button>" in html


def test_the_csv_has_a_column_for_every_usage_sum():
    from dashboard.views.costs import CSV_COLUMNS
    from sessions_app.usage_fields import SUM_FIELDS

    assert sorted(CSV_COLUMNS) == sorted(SUM_FIELDS)
