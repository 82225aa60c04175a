"""Two middleware chains in one process: the pages' (settings.MIDDLEWARE) and the API's
(settings.API_MIDDLEWARE).

Agents call /api/v1/ with an API key, not with a browser session. The middleware that exists for
pages (static files, sessions, CSRF, messages, htmx) only costs them time: about a tenth of a
single-event POST's Python (bench/ingest.py). `application` sends /api/v1/ requests to a handler
built with the API's chain and everything else, the interactive API docs included, to Django's
own. The API's chain keeps the response headers every page gets (security, framing, CSP).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

API_PREFIX = "/api/v1/"
# The OTLP receiver is an agents' endpoint too (sessions_app/otel/receiver.py).
API_PREFIXES = (API_PREFIX, "/api/otel/", "/v1/traces")

_loading = threading.Lock()


def is_api_path(path_info: str) -> bool:
    return path_info.startswith(API_PREFIXES)


class ApiMiddlewareMixin:
    """A Django handler whose middleware chain is settings.API_MIDDLEWARE.

    Django's `load_middleware` reads settings.MIDDLEWARE; the list is swapped for the time it
    takes to build the chain (once per handler, under a lock) and then restored.
    """

    def load_middleware(self, is_async: bool = False) -> None:
        with _loading:
            pages = settings.MIDDLEWARE
            settings.MIDDLEWARE = settings.API_MIDDLEWARE
            try:
                super().load_middleware(is_async)  # type: ignore[misc]
            finally:
                settings.MIDDLEWARE = pages


class ApiWSGIHandler(ApiMiddlewareMixin, WSGIHandler):
    """Django's WSGI handler with the API's middleware chain."""


def split_application(pages: WSGIHandler, api: WSGIHandler) -> Callable:
    """A WSGI application that sends /api/v1/ requests to `api` and the rest to `pages`."""

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        handler = api if is_api_path(environ.get("PATH_INFO", "")) else pages
        return handler(environ, start_response)

    return application
