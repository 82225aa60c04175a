"""Money as text: one formatter for the API and webhooks, one for people (pages and exports).

Costs are `Decimal` columns with 10 decimal places, so `str()` of a stored cost gives
"0.0012500000" or "0E-10"; nothing outside this module turns a cost into text by hand.
"""

from __future__ import annotations

from decimal import Decimal

# What a person is shown for a cost that is not known (usage of a model without a price):
# a stored cost of 0 there means "not priced", not "free".
PRICE_UNKNOWN = "price unknown"


def money_text(value: Decimal) -> str:
    """A plain decimal string without trailing zeros, as the API writes money: "0.00125"."""
    # Never "1.25E-3" or "0E-10": normalize() alone gives exponents, format "f" removes them.
    return format(value.normalize(), "f") if value else "0"


def money_number(value: Decimal) -> float:
    """Money as a JSON number for the exports (a JSON reader parses it as a double anyway)."""
    return float(value)


def money_display(value: Decimal | float | int, *, unpriced: str | bool = "") -> str:
    """Money for people, with precision that suits its size: $12.40, $0.0312, $0.000041.

    `unpriced` says how much of the cost has no known price: "all" (or True) shows "price
    unknown", "some" marks the figure as leaving part of the usage out.
    """
    if unpriced is True or unpriced == "all":
        return PRICE_UNKNOWN
    amount = Decimal(value)
    if amount == 0:
        text = "$0"
    elif abs(amount) >= 1:
        text = f"${amount:,.2f}"
    elif abs(amount) >= Decimal("0.01"):
        text = f"${amount:.4f}"
    else:
        text = f"${amount:.6f}"
    return f"{text} + unpriced" if unpriced == "some" else text
