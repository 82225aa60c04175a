"""The costs page's SVG geometry: bars to scale, stacked in order, every bar a link."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

from dashboard import charts


def test_stacked_bars_are_to_scale_and_stack_without_gaps():
    days = [date(2026, 3, 1), date(2026, 3, 2)]
    values = {
        (days[0], "a"): Decimal("3"),
        (days[0], "b"): Decimal("1"),
        (days[1], "a"): Decimal("2"),
    }
    chart = charts.stacked_bars(
        label="Cost",
        xs=days,
        series=["a", "b"],
        values=values,
        x_label=lambda d: d.isoformat(),
        href=lambda d, s: f"/sessions/?day={d}&model={s}",
    )
    first_a, first_b, second_a = chart.bars
    plot_height = chart.baseline - charts.TOP
    # The axis tops out at 5 (a round number above 4): 3 of 5 is 60 % of the plot height.
    assert chart.y_ticks[-1].label == "$5.00"
    assert abs(first_a.height - plot_height * 0.6) < 0.01
    assert abs(first_a.y + first_a.height - chart.baseline) < 0.01
    assert abs(first_b.y + first_b.height - first_a.y) < 0.01  # b sits right on top of a
    assert second_a.href == "/sessions/?day=2026-03-02&model=a"
    assert first_a.fill != first_b.fill
    assert chart.legend == [("a", first_a.fill), ("b", first_b.fill)]


def test_an_empty_range_draws_no_chart():
    chart = charts.stacked_bars(
        label="Cost", xs=[], series=[], values={}, x_label=str, href=lambda d, s: ""
    )
    assert chart.empty


def test_histogram_bars_count_sessions_and_skip_empty_buckets():
    buckets = [
        SimpleNamespace(label="< $1", sessions=4, href="/a"),
        SimpleNamespace(label="$1 to $10", sessions=0, href="/b"),
        SimpleNamespace(label="≥ $10", sessions=2, href="/c"),
    ]
    chart = charts.histogram(label="Sessions", buckets=buckets, href=lambda b: b.href)
    assert [b.href for b in chart.bars] == ["/a", "/c"]
    assert abs(chart.bars[1].height * 2 - chart.bars[0].height) < 0.01
    assert [t.label for t in chart.x_ticks] == ["< $1", "$1 to $10", "≥ $10"]


def test_a_bar_tooltip_shows_money_as_the_pages_do_never_in_scientific_notation():
    day = date(2026, 3, 1)
    chart = charts.stacked_bars(
        label="Cost",
        xs=[day],
        series=["big", "tiny"],
        values={(day, "big"): Decimal("1234.5"), (day, "tiny"): Decimal("0.0000410000")},
        x_label=lambda d: d.isoformat(),
        href=lambda d, s: "",
    )
    assert [bar.title for bar in chart.bars] == [
        "2026-03-01 · big: $1,234.50",
        "2026-03-01 · tiny: $0.000041",
    ]
