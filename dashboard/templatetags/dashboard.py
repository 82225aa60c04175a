"""Formatting helpers for the dashboard templates: durations, money, token counts, query strings."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django import template
from django.http import HttpRequest
from django.utils import timezone

register = template.Library()
# Shown for a missing value (an en dash).
NONE = "\u2013"


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
def usd(value: Decimal | float | None) -> str:
    """Money with precision that suits its size: $12.40, $0.0312, $0.000041."""
    if value is None:
        return NONE
    amount = Decimal(value)
    if amount == 0:
        return "$0"
    if abs(amount) >= 1:
        return f"${amount:,.2f}"
    if abs(amount) >= Decimal("0.01"):
        return f"${amount:.4f}"
    return f"${amount:.6f}"


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


@register.simple_tag(takes_context=True)
def query(context: dict[str, Any], **changes: Any) -> str:
    """The current query string with some parameters replaced (None or "" removes them)."""
    request: HttpRequest = context["request"]
    params = request.GET.copy()
    for name, value in changes.items():
        name = {"from_": "from", "to_": "to"}.get(name, name)
        if value is None or value == "":
            params.pop(name, None)
        else:
            params[name] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.filter
def is_long(text: str | None, limit: int = 600) -> bool:
    """Whether text is long enough to start collapsed (characters or lines)."""
    return bool(text) and (len(text) > limit or text.count("\n") > 12)


@register.simple_tag
def sort_link(current: str, column: str) -> str:
    """The sort value a column header links to: descending first, then toggled."""
    return column if current == f"-{column}" else f"-{column}"


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
def short_dt(value: datetime | None) -> str:
    """Nov 21, 13:56."""
    return value.strftime("%b %d, %H:%M") if value else NONE


@register.filter
def ago(value: datetime | None) -> str:
    """How long ago, compactly: 42s ago, 3m ago, 5h ago, 12d ago."""
    if value is None:
        return NONE
    seconds = int((timezone.now() - value).total_seconds())
    if seconds < 0:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


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
