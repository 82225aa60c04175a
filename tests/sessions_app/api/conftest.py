"""Helpers for the API tests: a JSON client that sends the project's key."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.http import SplitClient


class ApiClient:
    """Django's test client speaking JSON to /api/v1 with an API key."""

    def __init__(self, token: str | None):
        self.client = SplitClient()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict | None = None,
        **params: Any,
    ):
        fn = getattr(self.client, method)
        kwargs: dict[str, Any] = {"headers": {**self.headers, **(headers or {})}}
        if raw is not None or body is not None:
            kwargs["data"] = raw if raw is not None else json.dumps(body)
            kwargs["content_type"] = "application/json"
        elif params:
            kwargs["data"] = params
        return fn(f"/api/v1{path}", **kwargs)

    def get(self, path: str, **params: Any):
        return self._call("get", path, **params)

    def post(self, path: str, body: Any = None, **kw: Any):
        return self._call("post", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any):
        return self._call("put", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any):
        return self._call("patch", path, body, **kw)

    def delete(self, path: str, **kw: Any):
        return self._call("delete", path, **kw)


@pytest.fixture
def api(api_token) -> ApiClient:
    return ApiClient(api_token)


@pytest.fixture
def other_api(other_token) -> ApiClient:
    return ApiClient(other_token)
