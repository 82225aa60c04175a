"""Template filters of the cost pages."""

from __future__ import annotations

from decimal import Decimal

from django import template

from .dashboard import usd

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


@register.filter
def signed_usd(value: Decimal | None) -> str:
    """A difference in dollars with its sign in front: +$0.02, or a minus sign and $1.24."""
    if value is None:
        return ""
    amount = Decimal(value)
    text = usd(abs(amount))
    if amount > 0:
        return f"+{text}"
    return f"\u2212{text}" if amount < 0 else text  # a typographic minus
