"""One date-time format everywhere, with its zone: `2026-12-02 06:52:04 UTC`.

The server writes UTC. A reader who prefers the browser's zone gets the same <time> elements
rewritten by static/js/times.js from their `datetime` attribute, so the HTML stays cacheable and
the server never guesses a zone. Relative times ("5m ago") carry the absolute one on hover.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

FORMAT = "%Y-%m-%d %H:%M:%S"
NONE = "\u2013"  # an en dash


def absolute(value: datetime) -> str:
    """2026-12-02 06:52:04 UTC."""
    return value.astimezone(UTC).strftime(FORMAT) + " UTC"


def relative(value: datetime, now: datetime | None = None) -> str:
    """How long ago, compactly: 42s ago, 3m ago, 5h ago, 12d ago (just now for the future)."""
    seconds = int(((now or timezone.now()) - value).total_seconds())
    if seconds < 0:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@register.simple_tag
def dt(value: datetime | None) -> SafeString | str:
    """An absolute time in the one format, zone shown; localised in the browser on request."""
    if value is None:
        return NONE
    return format_html(
        '<time class="dt" datetime="{}" data-dt>{}</time>', _iso(value), absolute(value)
    )


@register.simple_tag
def rel(value: datetime | None) -> SafeString | str:
    """A relative time ("5m ago") with the absolute one, zone shown, on hover."""
    if value is None:
        return NONE
    text = absolute(value)
    return format_html(
        '<time class="dt rel" datetime="{}" title="{}" data-rel>{}</time>',
        _iso(value),
        text,
        relative(value),
    )
