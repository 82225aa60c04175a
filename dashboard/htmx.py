"""Choosing between a whole page and one of its partials (radiofeed's pattern).

An htmx request that targets a region gets only that `{% partialdef %}`; boosted and history
requests, and plain browser requests, get the whole page, so every URL works on its own.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse


def render_htmx(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    partials: tuple[str, ...] = (),
    status: int = 200,
) -> HttpResponse:
    """Render `template`, or `template#<target>` when htmx targets one of `partials`."""
    target = request.htmx.target if getattr(request, "htmx", None) else None
    if (
        request.htmx
        and not request.htmx.boosted
        and not request.htmx.history_restore_request
        and (target in partials)
    ):
        template = f"{template}#{target}"
    return TemplateResponse(request, template, context, status=status)
