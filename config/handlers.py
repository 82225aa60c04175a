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

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, MiddlewareNotUsed
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.module_loading import import_string

# The agents' API, the OTLP receivers and their Phoenix-compatible aliases; /api/docs is a page.
API_PREFIXES = ("/api/v1/", "/api/otel/", "/v1/traces", "/v1/metrics", "/v1/logs")

# Stands for a `/` that was sent encoded (`%2F`) inside one path segment. The WSGI server
# decodes `%2F` into PATH_INFO, so `/sessions/a%2Fb/events` would look like three segments;
# EncodedSlashMiddleware turns it back into `/` in the view's arguments. NUL is what no id may
# hold, and a path that also sends `%00` is left as it is (and refused), so on a request marked
# ENCODED_SLASH_KEY a NUL can only stand for an encoded slash.
ENCODED_SLASH = "\x00"
ENCODED_SLASH_KEY = "sessionscope.encoded_slashes"
# Stands for bytes of a path segment that are not UTF-8 (`%FF`, a truncated or overlong
# sequence, an encoded lone surrogate): ASCII's SUBSTITUTE, a control character no path id may
# hold (sessions_app/api/convert.py check_path_id refuses it as `invalid_text`). Without it
# Django would keep such bytes as the text `%FF` (and an ASGI server would make them U+FFFD),
# so two different ids would be read as one that a client may also send as it is.
NOT_UTF8 = "\x1a"
_NOT_UTF8_RUN = re.compile("[\udc80-\udcff]+")


def _segment_text(raw_segment: str) -> tuple[str, bool]:
    """A raw path segment percent-decoded, as PEP 3333 has PATH_INFO hold it (UTF-8 bytes as
    latin-1), each run of bytes that are not UTF-8 made one NOT_UTF8; and whether there was any."""
    try:
        # Servers pass the target's bytes as latin-1 (gunicorn, config/asgi.py).
        data = unquote_to_bytes(raw_segment.encode("latin-1"))
    except UnicodeEncodeError:
        data = unquote_to_bytes(raw_segment)
    marked = _marked_not_utf8(data)
    return (data.decode("latin-1"), False) if marked is None else (marked, True)


def _marked_not_utf8(data: bytes) -> str | None:
    """`data` as PATH_INFO holds it (UTF-8 bytes as latin-1) with each run of bytes that are
    not UTF-8 made one NOT_UTF8, or None when all of it is UTF-8."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        text = _NOT_UTF8_RUN.sub(NOT_UTF8, data.decode("utf-8", "surrogateescape"))
        return text.encode("utf-8").decode("latin-1")
    return None


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


def keep_encoded_slashes(environ: dict) -> None:
    """Rebuild PATH_INFO from the raw request target when it holds `%2F`, so a `/` sent encoded
    stays inside its segment (as ENCODED_SLASH) instead of splitting it, or bytes that are not
    UTF-8 (each run of them made NOT_UTF8, so a path id holding them is refused)."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
    if not raw:
        _mark_not_utf8(environ)
        return
    path = raw.split("?", 1)[0]
    lowered = path.lower()
    slashes = "%2f" in lowered and "%00" not in lowered
    if not slashes and path.isascii() and "%" not in path:
        return
    if not path.startswith("/"):
        path = urlsplit(path).path  # an absolute-form target: http://host/path
    segments = []
    not_utf8 = False
    for segment in path.split("/"):
        text, bad = _segment_text(segment)
        not_utf8 = not_utf8 or bad
        segments.append(text.replace("/", ENCODED_SLASH) if slashes else text)
    if not (slashes or not_utf8):
        return
    # Without `slashes` a `%2F` splits its segment, as the server decoded it.
    rebuilt = "/".join(segments)
    script_name = environ.get("SCRIPT_NAME", "")
    if script_name and rebuilt.startswith(script_name):
        rebuilt = rebuilt[len(script_name) :]
    environ["PATH_INFO"] = rebuilt
    if slashes:
        environ[ENCODED_SLASH_KEY] = True


def _mark_not_utf8(environ: dict) -> None:
    """Without the raw target (a server that does not pass it): PATH_INFO's own bytes that are
    not UTF-8 become NOT_UTF8."""
    path_info = environ.get("PATH_INFO", "")
    if path_info.isascii():
        return
    marked = _marked_not_utf8(path_info.encode("latin-1", "replace"))
    if marked is not None:
        environ["PATH_INFO"] = marked


class EncodedSlashMiddleware:
    """Give the view its path arguments with the `/` that was sent as `%2F` (see
    keep_encoded_slashes)."""

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable, view_args: tuple, view_kwargs: dict
    ) -> None:
        if request.META.get(ENCODED_SLASH_KEY):
            for name, value in view_kwargs.items():
                if isinstance(value, str):
                    view_kwargs[name] = value.replace(ENCODED_SLASH, "/")


class HeadAsGetMiddleware:
    """Answer HEAD on an API path as GET would, without the body.

    Load balancers and uptime checkers probe with HEAD (`HEAD /api/v1/health`), and Ninja routes
    only the methods an operation names, so HEAD was a 405 everywhere. As Django's class-based
    views do (`View.head` is `get`), the GET operation runs and the body is dropped here: the
    status and headers, Content-Length included, are GET's. Authentication and every other rule
    apply as for GET. A path without GET still answers 405 (JsonMethodNotAllowedMiddleware).
    """

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method != "HEAD":
            return self.get_response(request)
        request.method = "GET"
        try:
            response = self.get_response(request)
        finally:
            request.method = "HEAD"
        if response.streaming:
            # Not iterated: closing the response (the server does) closes its iterator.
            response.streaming_content = []
        else:
            if not response.has_header("Content-Length"):
                response["Content-Length"] = str(len(response.content))
            response.content = b""
        return response


def allowed_methods(allow: str) -> str:
    """An `Allow` header with HEAD added wherever GET is allowed (HeadAsGetMiddleware)."""
    methods = [m.strip() for m in allow.split(",") if m.strip()]
    if "GET" in methods and "HEAD" not in methods:
        methods.insert(methods.index("GET") + 1, "HEAD")
    return ", ".join(methods)


class JsonMethodNotAllowedMiddleware:
    """Answer a method an API path does not take as JSON, like every other API error.

    Ninja answers 405 with a plain-text body; the `Allow` header it sets is kept, with HEAD
    wherever GET is allowed.
    """

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code != 405 or response.get("Content-Type", "").startswith(
            "application/json"
        ):
            return response
        allowed = allowed_methods(response.get("Allow", ""))
        # The method as sent: HeadAsGetMiddleware, outside this one, turns a HEAD into a GET
        # until the answer comes back out of it.
        method = str(request.META.get("REQUEST_METHOD") or request.method).upper()
        detail = f"{method} is not allowed on {request.path} (allowed: {allowed})."
        answer = JsonResponse(
            {
                "detail": detail,
                "code": "method_not_allowed",
            },
            status=405,
        )
        answer["Allow"] = allowed
        return answer


def split_application(pages: WSGIHandler, api: WSGIHandler) -> Callable:
    """A WSGI application that sends API requests to `api` and the rest to `pages`."""

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        keep_encoded_slashes(environ)
        handler = api if is_api_path(environ.get("PATH_INFO", "")) else pages
        return handler(environ, start_response)

    return application
