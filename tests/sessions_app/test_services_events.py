"""events_append: gapless seq, rollups in the same transaction, pricing and estimation."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from sessions_app import llm
from sessions_app.errors import Conflict
from sessions_app.inputs import EventInput, UsageInput
from sessions_app.models import AgentSession, DailyUsage, Event, ModelPrice, TokenUsage
from sessions_app.services.events import events_append

pytestmark = pytest.mark.django_db


def ev(event_id: str, **kw) -> EventInput:
    return EventInput(
        external_id=event_id, source=kw.pop("source", "llm"), body_hash=event_id, **kw
    )


def usage_of(event_id: str) -> TokenUsage:
    return TokenUsage.objects.get(event__external_id=event_id)


def test_seq_is_gapless_across_batches_and_duplicates_take_no_seq(project):
    events_append(project=project, session_external_id="s", events=[ev("a"), ev("b")])
    _, results = events_append(
        project=project, session_external_id="s", events=[ev("b"), ev("c"), ev("c")]
    )
    assert [(r.external_id, r.seq, r.status) for r in results] == [
        ("b", 2, "duplicate"),
        ("c", 3, "created"),
        ("c", 3, "duplicate"),
    ]
    assert list(Event.objects.order_by("seq").values_list("seq", flat=True)) == [1, 2, 3]
    assert AgentSession.objects.get().last_seq == 3


def test_a_conflicting_duplicate_refuses_the_whole_batch(project):
    events_append(project=project, session_external_id="s", events=[ev("a")])
    changed = EventInput(external_id="a", source="llm", body_hash="other")
    with pytest.raises(Conflict):
        events_append(project=project, session_external_id="s", events=[ev("new"), changed])
    assert list(Event.objects.values_list("external_id", flat=True)) == ["a"]


def test_rollups_add_up_counts_tokens_cost_errors_and_last_activity(project):
    later = timezone.now() + timedelta(hours=1)
    events_append(
        project=project,
        session_external_id="s",
        events=[
            ev("u", source="user", content="first question"),
            ev(
                "a",
                usage=UsageInput(
                    model="m", prompt_tokens=10, completion_tokens=5, cost_usd=Decimal("0.5")
                ),
            ),
            ev("x", type="error", is_error=True, timestamp=later),
        ],
    )
    events_append(
        project=project,
        session_external_id="s",
        events=[
            ev(
                "b",
                usage=UsageInput(
                    model="m", prompt_tokens=1, completion_tokens=1, cost_usd=Decimal("0.25")
                ),
            ),
        ],
    )
    s = AgentSession.objects.get()
    assert (s.event_count, s.last_seq, s.error_count) == (4, 4, 1)
    assert (s.prompt_tokens, s.completion_tokens, s.total_tokens) == (11, 6, 17)
    assert s.cost_usd == Decimal("0.75")
    assert s.last_event_at == later
    assert s.preview == "first question"
    day = DailyUsage.objects.get()
    assert (day.events, day.total_tokens, day.cost_usd) == (2, 17, Decimal("0.75"))


def test_known_model_cost_is_computed_from_the_price_table_with_the_unit_prices_stored(project):
    prices = llm.table_prices("gpt-4o-mini")
    assert prices is not None
    events_append(
        project=project,
        session_external_id="s",
        events=[
            ev(
                "a",
                usage=UsageInput(model="gpt-4o-mini", prompt_tokens=1000, completion_tokens=100),
            ),
        ],
    )
    row = usage_of("a")
    assert row.cost_source == "computed"
    assert row.cost_usd == (1000 * prices.input + 100 * prices.output).quantize(Decimal("1e-10"))
    assert (row.input_cost_per_token, row.output_cost_per_token) == (prices.input, prices.output)


def test_a_reported_cost_is_preferred_to_the_table(project):
    events_append(
        project=project,
        session_external_id="s",
        events=[
            ev(
                "a",
                usage=UsageInput(
                    model="gpt-4o-mini",
                    prompt_tokens=1000,
                    completion_tokens=100,
                    cost_usd=Decimal("1.23"),
                ),
            ),
        ],
    )
    row = usage_of("a")
    assert (row.cost_source, row.cost_usd) == ("reported", Decimal("1.23"))


def test_an_unknown_model_is_marked_unknown_not_guessed(project):
    events_append(
        project=project,
        session_external_id="s",
        events=[
            ev(
                "a",
                usage=UsageInput(model="my-private-llm-v9", prompt_tokens=50, completion_tokens=5),
            ),
        ],
    )
    row = usage_of("a")
    assert (row.cost_source, row.cost_usd, row.total_tokens) == ("unknown", Decimal(0), 55)
    assert row.input_cost_per_token is None


def test_model_price_overrides_win_over_the_table_exact_before_glob(project):
    now = timezone.now()
    ModelPrice.objects.create(
        project=project,
        pattern="gpt-4o*",
        input_cost_per_token=Decimal(1),
        output_cost_per_token=Decimal(1),
        effective_from=now - timedelta(1),
    )
    ModelPrice.objects.create(
        project=project,
        pattern="gpt-4o-mini",
        input_cost_per_token=Decimal(2),
        output_cost_per_token=Decimal(3),
        effective_from=now - timedelta(2),
    )
    ModelPrice.objects.create(
        project=project,
        pattern="gpt-4o-mini",
        input_cost_per_token=Decimal(100),
        output_cost_per_token=Decimal(100),
        effective_from=now + timedelta(days=30),
    )
    events_append(
        project=project,
        session_external_id="s",
        events=[
            ev(
                "exact",
                usage=UsageInput(model="gpt-4o-mini", prompt_tokens=10, completion_tokens=1),
            ),
            ev(
                "glob",
                usage=UsageInput(model="gpt-4o-2024-08-06", prompt_tokens=10, completion_tokens=1),
            ),
        ],
    )
    assert usage_of("exact").cost_usd == Decimal(23)  # the future price is not in force yet
    assert usage_of("glob").cost_usd == Decimal(11)


def test_tool_events_cost_nothing_even_with_usage(project):
    events_append(
        project=project,
        session_external_id="s",
        events=[
            ev(
                "t",
                source="tool",
                type="tool_result",
                usage=UsageInput(model="gpt-4o-mini", prompt_tokens=500, completion_tokens=500),
            ),
        ],
    )
    assert usage_of("t").cost_usd == 0


def test_an_llm_message_without_usage_gets_estimated_tokens(project):
    text = "The quick brown fox jumps over the lazy dog."
    events_append(
        project=project,
        session_external_id="s",
        events=[
            ev("a", content=text, model="gpt-4o-mini"),
            ev("u", source="user", content=text, model="gpt-4o-mini"),
        ],
    )
    row = usage_of("a")
    assert row.tokens_estimated is True
    assert row.completion_tokens == llm.count_tokens("gpt-4o-mini", text=text) > 0
    assert row.cost_source == "computed" and row.cost_usd > 0
    assert not TokenUsage.objects.filter(event__external_id="u").exists()


def test_usage_as_reported_is_stored_as_reported(project):
    events_append(
        project=project,
        session_external_id="s",
        events=[
            ev(
                "a",
                usage=UsageInput(
                    model="m",
                    prompt_tokens=7,
                    completion_tokens=3,
                    total_tokens=12,
                    cached_tokens=2,
                    reasoning_tokens=1,
                ),
            ),
        ],
    )
    row = usage_of("a")
    assert (row.prompt_tokens, row.completion_tokens, row.total_tokens) == (7, 3, 12)
    assert (row.cached_tokens, row.reasoning_tokens, row.tokens_estimated) == (2, 1, False)
