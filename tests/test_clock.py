"""The `--clock` option's instants: each the first of its kind after the given day."""

from datetime import UTC, date, datetime

import pytest

from tests.conftest import clock_start


@pytest.mark.parametrize(
    ("name", "today", "expected"),
    [
        ("first-of-month", date(2026, 12, 2), datetime(2027, 1, 1, 0, 5, tzinfo=UTC)),
        ("first-of-month", date(2027, 1, 31), datetime(2027, 2, 1, 0, 5, tzinfo=UTC)),
        ("last-of-month", date(2026, 12, 2), datetime(2027, 1, 31, 23, 30, tzinfo=UTC)),
        ("last-of-month", date(2027, 1, 15), datetime(2027, 2, 28, 23, 30, tzinfo=UTC)),
        ("last-of-month", date(2028, 1, 10), datetime(2028, 2, 29, 23, 30, tzinfo=UTC)),
        ("leap-day", date(2026, 12, 2), datetime(2028, 2, 29, 12, 0, tzinfo=UTC)),
        ("leap-day", date(2028, 2, 29), datetime(2032, 2, 29, 12, 0, tzinfo=UTC)),
    ],
)
def test_each_clock_is_the_next_instant_of_its_kind(name, today, expected):
    assert clock_start(name, today) == expected
