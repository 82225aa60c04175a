"""Reads of price overrides: the price book's order, the page's grouping, scoped to a project."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.http import Http404

from sessions_app.models import ModelPrice
from sessions_app.selectors.prices import (
    price_overrides,
    price_overrides_by_pattern,
    project_price_override,
)

pytestmark = pytest.mark.django_db


def _price(project, pattern: str, day: int) -> ModelPrice:
    return ModelPrice.objects.create(
        project=project,
        pattern=pattern,
        input_cost_per_token=Decimal("0.000001"),
        output_cost_per_token=Decimal("0.000002"),
        effective_from=datetime(2026, 1, day, tzinfo=UTC),
    )


def test_the_price_book_tries_the_newest_override_first(project):
    old, new = _price(project, "b-*", 1), _price(project, "a", 5)
    assert price_overrides(project) == [new, old]


def test_the_page_groups_overrides_by_pattern_newest_first(project):
    a_old, b, a_new = _price(project, "a", 1), _price(project, "b", 2), _price(project, "a", 3)
    assert price_overrides_by_pattern(project) == [a_new, a_old, b]


def test_another_projects_override_is_a_404(project, other_project):
    theirs = _price(other_project, "a", 1)
    assert price_overrides(project) == []
    with pytest.raises(Http404):
        project_price_override(project, theirs.pk)
