"""A live Sessionscope (pytest-django's live server, in-process) and a client pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sessionscope_client import SessionscopeClient

from sessions_app.llm import _litellm


@pytest.fixture(scope="session")
def _litellm_loaded() -> None:
    # The server prices the first event with usage by importing litellm (3 s, far more on a
    # loaded machine): import it before any request, so no request outlives the client's
    # timeout and gets retried while the first one still holds SQLite's lock.
    _litellm()


@pytest.fixture
def server(live_server, transactional_db, api_token, _litellm_loaded) -> tuple[str, str]:
    """The live server's URL and an API key of the `acme` project."""
    return live_server.url, api_token


@pytest.fixture
def client(server) -> Iterator[SessionscopeClient]:
    url, token = server
    with SessionscopeClient(url, token, timeout=60.0) as c:
        yield c
