"""Logging filters named in settings.LOGGING."""

from __future__ import annotations

import logging


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
