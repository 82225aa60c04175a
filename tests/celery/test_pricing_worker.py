"""Budget checks and re-pricing run on a real worker through Redis."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sessions_app.inputs import EventInput, UsageInput
from sessions_app.models import AgentSession, BudgetAlert, ModelPrice, TokenUsage
from sessions_app.services.budgets import budget_create
from sessions_app.services.events import events_append
from sessions_app.tasks import usage_reprice_task

from .conftest import wait_for

pytestmark = pytest.mark.celery_worker


def spend(project, n: int, model: str = "house-llama") -> None:
    events_append(
        project=project,
        session_external_id="s",
        events=[
            EventInput(
                external_id=f"e{n}",
                source="llm",
                timestamp=datetime.now(UTC) - timedelta(minutes=1),
                usage=UsageInput(model=model, prompt_tokens=1000, completion_tokens=0),
            )
        ],
    )


def test_a_worker_records_one_alert_when_ingest_crosses_a_budget(celery_worker_ready, project):
    ModelPrice.objects.create(
        project=project,
        pattern="house-*",
        input_cost_per_token=Decimal("0.001"),
        output_cost_per_token=Decimal("0"),
        effective_from=datetime.now(UTC) - timedelta(days=1),
    )
    budget_create(project=project, scope="project", period="day", amount_usd="2.5")
    for n in range(5):
        spend(project, n)  # each batch commits and enqueues a check after its commit

    assert wait_for(lambda: BudgetAlert.objects.filter(level="over").exists())
    # Checks for later batches find the alert recorded: still one for the period.
    assert wait_for(lambda: AgentSession.objects.get(external_id="s").event_count == 5)
    assert BudgetAlert.objects.filter(level="over").count() == 1
    assert BudgetAlert.objects.get(level="over").spent_usd >= Decimal("3")


def test_a_worker_reprices_stored_usage(celery_worker_ready, project):
    spend(project, 1)
    assert TokenUsage.objects.get().cost_source == "unknown"
    ModelPrice.objects.create(
        project=project,
        pattern="house-llama",
        input_cost_per_token=Decimal("0.000002"),
        output_cost_per_token=Decimal("0"),
        effective_from=datetime.now(UTC) - timedelta(days=1),
    )

    usage_reprice_task.delay(project.pk)

    assert wait_for(lambda: TokenUsage.objects.get().cost_source == "computed")
    assert TokenUsage.objects.get().cost_usd == Decimal("0.002")
    assert AgentSession.objects.get(external_id="s").cost_usd == Decimal("0.002")
