"""Template filters of the cost pages."""

from __future__ import annotations

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def per_million(value: Decimal | None) -> str:
    """A per-token USD price as dollars per million tokens: 0.0000025 -> $2.50."""
    if value is None:
        return "—"
    amount = Decimal(value) * 1_000_000
    if amount == 0:
        return "$0"
    if amount >= 1 or (amount * 100) % 1 == 0:
        return f"${amount:,.2f}"
    return f"${amount.normalize():f}"
