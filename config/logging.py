"""Logging filters named in settings.LOGGING."""

from __future__ import annotations

import logging
from http import HTTPStatus


class ApiNotFoundAtInfo(logging.Filter):
    """Log a 404 answered under ``/api/`` at INFO, not Django's WARNING.

    For an API client a 404 is an ordinary answer: the OpenAI Agents adapter's first read of a new
    session, a poll for a summary not written yet. At WARNING those lines drown the ones an operator
    must see. Dashboard 404s (a mistyped page) stay warnings.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        path = getattr(request, "path", "")
        if getattr(record, "status_code", None) == 404 and path.startswith("/api/"):
            record.levelno = logging.INFO
            record.levelname = logging.getLevelName(logging.INFO)
            return logging.getLogger(record.name).isEnabledFor(logging.INFO)
        return True


# Where an API error handler (config/api.py) leaves the reason of a 4xx for ClientErrorOneLine.
CLIENT_ERROR_KEY = "sessionscope.client_error"
# A reason is the client's own text in part (an id, a header): one line, and not a page of it.
MAX_REASON = 300


def _one_line(text: str, limit: int = MAX_REASON) -> str:
    """`text` on one line: control characters escaped (a client's `%0A` cannot forge a log
    line), cut at `limit` characters."""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class ClientErrorOneLine(logging.Filter):
    """Log a client error (a 4xx) as one line, `METHOD path status reason`, with no traceback.

    Django logs some client errors with the exception that made them, so a malformed request
    (Django's BadRequest, a disallowed Host, an unparsable upload, a PermissionDenied) wrote a
    whole traceback, at WARNING, or at ERROR under `django.security.*`: a page of log for a
    mistake of the client's, about which the traceback says nothing. The level is kept; the
    reason is the exception's message, or the code and detail the API answered with, or the
    status's phrase. Server errors (5xx) keep their traceback.

    On the `django.request` logger, and on the console handler, since a logger's filter never
    sees its children's records (`django.security.DisallowedHost`).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        request = getattr(record, "request", None)
        if (
            not isinstance(status, int)
            or not 400 <= status < 500
            or not hasattr(request, "META")  # django.server's records hold a socket
            or getattr(record, "one_line", False)
        ):
            return True
        exc = record.exc_info[1] if record.exc_info else None
        meta = getattr(request, "META", {})
        reason = (str(exc) if exc is not None else "") or meta.get(CLIENT_ERROR_KEY, "")
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Client Error"
        # As sent: the API answers HEAD as GET (config.handlers.HeadAsGetMiddleware).
        method = meta.get("REQUEST_METHOD") or getattr(request, "method", None) or "-"
        record.msg = "%s %s %s %s%s"
        record.args = (
            _one_line(str(method), 20),
            _one_line(getattr(request, "path", ""), 1000),
            status,
            phrase,
            f": {_one_line(str(reason))}" if reason else "",
        )
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        record.one_line = True
        return True
