"""GET /api/v1/usage and GET /api/v1/alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sessions_app.inputs import EventInput, UsageInput
from sessions_app.models import BudgetAlert, ModelPrice
from sessions_app.services.budgets import budget_create, budgets_check
from sessions_app.services.events import events_append
from sessions_app.services.sessions import session_upsert
from tests.http import SplitClient as Client

pytestmark = pytest.mark.django_db

DAY = datetime(2026, 3, 10, 12, tzinfo=UTC)


def usage_event(n: int, model: str, prompt: int, completion: int, at: datetime) -> EventInput:
    return EventInput(
        external_id=f"e{n}",
        source="llm",
        timestamp=at,
        usage=UsageInput(model=model, prompt_tokens=prompt, completion_tokens=completion),
    )


@pytest.fixture
def spend(project):
    ModelPrice.objects.create(
        project=project,
        pattern="m-*",
        input_cost_per_token=Decimal("0.000001"),
        output_cost_per_token=Decimal("0.000002"),
        effective_from=DAY - timedelta(days=100),
    )
    session_upsert(
        project=project, external_id="a", fields={"agent_name": "bot", "user_ref": "alice"}
    )
    events_append(
        project=project,
        session_external_id="a",
        events=[
            usage_event(1, "m-one", 1000, 100, DAY),
            usage_event(2, "m-two", 500, 0, DAY + timedelta(days=1)),
        ],
    )
    events_append(
        project=project,
        session_external_id="b",
        events=[usage_event(3, "m-one", 10, 10, DAY + timedelta(days=1))],
    )


def get(headers, **params):
    return Client().get("/api/v1/usage", params, headers=headers)


def test_usage_by_model_sums_tokens_cost_and_events(spend, auth_headers):
    response = get(auth_headers, group_by="model", **{"from": "2026-03-10", "to": "2026-03-11"})
    assert response.status_code == 200
    body = response.json()
    assert body["items"] == [
        {
            "model": "m-one",
            "prompt_tokens": 1010,
            "completion_tokens": 110,
            "total_tokens": 1120,
            "cached_tokens": 0,
            "reasoning_tokens": 0,
            "cost_usd": "0.00123",
            "events": 2,
        },
        {
            "model": "m-two",
            "prompt_tokens": 500,
            "completion_tokens": 0,
            "total_tokens": 500,
            "cached_tokens": 0,
            "reasoning_tokens": 0,
            "cost_usd": "0.0005",
            "events": 1,
        },
    ]
    assert body["total"]["cost_usd"] == "0.00173"
    assert (body["from"], body["to"], body["group_by"]) == ("2026-03-10", "2026-03-11", "model")


@pytest.mark.parametrize(
    ("group_by", "keys"),
    [
        ("day", ["2026-03-10", "2026-03-11"]),
        ("agent", ["bot", ""]),
        ("user", ["alice", ""]),
        ("source", ["computed"]),
    ],
)
def test_usage_groups_by_day_agent_user_and_source(spend, auth_headers, group_by, keys):
    body = get(auth_headers, group_by=group_by, **{"from": "2026-03-01", "to": "2026-03-31"}).json()
    assert [item[group_by] for item in body["items"]] == keys
    assert sum(item["events"] for item in body["items"]) == 3


def test_usage_range_and_filters_narrow_the_rows(spend, auth_headers):
    one_day = get(auth_headers, group_by="model", **{"from": "2026-03-10", "to": "2026-03-10"})
    assert [i["model"] for i in one_day.json()["items"]] == ["m-one"]
    only_bot = get(
        auth_headers, group_by="model", agent="bot", **{"from": "2026-03-01", "to": "2026-03-31"}
    )
    assert only_bot.json()["total"]["prompt_tokens"] == 1500


def test_usage_of_another_project_is_not_visible(spend, other_token):
    body = get(
        {"Authorization": f"Bearer {other_token}"},
        group_by="model",
        **{"from": "2026-03-01", "to": "2026-03-31"},
    ).json()
    assert body["items"] == [] and body["total"]["events"] == 0


def test_usage_rejects_an_unknown_grouping_with_the_field_named(auth_headers):
    response = get(auth_headers, group_by="planet")
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert "group_by" in response.json()["detail"][0]["field"]


def test_usage_rejects_a_range_that_ends_before_it_starts(auth_headers):
    response = get(auth_headers, **{"from": "2026-03-10", "to": "2026-03-01"})
    assert response.status_code == 422
    assert response.json()["field"] == "from"


def test_usage_rejects_a_malformed_date(auth_headers):
    response = get(auth_headers, to="yesterday")
    assert response.status_code == 422


def test_usage_needs_an_api_key():
    assert Client().get("/api/v1/usage").status_code == 401


def test_alerts_list_the_projects_budget_alerts_newest_first(project, auth_headers, other_token):
    ModelPrice.objects.create(
        project=project,
        pattern="m-*",
        input_cost_per_token=Decimal("0.01"),
        output_cost_per_token=Decimal("0"),
        effective_from=DAY - timedelta(days=100),
    )
    budget_create(project=project, scope="project", period="total", amount_usd="1")
    budget_create(project=project, scope="user", target="u", period="total", amount_usd="5")
    session_upsert(project=project, external_id="s", fields={"user_ref": "u"})
    events_append(
        project=project, session_external_id="s", events=[usage_event(1, "m-x", 450, 0, DAY)]
    )
    budgets_check(project=project)
    assert BudgetAlert.objects.count() == 2
    body = Client().get("/api/v1/alerts", {"limit": 1}, headers=auth_headers).json()
    [newest] = body["items"]
    assert newest["level"] == "near" and newest["budget"]["scope"] == "user"
    older = (
        Client()
        .get("/api/v1/alerts", {"before_id": body["next_before_id"]}, headers=auth_headers)
        .json()
    )
    assert [(a["level"], a["budget"]["scope"]) for a in older["items"]] == [("over", "project")]
    assert older["next_before_id"] is None
    other = Client().get("/api/v1/alerts", headers={"Authorization": f"Bearer {other_token}"})
    assert other.json()["items"] == []


def test_what_if_prices_a_range_on_another_model_without_changing_it(spend, project, auth_headers):
    ModelPrice.objects.create(
        project=project,
        pattern="m-cheap",
        input_cost_per_token=Decimal("0.0000001"),
        output_cost_per_token=Decimal("0.0000002"),
        effective_from=DAY - timedelta(days=1),
    )
    response = Client().get(
        "/api/v1/usage/what-if",
        {"target_model": "m-cheap", "from": "2026-03-01", "to": "2026-03-31"},
        headers=auth_headers,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["stored_cost_usd"] == "0.00173"
    # 1510 prompt and 110 completion tokens (same fallback tokenizer for both names).
    assert body["cost_usd"] == "0.000173"
    assert {line["target_model"] for line in body["lines"]} == {"m-cheap"}
    assert (
        get(auth_headers, group_by="model", **{"from": "2026-03-01", "to": "2026-03-31"}).json()[
            "total"
        ]["cost_usd"]
        == "0.00173"
    )


def test_what_if_of_a_session_and_of_an_unknown_one(spend, auth_headers):
    ok = Client().get("/api/v1/usage/what-if", {"session": "a"}, headers=auth_headers)
    assert ok.status_code == 200
    assert ok.json()["stored_cost_usd"] == ok.json()["cost_usd"] == "0.0017"
    missing = Client().get("/api/v1/usage/what-if", {"session": "nope"}, headers=auth_headers)
    assert missing.status_code == 404
    assert missing.json()["field"] == "session"


def test_what_if_cannot_see_another_projects_session(spend, other_token):
    response = Client().get(
        "/api/v1/usage/what-if",
        {"session": "a"},
        headers={"Authorization": f"Bearer {other_token}"},
    )
    assert response.status_code == 404


def test_events_posted_through_the_api_cross_a_budget_once(
    project, auth_headers, django_capture_on_commit_callbacks
):
    budget_create(project=project, scope="session", target="conv", period="total", amount_usd="1")
    for n in range(4):
        with django_capture_on_commit_callbacks(execute=True):
            response = Client().post(
                "/api/v1/sessions/conv/events",
                {
                    "events": [
                        {
                            "id": f"e{n}",
                            "source": "llm",
                            "type": "message",
                            "message": "an answer",
                            "token_usage": {
                                "model": "gpt-4o",
                                "prompt_tokens": 10,
                                "completion_tokens": 5,
                                "cost_usd": "0.4",
                            },
                        }
                    ]
                },
                content_type="application/json",
                headers=auth_headers,
            )
        assert response.status_code in (200, 201), response.content
    alerts = Client().get("/api/v1/alerts", headers=auth_headers).json()["items"]
    assert [(a["level"], a["spent_usd"]) for a in alerts] == [("over", "1.2"), ("near", "0.8")]
