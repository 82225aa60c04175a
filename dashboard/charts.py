"""Server-side SVG charts for the costs page: geometry computed here, markup in the template.

No JavaScript and no inline styles (the Content-Security-Policy forbids them): the template
draws these shapes with SVG presentation attributes, every bar is a link to the sessions it
stands for, and each chart sits next to a table with the same figures.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sessions_app.money import money_display

# Colour-blind-friendly (Okabe-Ito order, then greys) series colours.
PALETTE = (
    "#0072b2",
    "#e69f00",
    "#009e73",
    "#cc79a7",
    "#56b4e9",
    "#d55e00",
    "#f0e442",
    "#999999",
)
WIDTH, HEIGHT = 760, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 10, 34


@dataclass(frozen=True)
class Bar:
    """One rectangle (a series' share of one x value) with its tooltip and drill-down link."""

    x: float
    y: float
    width: float
    height: float
    fill: str
    title: str
    href: str


@dataclass(frozen=True)
class Tick:
    """An axis label at a position."""

    at: float
    label: str


@dataclass
class Chart:
    """A bar chart (stacked or plain) ready to draw."""

    label: str
    width: int = WIDTH
    height: int = HEIGHT
    bars: list[Bar] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)

    @property
    def plot_left(self) -> int:
        return LEFT

    @property
    def plot_right(self) -> int:
        return self.width - RIGHT

    @property
    def baseline(self) -> int:
        return self.height - BOTTOM

    @property
    def empty(self) -> bool:
        return not self.bars


def _nice_max(value: Decimal) -> Decimal:
    """A round axis maximum at or above `value` (1, 2 or 5 times a power of ten)."""
    if value <= 0:
        return Decimal(1)
    exponent = value.adjusted()
    for step in (1, 2, 5, 10):
        candidate = Decimal(step).scaleb(exponent)
        if candidate >= value:
            return candidate
    return Decimal(10).scaleb(exponent)


def money(value: Decimal) -> str:
    """A short dollar figure for an axis tick (a figure shown for itself uses money_display)."""
    if value == 0:
        return "$0"
    if abs(value) >= 100:
        return f"${value:,.0f}"
    if abs(value) >= 1:
        return f"${value:,.2f}"
    return f"${value:.4g}"


def _y_ticks(top: Decimal, height: int) -> list[Tick]:
    plot = height - TOP - BOTTOM
    return [
        Tick(at=height - BOTTOM - plot * i / 4, label=money(top * Decimal(i) / 4)) for i in range(5)
    ]


def stacked_bars(
    *,
    label: str,
    xs: Sequence[Any],
    series: Sequence[str],
    values: dict[tuple[Any, str], Decimal],
    x_label: Callable[[Any], str],
    href: Callable[[Any, str], str],
    series_label: Callable[[str], str] = str,
) -> Chart:
    """Bars per x value, each stacked by series (largest series at the bottom)."""
    chart = Chart(label=label)
    if not xs:
        return chart
    totals = [sum((values.get((x, s), Decimal(0)) for s in series), Decimal(0)) for x in xs]
    top = _nice_max(max(totals))
    plot_w = chart.plot_right - chart.plot_left
    plot_h = chart.baseline - TOP
    slot = plot_w / len(xs)
    bar_w = max(slot * 0.72, 1.0)
    colours = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(series)}
    for i, x in enumerate(xs):
        left = chart.plot_left + i * slot + (slot - bar_w) / 2
        bottom = float(chart.baseline)
        for s in series:
            value = values.get((x, s), Decimal(0))
            if value <= 0:
                continue
            h = float(value / top) * plot_h
            bottom -= h
            chart.bars.append(
                Bar(
                    x=round(left, 2),
                    y=round(bottom, 2),
                    width=round(bar_w, 2),
                    height=round(max(h, 0.5), 2),
                    fill=colours[s],
                    title=f"{x_label(x)} · {series_label(s)}: {money_display(value)}",
                    href=href(x, s),
                )
            )
    every = max(1, len(xs) // 10)
    chart.x_ticks = [
        Tick(at=round(chart.plot_left + (i + 0.5) * slot, 2), label=x_label(x))
        for i, x in enumerate(xs)
        if i % every == 0
    ]
    chart.y_ticks = _y_ticks(top, chart.height)
    chart.legend = [(series_label(s), colours[s]) for s in series]
    return chart


def histogram(
    *, label: str, buckets: Sequence[Any], href: Callable[[Any], str], colour: str = PALETTE[0]
) -> Chart:
    """One bar per bucket (`.label`, `.sessions`): how many sessions fall in each."""
    chart = Chart(label=label, height=200)
    if not any(b.sessions for b in buckets):
        return chart
    top = max(b.sessions for b in buckets)
    plot_w = chart.plot_right - chart.plot_left
    plot_h = chart.baseline - TOP
    slot = plot_w / len(buckets)
    bar_w = slot * 0.8
    for i, b in enumerate(buckets):
        if not b.sessions:
            continue
        h = b.sessions / top * plot_h
        chart.bars.append(
            Bar(
                x=round(chart.plot_left + i * slot + (slot - bar_w) / 2, 2),
                y=round(chart.baseline - h, 2),
                width=round(bar_w, 2),
                height=round(h, 2),
                fill=colour,
                title=f"{b.label}: {b.sessions} sessions",
                href=href(b),
            )
        )
    chart.x_ticks = [
        Tick(at=round(chart.plot_left + (i + 0.5) * slot, 2), label=b.label)
        for i, b in enumerate(buckets)
    ]
    plot = chart.height - TOP - BOTTOM
    chart.y_ticks = [
        Tick(at=chart.height - BOTTOM - plot * i / 4, label=f"{top * i / 4:g}") for i in range(5)
    ]
    return chart
