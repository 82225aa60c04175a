"""The NinjaAPI instance, mounted at /api/: operations under /api/v1/, docs at /api/docs.

Domain errors and validation errors are mapped here, once, to `{"detail": ..., "code": ...}`.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from config.logging import CLIENT_ERROR_KEY
from sessions_app.api import branches, events, health, ingest, runs, sessions
from sessions_app.api import prompts as prompts_api
from sessions_app.api import review as review_api
from sessions_app.api import summaries as summaries_api
from sessions_app.api import usage as usage_api
from sessions_app.api.auth import api_key_auth
from sessions_app.api.limits import LimitedJSONParser
from sessions_app.errors import DomainError, RateLimited

api = NinjaAPI(
    title="Sessionscope API",
    version="1",
    description=(
        "Agents post what happens in their conversations; see docs/api.md for limits and errors."
    ),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
    auth=api_key_auth,
    parser=LimitedJSONParser(),
)


def _log_reason(request: HttpRequest, code: str, field: str | None, detail: str) -> None:
    """What the log's line for this answer says after its status (config.logging)."""
    where = f" ({field})" if field else ""
    request.META[CLIENT_ERROR_KEY] = f"{code}{where}: {detail}"


@api.exception_handler(DomainError)
def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    body = {"detail": exc.detail, "code": exc.code}
    if exc.field:
        body["field"] = exc.field
    _log_reason(request, exc.code, exc.field, exc.detail)
    response = api.create_response(request, body, status=exc.status)
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


_LOCATIONS = {"body", "query", "path", "header", "cookie", "form", "file"}


def _field_of(loc: tuple) -> str:
    """The field a client sent, without Ninja's location and body parameter name."""
    parts = list(loc)
    if parts and parts[0] in _LOCATIONS:
        parts = parts[1:]
    if parts and parts[0] == "payload":
        parts = parts[1:]
    return ".".join(str(part) for part in parts) or "body"


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {
            "field": _field_of(tuple(err.get("loc", ()))),
            "msg": err.get("msg", ""),
            "type": err.get("type", ""),
        }
        for err in exc.errors
    ]
    first = errors[0] if errors else {"field": "body", "msg": ""}
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    _log_reason(request, "validation_error", first["field"], f"{first['msg']}{more}")
    return api.create_response(request, {"detail": errors, "code": "validation_error"}, status=422)


@api.exception_handler(AuthenticationError)
def unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(
        request,
        {
            "detail": "A valid API key is required (Authorization: Bearer <key> or X-API-Key).",
            "code": "unauthorized",
        },
        status=401,
    )


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # Ninja wraps a body parser's exception in a 400; the parser's own limits (413, 422) win.
    if isinstance(exc.__cause__, DomainError):
        return domain_error(request, exc.__cause__)
    _log_reason(request, f"http_{exc.status_code}", None, str(exc))
    return api.create_response(
        request, {"detail": str(exc), "code": f"http_{exc.status_code}"}, status=exc.status_code
    )


def api_not_found(request: HttpRequest) -> HttpResponse:
    """A JSON 404 for a path under /api/ that no operation matches."""
    return JsonResponse(
        {"detail": f"No API operation at {request.path}.", "code": "not_found"}, status=404
    )


api.add_router("/v1/", health.router)
for _router in (sessions.router, events.router, branches.router, runs.router, ingest.router):
    api.add_router("/v1/", _router)
api.add_router("/v1/", usage_api.router)
api.add_router("/v1/", prompts_api.router)
api.add_router("/v1/", summaries_api.router)
api.add_router("/v1/", review_api.router)
