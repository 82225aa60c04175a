"""A live Sessionscope (pytest-django's live server, in-process) and a client pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sessionscope_client import SessionscopeClient


@pytest.fixture
def server(live_server, transactional_db, api_token) -> tuple[str, str]:
    """The live server's URL and an API key of the `acme` project."""
    return live_server.url, api_token


@pytest.fixture
def client(server) -> Iterator[SessionscopeClient]:
    url, token = server
    with SessionscopeClient(url, token, timeout=10.0) as c:
        yield c
