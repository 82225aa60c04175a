"""API key authentication: `Authorization: Bearer <key>` or `X-API-Key: <key>`."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import APIKeyHeader, HttpBearer

from ..models import ApiKey
from ..services.projects import api_key_authenticate
from .ratelimit import api_rate_limit_check


class ApiRequest(HttpRequest):
    """A request to an operation behind `api_key_auth`: Ninja sets `auth` to the caller's key."""

    auth: ApiKey


def _authenticated(token: str) -> ApiKey | None:
    key = api_key_authenticate(token)
    if key is not None:
        api_rate_limit_check(key)
    return key


class BearerKey(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        return _authenticated(token)


class HeaderKey(APIKeyHeader):
    param_name = "X-API-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> ApiKey | None:
        return _authenticated(key or "")


api_key_auth = [BearerKey(), HeaderKey()]
