"""Request body limits, enforced while parsing JSON, before any schema or service runs.

Ninja wraps a parser's exception in a 400 `HttpError` whose `__cause__` is ours; config/api.py
unwraps a `DomainError` cause so a client sees 413 or 422 with the field named.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja.parser import Parser

from ..errors import InvalidInput, PayloadTooLarge
from ..storable import SUSPECT_ESCAPE_BYTES, text_problem

_CONTAINERS = (dict, list)


class _NonFinite:
    """Stands where the body held a number too large for a float (`1e400`): json.loads would
    make it infinity, which no JSON column stores as sent."""


_NON_FINITE = _NonFinite()


# Python reads integers of up to 4,300 digits from text (sys.get_int_max_str_digits()); a longer
# one is refused with a clear reason rather than the interpreter's message.
MAX_INT_DIGITS = sys.get_int_max_str_digits()


def _reject_constant(name: str) -> Any:
    raise InvalidInput(f"{name} is not valid JSON (use null or a string).", field="body")


def _too_deep(value: Any, depth: int, limit: int) -> bool:
    """True when containers nest deeper than `limit` (the top-level object is depth 1)."""
    if depth > limit:
        return True
    children = value.values() if isinstance(value, dict) else value
    return any(
        isinstance(child, _CONTAINERS) and _too_deep(child, depth + 1, limit) for child in children
    )


def _path_of_deep(value: Any, limit: int) -> str:
    """The dotted path of the first container nested past the limit, for the error's field."""
    stack: list[tuple[Any, int, tuple]] = [(value, 1, ())]
    while stack:
        node, depth, path = stack.pop()
        if depth > limit:
            return ".".join(str(p) for p in path) or "body"
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in items:
            if isinstance(child, _CONTAINERS):
                stack.append((child, depth + 1, (*path, key)))
    return "body"


def _check_strings(value: Any) -> None:
    """Reject NUL characters and lone surrogates in any key or string, naming where."""
    stack: list[tuple[Any, tuple]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            reason = text_problem(node)
            if reason:
                field = ".".join(str(p) for p in path) or "body"
                raise InvalidInput(f"{field} {reason}.", code="invalid_text", field=field)
        elif isinstance(node, dict):
            for key, child in node.items():
                reason = text_problem(key)
                if reason:
                    field = ".".join(str(p) for p in (*path, key))
                    raise InvalidInput(f"Key {field} {reason}.", code="invalid_text", field=field)
                stack.append((child, (*path, key)))
        elif isinstance(node, list):
            stack.extend((child, (*path, i)) for i, child in enumerate(node))


def _path_of(value: Any, wanted: Any) -> str:
    """The dotted path of the first value that is `wanted` (by identity), for the error's field."""
    stack: list[tuple[Any, tuple]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        if node is wanted:
            return ".".join(str(p) for p in path) or "body"
        if isinstance(node, dict):
            stack.extend((child, (*path, key)) for key, child in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend((child, (*path, i)) for i, child in reversed(list(enumerate(node))))
    return "body"


def _decode(body: bytes) -> str:
    """The body as text: strict UTF-8 (a leading byte-order mark allowed).

    json.loads would guess UTF-16 or UTF-32 from the first bytes and let encoded surrogates
    through ("surrogatepass"); the API takes UTF-8 only, and text it can store.
    """
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        try:
            text = body.decode("utf-8-sig", "surrogatepass")
        except UnicodeDecodeError:
            raise InvalidInput(
                "The body is not valid UTF-8.", code="invalid_text", field="body"
            ) from exc
        # Only encoded surrogates were wrong: parse to name the field that holds one.
        try:
            data = json.loads(text, parse_constant=_reject_constant)
        except ValueError:
            raise InvalidInput(
                "The body is not valid UTF-8.", code="invalid_text", field="body"
            ) from exc
        _check_strings(data)
        raise InvalidInput(
            "The body is not valid UTF-8.", code="invalid_text", field="body"
        ) from exc


def parse_limited_json(body: bytes) -> Any:
    """Parse a request body as JSON within the configured size and depth, with clean text."""
    max_bytes = settings.INGEST_MAX_BODY_BYTES
    if len(body) > max_bytes:
        raise PayloadTooLarge(f"The body is larger than {max_bytes} bytes.", field="body")
    limit = settings.INGEST_MAX_JSON_DEPTH
    text = _decode(body)
    overflowed: list[bool] = []

    def parse_float(number: str) -> float | _NonFinite:
        value = float(number)
        if math.isfinite(value):
            return value
        overflowed.append(True)
        return _NON_FINITE

    try:
        data = json.loads(text, parse_constant=_reject_constant, parse_float=parse_float)
    except RecursionError as exc:
        raise InvalidInput(
            f"JSON nesting is deeper than {limit} levels.", code="too_deep", field="body"
        ) from exc
    except ValueError as exc:
        if "int_max_str_digits" in str(exc):  # the interpreter's advice is not for clients
            raise InvalidInput(
                f"An integer has more than {MAX_INT_DIGITS} digits.",
                code="invalid_number",
                field="body",
            ) from exc
        raise InvalidInput(
            f"The body is not valid JSON: {exc}.", code="invalid_json", field="body"
        ) from exc
    # Counting brackets bounds the depth from above, so most bodies skip the walk.
    if (
        isinstance(data, _CONTAINERS)
        and body.count(b"{") + body.count(b"[") > limit
        and _too_deep(data, 1, limit)
    ):
        field = _path_of_deep(data, limit)
        raise InvalidInput(
            f"JSON nesting is deeper than {limit} levels at {field}.", code="too_deep", field=field
        )
    if SUSPECT_ESCAPE_BYTES.search(body):
        _check_strings(data)
    if overflowed:
        field = _path_of(data, _NON_FINITE)
        raise InvalidInput(
            f"{field} is a number too large to store (over about 1.8e308).",
            code="invalid_number",
            field=field,
        )
    return data


class LimitedJSONParser(Parser):
    """Ninja's JSON parser with the ingest limits (docs/api.md, "Limits")."""

    def parse_body(self, request: HttpRequest) -> Any:
        max_bytes = settings.INGEST_MAX_BODY_BYTES
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > max_bytes:
            raise PayloadTooLarge(f"The body is larger than {max_bytes} bytes.", field="body")
        try:
            body = request.body
        except RequestDataTooBig as exc:
            raise PayloadTooLarge(
                f"The body is larger than {max_bytes} bytes.", field="body"
            ) from exc
        return parse_limited_json(body)


# The OTLP receiver's paths (config/urls.py): /api/otel/v1/{traces,metrics,logs} and /v1/....
OTLP_PATH_PREFIXES = ("/api/otel/", "/v1/")


class BodySizeMiddleware:
    """Refuse a declared body over the limit with the documented JSON 413, before anything
    reads it.

    Ninja reads the body before its parser runs, so a body over DATA_UPLOAD_MAX_MEMORY_SIZE got
    Django's HTML 400 instead of the parser's 413.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(OTLP_PATH_PREFIXES):
            # The OTLP receiver applies OTLP_MAX_BODY_BYTES itself, before reading the body, and
            # answers in OTLP's error shape: the ingest limit must not cap it.
            return self.get_response(request)
        max_bytes = settings.INGEST_MAX_BODY_BYTES
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > max_bytes:
            return JsonResponse(
                {
                    "detail": f"The body is larger than {max_bytes} bytes.",
                    "code": "payload_too_large",
                    "field": "body",
                },
                status=413,
            )
        return self.get_response(request)
