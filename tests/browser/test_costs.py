"""The costs page in Chromium: charts drawn, a bar's link drills down to the sessions list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sessions_app.inputs import EventInput, UsageInput
from sessions_app.models import ModelPrice
from sessions_app.services.events import events_append
from sessions_app.services.sessions import session_upsert

pytestmark = pytest.mark.browser


@pytest.fixture
def spend(project):
    now = datetime.now(UTC)
    ModelPrice.objects.create(
        project=project,
        pattern="m-*",
        input_cost_per_token=Decimal("0.00001"),
        output_cost_per_token=Decimal("0.00003"),
        effective_from=now - timedelta(days=400),
    )
    for i in range(12):
        external_id = f"conv-{i}"
        session_upsert(
            project=project,
            external_id=external_id,
            fields={"agent_name": ["support", "triage", "billing"][i % 3], "user_ref": f"u{i % 4}"},
        )
        events_append(
            project=project,
            session_external_id=external_id,
            events=[
                EventInput(
                    external_id=f"{external_id}-{d}",
                    source="llm",
                    content="answer",
                    timestamp=now - timedelta(days=d, minutes=5),
                    usage=UsageInput(
                        model=["m-large", "m-small", "m-mini"][(i + d) % 3],
                        prompt_tokens=1000 * (i + 1),
                        completion_tokens=200 * (d + 1),
                    ),
                )
                for d in range(0, 20, 3)
            ],
        )


def test_costs_page_draws_its_charts_and_a_bar_drills_down(
    spend, project, viewer, page, login, screenshot
):
    login(viewer)
    page.goto(f"/p/{project.slug}/costs/")
    model_chart = page.locator("svg#chart-model")
    model_chart.wait_for()
    assert model_chart.locator("rect").count() >= 7
    assert page.locator("svg#chart-agent rect").count() >= 7
    assert page.locator("svg#chart-distribution rect").count() >= 1
    box = model_chart.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 80
    assert page.locator("#by-model tbody tr").count() == 3
    screenshot("costs-page")

    page.locator("svg#chart-model a").first.click()
    page.wait_for_url(f"**/p/{project.slug}/sessions/?*")
    assert "model=m-" in page.url
    assert page.locator("#session-rows tbody tr").count() >= 1


def test_costs_filter_swaps_the_report_in_place(spend, project, viewer, page, login):
    login(viewer)
    page.goto(f"/p/{project.slug}/costs/")
    page.fill("input[name=agent]", "triage")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**agent=triage**")
    page.locator("#by-agent tbody tr").first.wait_for()
    assert page.locator("#by-agent tbody tr").count() == 1
    assert "triage" in page.locator("#by-agent").inner_text()


def test_an_editor_adds_a_budget_and_the_costs_page_flags_it(
    spend, project, editor, page, login, screenshot
):
    # A monthly budget counts from the 1st: on the first days of a month most of `spend` lies in
    # the month before. This spend is stamped now, so it falls in the budget's month on any day.
    events_append(
        project=project,
        session_external_id="conv-3",
        events=[
            EventInput(
                external_id="conv-3-this-month",
                source="llm",
                content="answer",
                timestamp=datetime.now(UTC),
                usage=UsageInput(model="m-large", prompt_tokens=60_000, completion_tokens=0),
            )
        ],
    )
    login(editor)
    page.goto(f"/p/{project.slug}/budgets/")
    page.select_option("select[name=scope]", "user")
    page.fill("input[name=target]", "u3")
    page.select_option("select[name=period]", "month")
    page.fill("input[name=amount_usd]", "0.5")
    page.click("#budgets-region button.primary")
    page.locator("#budget-list td:has-text('u3')").wait_for()
    assert "over" in page.locator("#budget-list").inner_text()
    assert "over" in page.locator("#alert-list").inner_text()
    screenshot("budgets-page")
    page.goto(f"/p/{project.slug}/costs/")
    assert "over its month budget" in page.locator(".budget-flags").inner_text()


def test_a_refused_budget_shows_its_reason_in_place(spend, project, editor, page, login):
    # The view answers 400 with the form and its errors; htmx 2 swaps no 4xx by default, so
    # without the page's responseHandling the reason never reached the screen.
    login(editor)
    page.goto(f"/p/{project.slug}/budgets/")
    page.select_option("select[name=scope]", "user")
    page.fill("input[name=amount_usd]", "5")
    page.click("#budgets-region button.primary")
    page.locator("#budgets-region :text('A user budget needs the user_ref')").wait_for()
    assert "No budgets yet." in page.locator("#budget-list").inner_text()


def test_price_table_search_and_override(spend, project, editor, page, login, screenshot):
    login(editor)
    page.goto(f"/p/{project.slug}/prices/")
    page.fill("#price-q", "gpt-4o-mini")
    page.click("#litellm-table button[type=submit]")
    page.locator("#litellm-table td:has-text('gpt-4o-mini')").first.wait_for()
    page.fill("input[name=pattern]", "house-llama-*")
    page.fill("input[name=input_per_million]", "0.2")
    page.fill("input[name=output_per_million]", "0.6")
    page.click("#price-overrides button.primary")
    page.locator("#price-overrides code:has-text('house-llama-*')").wait_for()
    screenshot("prices-page")


def test_what_if_from_a_top_session_on_another_model(
    spend, project, viewer, page, login, screenshot
):
    ModelPrice.objects.create(
        project=project,
        pattern="gpt-4o-mini",
        input_cost_per_token=Decimal("0.00000015"),
        output_cost_per_token=Decimal("0.0000006"),
        effective_from=datetime.now(UTC) - timedelta(days=1),
    )
    login(viewer)
    page.goto(f"/p/{project.slug}/costs/")
    page.locator("#top-sessions a:has-text('re-price')").first.click()
    page.wait_for_url("**/costs/reprice/?session=*")
    page.fill("input[name=target]", "gpt-4o-mini")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**target=gpt-4o-mini**")
    page.locator("#reprice-lines td:has-text('gpt-4o-mini')").first.wait_for()
    stored = page.locator("#stored-cost").inner_text()
    what_if = page.locator("#what-if-cost").inner_text()
    assert stored != what_if
    screenshot("reprice-page")
