"""A queue's rule: sampling N% of the new sessions that match a saved filter."""

from __future__ import annotations

import pytest

from sessions_app.models import QueueItem
from sessions_app.services.queues import queue_rule_apply, queue_save, sampled
from sessions_app.tasks.review import queue_rules_apply_all
from tests.dashboard.conftest import make_session

pytestmark = pytest.mark.django_db


def test_a_rule_adds_only_new_matching_sessions_and_a_rerun_adds_nothing(project):
    make_session(project, "old", agent_name="bot")
    queue = queue_save(project=project, name="Bots", rule_query="agent=bot", rule_enabled=True)
    make_session(project, "new-bot", agent_name="bot")
    make_session(project, "new-other", agent_name="other")
    assert queue_rule_apply(queue=queue) == 1
    assert queue_rule_apply(queue=queue) == 0
    assert [i.session.external_id for i in QueueItem.objects.all()] == ["new-bot"]


def test_sampling_takes_about_its_share_and_always_the_same_sessions(project):
    queue = queue_save(project=project, name="Ten", rule_enabled=True, rule_sample_percent=10)
    picks = [n for n in range(1, 2001) if sampled(queue, n)]
    assert 140 < len(picks) < 260
    assert picks == [n for n in range(1, 2001) if sampled(queue, n)]


def test_a_rule_that_is_off_adds_nothing(project):
    queue = queue_save(project=project, name="Off", rule_query="", rule_enabled=False)
    make_session(project, "s")
    assert queue_rule_apply(queue=queue) == 0


def test_the_periodic_task_applies_every_enabled_rule(project):
    queue_save(project=project, name="All", rule_enabled=True)
    make_session(project, "s")
    assert queue_rules_apply_all() == 1
    assert QueueItem.objects.count() == 1


def test_adding_by_hand_skips_sessions_already_queued_and_of_other_projects(project, other_project):
    from sessions_app.services.queues import queue_items_add

    queue = queue_save(project=project, name="Hand")
    mine = make_session(project, "mine")
    theirs = make_session(other_project, "theirs")
    assert queue_items_add(queue=queue, sessions=[mine, theirs], added_by="bulk") == 1
    assert queue_items_add(queue=queue, sessions=[mine], added_by="bulk") == 0
    assert [i.session_id for i in QueueItem.objects.all()] == [mine.pk]


def test_a_rule_keeps_a_cost_range_with_an_exclusive_max(project):
    from decimal import Decimal

    from sessions_app.models import AgentSession

    queue = queue_save(
        project=project, name="Mid", rule_query="min_cost=1&max_cost=5", rule_enabled=True
    )
    for sid, cost in (("cheap", "0.5"), ("low-bound", "1"), ("mid", "4.99"), ("high-bound", "5")):
        make_session(project, sid, turns=0)
        AgentSession.objects.filter(external_id=sid).update(cost_usd=Decimal(cost))
    assert queue_rule_apply(queue=queue) == 2
    assert {i.session.external_id for i in QueueItem.objects.all()} == {"low-bound", "mid"}


@pytest.mark.parametrize(
    "rule",
    [
        "max_cost=lots",
        "max_cost=NaN",
        "max_cost=-Infinity",
        "max_cost=-1",
        "min_cost=NaN",
        "min_cost=sNaN",
        "min_cost=Infinity",
        "min_cost=1&max_cost=1",
    ],
)
def test_a_rule_ignores_a_cost_the_list_refuses_and_still_fills(project, rule):
    # As the list's form: NaN or Infinity used to fail every fill of the rule.
    from sessions_app.list_query import query_filters

    filters = query_filters(rule)
    assert filters.max_cost is None and filters.min_cost in (None, 1)
    queue = queue_save(project=project, name="Odd", rule_query=rule, rule_enabled=True)
    make_session(project, "s", turns=0)
    expected = 0 if rule.startswith("min_cost=1") else 1
    assert queue_rule_apply(queue=queue) == expected


@pytest.mark.parametrize(
    "bound",
    [
        "score_min=nan",
        "score_max=NaN",
        "score_min=inf",
        "score_min=-inf",
        "score_max=-Infinity",
        "score_max=1e400",
        "score_min=-1e400",
    ],
)
def test_a_rule_ignores_a_score_bound_the_list_refuses_and_still_fills(project, bound):
    # The list's form refuses a bound that is not a finite number and lists every session with
    # a value of the score; NaN used to match nothing (or, on PostgreSQL, everything as a max),
    # an infinite bound nothing or everything.
    from sessions_app.list_query import query_filters
    from sessions_app.models import DataType, ScoreConfig
    from sessions_app.services.scores import score_record

    rule = f"score=quality&{bound}"
    filters = query_filters(rule)
    assert (filters.score, filters.score_min, filters.score_max) == ("quality", None, None)
    config = ScoreConfig.objects.create(project=project, name="quality", data_type=DataType.NUMERIC)
    queue = queue_save(project=project, name="Odd", rule_query=rule, rule_enabled=True)
    scored = make_session(project, "scored", turns=0)
    score_record(session=scored, name="quality", value=3, config=config, author_name="t")
    make_session(project, "unscored", turns=0)
    assert queue_rule_apply(queue=queue) == 1
    assert [i.session.external_id for i in QueueItem.objects.all()] == ["scored"]


@pytest.mark.parametrize("param", ["agent", "user", "model", "q", "score", "meta"])
def test_a_rule_ignores_text_with_a_nul_character_and_still_fills(project, param):
    # The list's form refuses it; PostgreSQL failed each fill comparing it.
    queue = queue_save(project=project, name="Odd", rule_query=f"{param}=a%00b", rule_enabled=True)
    make_session(project, "s", turns=0)
    assert queue_rule_apply(queue=queue) == 1
