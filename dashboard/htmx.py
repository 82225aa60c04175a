"""Choosing between a whole page and one of its partials (radiofeed's pattern).

An htmx request that targets a region gets only that `{% partialdef %}`; boosted and history
requests, and plain browser requests, get the whole page, so every URL works on its own.
"""

from __future__ import annotations

from typing import Any

from django.template.response import TemplateResponse

from .http import DashboardRequest


def htmx_target(request: DashboardRequest) -> str | None:
    """The id of the element an htmx request targets (None for whole-page requests)."""
    htmx = getattr(request, "htmx", None)
    if not htmx or htmx.boosted or htmx.history_restore_request:
        return None
    return htmx.target


def render_htmx(
    request: DashboardRequest,
    template: str,
    context: dict[str, Any],
    *,
    partials: tuple[str, ...] = (),
    status: int = 200,
) -> TemplateResponse:
    """Render `template`, or `template#<target>` when htmx targets one of `partials`."""
    target = htmx_target(request)
    if target is not None and target in partials:
        template = f"{template}#{target}"
    return TemplateResponse(request, template, context, status=status)
