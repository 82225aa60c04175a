"""The NinjaAPI instance, mounted at /api/: operations under /api/v1/, docs at /api/docs.

Domain errors and validation errors are mapped here, once, to `{"detail": ..., "code": ...}`.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from sessions_app.api import health
from sessions_app.api.auth import api_key_auth
from sessions_app.errors import DomainError

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
)


@api.exception_handler(DomainError)
def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    body = {"detail": exc.detail, "code": exc.code}
    if exc.field:
        body["field"] = exc.field
    return api.create_response(request, body, status=exc.status)


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {
            "field": ".".join(str(part) for part in err.get("loc", ()) if part not in ("body",)),
            "msg": err.get("msg", ""),
            "type": err.get("type", ""),
        }
        for err in exc.errors
    ]
    return api.create_response(
        request, {"detail": errors, "code": "validation_error"}, status=422
    )


@api.exception_handler(AuthenticationError)
def unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(
        request,
        {"detail": "A valid API key is required (Authorization: Bearer <key> or X-API-Key).",
         "code": "unauthorized"},
        status=401,
    )


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return api.create_response(
        request, {"detail": str(exc), "code": f"http_{exc.status_code}"}, status=exc.status_code
    )


api.add_router("/v1/", health.router)
