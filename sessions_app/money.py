"""Money as text: one formatter for the API and webhooks, one for people (pages and exports).

Costs are `Decimal` columns with 10 decimal places, so `str()` of a stored cost gives
"0.0012500000" or "0E-10"; nothing outside this module turns a cost into text by hand.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# What a person is shown for a cost that is not known (usage of a model without a price):
# a stored cost of 0 there means "not priced", not "free".
PRICE_UNKNOWN = "price unknown"

# What a cost column holds: numeric(20, 10), so under 10^10 USD, to 10 decimal places.
COST_PLACES = Decimal("1e-10")
MAX_COST = Decimal(10) ** 10


def cost_rounded(value: Decimal) -> Decimal:
    """A cost at the 10 decimal places it is stored with (half to even, as the database and the
    price table's arithmetic round), so what is summed in memory is what is stored."""
    return value.quantize(COST_PLACES)


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
    # Rounded half up, as people round (0.84925 -> $0.8493); `format` alone rounds half to even.
    if amount == 0:
        text = "$0"
    elif abs(amount) >= 1:
        text = f"${amount.quantize(Decimal('0.01'), ROUND_HALF_UP):,.2f}"
    elif abs(amount) >= Decimal("0.01"):
        text = f"${amount.quantize(Decimal('0.0001'), ROUND_HALF_UP):.4f}"
    else:
        text = f"${amount.quantize(Decimal('0.000001'), ROUND_HALF_UP):.6f}"
    return f"{text} + unpriced" if unpriced == "some" else text
