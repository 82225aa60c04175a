"""The money formatters: decimal strings for the API, numbers for exports, text for people."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sessions_app.money import PRICE_UNKNOWN, money_display, money_number, money_text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("0E-10"), "0"),
        (Decimal("0.0012500000"), "0.00125"),
        (Decimal("1.2000000000"), "1.2"),
        (Decimal("12E+1"), "120"),
    ],
)
def test_money_text_is_plain_notation_without_trailing_zeros(value, text):
    assert money_text(value) == text


def test_money_number_is_a_float_of_the_same_value():
    assert money_number(Decimal("0.0012500000")) == 0.00125


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("0E-10"), "$0"),
        (Decimal("1234.5"), "$1,234.50"),
        (Decimal("0.0312000000"), "$0.0312"),
        (Decimal("0.0000410000"), "$0.000041"),
        # Halves round up, as people round them (format() alone gives $0.8492, $0.000040).
        (Decimal("0.8492500000"), "$0.8493"),
        (Decimal("0.0104500000"), "$0.0105"),
        (Decimal("0.0000405000"), "$0.000041"),
        (Decimal("2.0050000000"), "$2.01"),
        (Decimal("1234567.125"), "$1,234,567.13"),
    ],
)
def test_money_display_suits_the_size(value, text):
    assert money_display(value) == text


def test_money_display_of_unpriced_usage_is_price_unknown_or_marked():
    assert money_display(Decimal(0), unpriced="all") == PRICE_UNKNOWN
    assert money_display(Decimal(0), unpriced=True) == PRICE_UNKNOWN
    assert money_display(Decimal("0.5"), unpriced="some") == "$0.5000 + unpriced"
