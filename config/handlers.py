"""Two middleware chains in one process: the pages' (settings.MIDDLEWARE) and the API's
(settings.API_MIDDLEWARE).

Agents call the API with a key, not with a browser session. The middleware that exists for pages
(static files, sessions, CSRF, messages, htmx) only costs them time: about a tenth of a
single-event POST's Python (bench/ingest.py). `application` sends API requests to a handler built
with the API's chain and everything else, the interactive API docs included, to Django's own.
The API's chain keeps the response headers every page gets (security, framing, CSP).

Django's `BaseHandler.load_middleware` only reads settings.MIDDLEWARE, so the API's handler builds
its chain itself from the list it is given; settings are never changed while serving. The chain
is synchronous (the WSGI server is), which keeps this shorter than Django's general version.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, MiddlewareNotUsed
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.utils.module_loading import import_string

# The agents' API, the OTLP receiver and its Phoenix-compatible alias; /api/docs is a page.
API_PREFIXES = ("/api/v1/", "/api/otel/", "/v1/traces")


def is_api_path(path_info: str) -> bool:
    """Whether a request is served by the API's middleware chain."""
    return path_info.startswith(API_PREFIXES)


class ApiMiddlewareMixin:
    """A Django handler whose middleware chain is settings.API_MIDDLEWARE."""

    _view_middleware: list[Callable[..., Any]]
    _template_response_middleware: list[Callable[..., Any]]
    _exception_middleware: list[Callable[..., Any]]
    _middleware_chain: Callable[..., Any] | None
    _get_response: Callable[..., Any]

    def middleware_paths(self) -> Sequence[str]:
        return settings.API_MIDDLEWARE

    def load_middleware(self, is_async: bool = False) -> None:
        if is_async:
            raise ImproperlyConfigured("The API's middleware chain is synchronous (WSGI).")
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        handler = convert_exception_to_response(self._get_response)
        for path in reversed(self.middleware_paths()):
            try:
                instance = import_string(path)(handler)
            except MiddlewareNotUsed:
                continue
            if instance is None:
                raise ImproperlyConfigured(f"Middleware factory {path} returned None.")
            # The same order Django keeps: view hooks outermost first, the others innermost first.
            if hasattr(instance, "process_view"):
                self._view_middleware.insert(0, instance.process_view)
            if hasattr(instance, "process_template_response"):
                self._template_response_middleware.append(instance.process_template_response)
            if hasattr(instance, "process_exception"):
                self._exception_middleware.append(instance.process_exception)
            handler = convert_exception_to_response(instance)
        self._middleware_chain = handler


class ApiWSGIHandler(ApiMiddlewareMixin, WSGIHandler):
    """Django's WSGI handler with the API's middleware chain."""


def split_application(pages: WSGIHandler, api: WSGIHandler) -> Callable:
    """A WSGI application that sends API requests to `api` and the rest to `pages`."""

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        handler = api if is_api_path(environ.get("PATH_INFO", "")) else pages
        return handler(environ, start_response)

    return application
