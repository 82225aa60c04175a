"""API key authentication: `Authorization: Bearer <key>` or `X-API-Key: <key>`."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import APIKeyHeader, HttpBearer

from ..models import ApiKey
from ..services.projects import api_key_authenticate


class BearerKey(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        return api_key_authenticate(token)


class HeaderKey(APIKeyHeader):
    param_name = "X-API-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> ApiKey | None:
        return api_key_authenticate(key or "")


api_key_auth = [BearerKey(), HeaderKey()]
