"""The price page says what a re-price covers before and what it did after, and offers the day
the unpriced usage starts as an override's start (issue 16, item 11)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from config.celery import app
from sessions_app.models import ModelPrice, OutboxTask, TokenUsage
from sessions_app.services.events import EventInput, UsageInput, events_append

pytestmark = pytest.mark.django_db

USED_AT = datetime(2026, 2, 10, 9, 30, tzinfo=UTC)


@pytest.fixture
def unpriced(project):
    """One usage row of a model no table prices, from a fixed day in the past."""
    events_append(
        project=project,
        session_external_id="s-unpriced",
        events=[
            EventInput(
                external_id="u1",
                source="llm",
                content="an answer",
                timestamp=USED_AT,
                usage=UsageInput(model="house-llm", prompt_tokens=1000, completion_tokens=10),
            )
        ],
    )
    assert TokenUsage.objects.get().cost_source == "unknown"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def prices_url(project) -> str:
    return reverse("dashboard:prices", args=[project.slug])


def test_the_override_form_offers_the_day_the_unpriced_usage_starts(project, editor, unpriced):
    response = client_for(editor).get(prices_url(project))
    body = response.content.decode()
    assert response.context["price_form"].initial["effective_from"] == USED_AT.date()
    assert 'value="2026-02-10"' in body
    assert "1 stored usage row has no price, the first from 2026-02-10" in body
    assert "covers 1 stored usage row, 1 of them without a price (from 2026-02-10)" in body


def test_without_unpriced_usage_the_form_has_no_offered_day(project, editor):
    response = client_for(editor).get(prices_url(project))
    assert "effective_from" not in response.context["price_form"].initial
    assert 'id="unpriced-note"' not in response.content.decode()


def test_an_override_from_the_offered_day_and_a_re_price_price_the_usage_and_say_so(
    project, editor, unpriced
):
    client = client_for(editor)
    added = client.post(
        reverse("dashboard:price_new", args=[project.slug]),
        {
            "pattern": "house-llm",
            "input_per_million": "1",
            "output_per_million": "2",
            "effective_from": "2026-02-10",
        },
    )
    assert added.status_code == 302
    assert ModelPrice.objects.get().effective_from == datetime(2026, 2, 10, tzinfo=UTC)
    response = client.post(
        reverse("dashboard:reprice_stored", args=[project.slug]),
        {},
        headers={"HX-Request": "true", "HX-Target": "reprice-stored"},
    )
    body = response.content.decode()
    assert (
        "Re-priced 1 usage row: 1 changed, cost change +0.00102 USD; 1 had no price before." in body
    )
    usage = TokenUsage.objects.get()
    assert (usage.cost_source, usage.cost_usd) == ("computed", Decimal("0.00102"))


def test_a_re_price_that_matches_nothing_says_so(project, editor, unpriced):
    response = client_for(editor).post(
        reverse("dashboard:reprice_stored", args=[project.slug]),
        {"model": "no-such-model"},
        headers={"HX-Request": "true", "HX-Target": "reprice-stored"},
    )
    assert "Nothing matched" in response.content.decode()


def test_with_a_broker_the_re_price_is_queued_and_says_what_it_covers(
    project, editor, unpriced, monkeypatch, django_capture_on_commit_callbacks
):
    from sessions_app.tasks.pricing import usage_reprice_task

    sent = []
    monkeypatch.setattr(usage_reprice_task, "apply_async", lambda **kw: sent.append(kw))
    app.conf.task_always_eager, eager = False, app.conf.task_always_eager
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(editor).post(
                reverse("dashboard:reprice_stored", args=[project.slug]),
                {"since": "2026-02-01"},
                headers={"HX-Request": "true", "HX-Target": "reprice-stored"},
            )
    finally:
        app.conf.task_always_eager = eager
    body = response.content.decode()
    assert (
        "Re-pricing queued: it covers 1 usage row from 2026-02-01, 1 of them without a price."
        in body
    )
    assert sent and sent[0]["args"][0] == project.pk
    assert not OutboxTask.objects.exists()


def test_a_viewer_sees_no_re_price_panel(project, viewer, unpriced):
    body = client_for(viewer).get(prices_url(project)).content.decode()
    assert 'id="reprice-stored"' not in body
