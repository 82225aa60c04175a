"""Formatting helpers for the dashboard templates: durations, money, token counts, sort headers."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django import template
from django.template import Context
from django.utils.html import format_html

from sessions_app.money import PRICE_UNKNOWN, money_display

register = template.Library()
# Shown for a missing value (an en dash).
NONE = "\u2013"
_ALL_UNPRICED = (
    "None of this usage has a known price: add an override on the price table, then re-price."
)
_SOME_UNPRICED = "Part of this usage has no known price: the cost leaves it out."


@register.filter
def duration(value: timedelta | None) -> str:
    """A compact duration: 42s, 3m 20s, 5h 02m, 3d 4h."""
    if value is None:
        return NONE
    seconds = int(value.total_seconds())
    if seconds < 0:
        return NONE
    if seconds < 60:
        return f"{seconds}s"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


@register.filter
def ms(value: int | None) -> str:
    """A latency given in milliseconds, for reading: 250 ms, 2.8 s, 42 s, then as `duration`
    does (21m 17s, 5h 02m), to the nearest tenth or second."""
    if value is None:
        return NONE
    value = int(value)
    if value < 0:
        return NONE
    if value < 1000:
        return f"{value} ms"
    tenths = (value + 50) // 100
    if tenths < 100:
        return f"{tenths / 10:.1f} s"
    seconds = (value + 500) // 1000
    if seconds < 60:
        return f"{seconds} s"
    return duration(timedelta(seconds=seconds))


@register.filter
def usd(value: Decimal | float | None, unpriced: str | bool = "") -> str:
    """Money as shown everywhere on the pages: $12.40, $0.0312, $0.000041. With how much of
    the usage has no known price ("all", or a usage row's cost_source "unknown"; "some"), "price
    unknown" or the figure marked as leaving part out: a stored 0 there is not a true $0."""
    if value is None:
        return NONE
    if unpriced is True or unpriced in ("all", "unknown"):
        return format_html('<span class="muted" title="{}">{}</span>', _ALL_UNPRICED, PRICE_UNKNOWN)
    text = money_display(value)
    if unpriced == "some":
        return format_html(
            '{} <span class="muted" title="{}">+ unpriced</span>', text, _SOME_UNPRICED
        )
    return text


@register.filter
def compact(value: int | None) -> str:
    """A count as 950, 12.3k, 4.1M."""
    if value is None:
        return NONE
    value = int(value)
    if abs(value) < 1000:
        return str(value)
    if abs(value) < 1_000_000:
        return f"{value / 1000:.1f}k"
    return f"{value / 1_000_000:.1f}M"


@register.filter
def is_long(text: str | None, limit: int = 600) -> bool:
    """Whether text is long enough to start collapsed (characters or lines)."""
    if not text:
        return False
    return len(text) > limit or text.count("\n") > 12


@register.inclusion_tag("dashboard/_sort_header.html", takes_context=True)
def sort_header(
    context: Context, column: str, label: str, title: str = "", score: str = ""
) -> dict[str, Any]:
    """A sortable column header of the sessions list: descending first, then toggled. A score
    column (`score`: its name) also links to the filter on that score."""
    current = context["filters"].sort
    return {
        "label": label,
        "title": title,
        "score": score,
        "sort": column if current == f"-{column}" else f"-{column}",
        "active": current in (column, f"-{column}"),
        "arrow": {f"-{column}": "↓", column: "↑"}.get(current, ""),
    }


@register.filter
def pretty_json(value: Any) -> str:
    """JSON indented for reading (the template escapes it)."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str, sort_keys=True)


@register.simple_tag
def span(start: datetime | None, end: datetime | None) -> str:
    """The compact duration between two datetimes (a dash when either is missing)."""
    if start is None or end is None:
        return NONE
    return duration(end - start)


# The list renders 50 rows of several timestamps each: these are plain strftime calls, several
# times faster than the `date` and `timesince` filters (all times are UTC, TIME_ZONE = "UTC").
@register.filter
def iso(value: datetime | None) -> str:
    """ISO 8601, for datetime attributes and tooltips."""
    return value.isoformat(timespec="seconds") if value else ""


@register.filter
def scalar(value: Any) -> str:
    """A metadata value as text: strings as they are, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str, separators=(", ", ": "))


@register.filter
def clock(value: datetime | None, with_day: str = "") -> str:
    """13:56:07, or Nov 21 13:56:07 with any argument (strftime: cheap in long transcripts)."""
    if value is None:
        return NONE
    return value.strftime("%b %d %H:%M:%S" if with_day else "%H:%M:%S")
