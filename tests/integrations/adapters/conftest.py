"""Fixtures of the adapter tests, which import only the client and one framework.

They run two ways: in the project's environment against pytest-django's live server (the
parent conftest's `server`), and in a fresh environment holding only one framework, against a
real server named by SESSIONSCOPE_TEST_URL and SESSIONSCOPE_TEST_API_KEY (clients/python/ci/
extras.sh). Nothing here imports Django: in the second case the parent conftests are not loaded.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sessionscope_client import SessionscopeClient

EXTERNAL_URL = os.environ.get("SESSIONSCOPE_TEST_URL")
EXTERNAL_KEY = os.environ.get("SESSIONSCOPE_TEST_API_KEY")
HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Against the test server, these tests use its database (written by its own threads)."""
    if EXTERNAL_URL and EXTERNAL_KEY:
        return
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.django_db(transaction=True))


@pytest.fixture
def client(request: pytest.FixtureRequest) -> Iterator[SessionscopeClient]:
    """A client of a live Sessionscope: the external one when named, else the test server."""
    if EXTERNAL_URL and EXTERNAL_KEY:
        url, key = EXTERNAL_URL, EXTERNAL_KEY
    else:
        url, key = request.getfixturevalue("server")
    with SessionscopeClient(url, key, timeout=60.0) as c:
        yield c


@pytest.fixture
def sid() -> str:
    """A session id of this test alone (the external server outlives the run)."""
    return f"t-{uuid.uuid4().hex[:12]}"
