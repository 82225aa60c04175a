"""The OTLP/HTTP receivers: `POST /api/otel/v1/traces` (and `/v1/traces`), and the metrics and
logs paths next to it, whose exports are answered but not kept (other_signals.py).

As the OTLP/HTTP specification asks: protobuf or JSON bodies, gzip, the signal's export response
in the request's encoding with `partial_success` for what was not used, 400 for a body that is
not OTLP, 401 without a valid key, 413 over the size limit, and for traces 429 or 503 with
`Retry-After` when it cannot take more now (exporters retry those).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ..models import ApiKey
from ..services.projects import api_key_authenticate
from .decode import BadBody, TooLarge, decode, inflate, response_body
from .other_signals import LOGS, METRICS
from .service import otel_spans_store

logger = logging.getLogger(__name__)

# Requests being decoded and stored by this process; past the limit the exporter is told to
# come back (429) instead of queueing on the database's locks.
_slots = threading.BoundedSemaphore(max(settings.OTLP_MAX_CONCURRENT, 1))


def _error(status: int, message: str, retry_after: int | None = None) -> HttpResponse:
    """A failure answer: OTLP wants a google.rpc.Status; JSON is what every exporter logs."""
    response = HttpResponse(
        json.dumps({"code": status, "message": message}),
        status=status,
        content_type="application/json",
    )
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def _key(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.headers.get("X-API-Key", "").strip()


def _receive(
    request: HttpRequest,
    answer: Callable[[ApiKey, bytes, str], tuple[bytes, str]],
    *,
    slots: threading.BoundedSemaphore | None = None,
) -> HttpResponse:
    """What every signal's receiver does around `answer(api_key, body, content_type)`, which
    reads the inflated body and returns the response's body and content type: the key, the size
    limit, a slot from `slots` if given, the decoding, and each failure's status."""
    try:
        api_key = api_key_authenticate(_key(request))
    except OperationalError:
        logger.warning("OTLP export deferred: database unavailable", exc_info=True)
        return _error(503, "The database is unavailable; retry later.", retry_after=5)
    if api_key is None:
        return _error(401, "A valid API key is required (Authorization: Bearer <key>).")
    limit = settings.OTLP_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return _error(413, f"The body is larger than {limit} bytes.")
    if slots is not None and not slots.acquire(blocking=False):
        return _error(429, "Too many exports at once; retry later.", retry_after=1)
    try:
        content_type = request.content_type or ""
        body = inflate(request.body, request.headers.get("Content-Encoding", ""), limit)
        payload, kind = answer(api_key, body, content_type)
    except (TooLarge, RequestDataTooBig) as exc:
        return _error(413, str(exc) or f"The body is larger than {limit} bytes.")
    except BadBody as exc:
        return _error(400, str(exc))
    except OperationalError:
        # The database is unreachable or overloaded right now: the exporter keeps the spans.
        logger.warning("OTLP export deferred: database unavailable", exc_info=True)
        return _error(503, "The database is unavailable; retry later.", retry_after=5)
    finally:
        if slots is not None:
            slots.release()
    return HttpResponse(payload, status=200, content_type=kind)


def _store_spans(api_key: ApiKey, body: bytes, content_type: str) -> tuple[bytes, str]:
    spans, unreadable = decode(body, content_type)
    outcome = otel_spans_store(project=api_key.project, spans=spans)
    rejected = outcome.rejected + len(unreadable)
    message = "; ".join(filter(None, [outcome.message, *sorted(set(unreadable))[:3]]))[:1000]
    return response_body(content_type, rejected, message)


@csrf_exempt
@require_POST
def traces(request: HttpRequest) -> HttpResponse:
    """Receive an OTLP trace export and store its GenAI spans as sessions and events."""
    return _receive(request, _store_spans, slots=_slots)


# Metrics and logs take no slot: they are counted, never stored, so they cannot queue on the
# database's locks (the slots' reason) nor take a slot an export of spans needs.


@csrf_exempt
@require_POST
def metrics(request: HttpRequest) -> HttpResponse:
    """Answer an OTLP metrics export with every data point rejected: only traces are kept."""
    return _receive(request, lambda api_key, body, content_type: METRICS.answer(body, content_type))


@csrf_exempt
@require_POST
def logs(request: HttpRequest) -> HttpResponse:
    """Answer an OTLP logs export with every log record rejected: only traces are kept."""
    return _receive(request, lambda api_key, body, content_type: LOGS.answer(body, content_type))
