"""A bounded schemathesis run against /api/openapi.json: no input makes the server fail (5xx).

Every operation gets generated bodies, paths and query strings, with a valid key so the
requests reach the validation and service code. Runs in CI (SQLite and PostgreSQL); the
example count keeps it to about a minute on these machines.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from config.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)


@pytest.fixture
def fuzz_headers(db, api_token) -> Iterator[dict[str, str]]:
    # The WSGI app is called directly, not through Django's test client, so stop its request
    # signals from closing the test's connection mid-transaction, as the test client does.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield {"Authorization": f"Bearer {api_token}"}
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


# Every operation of the agents' API (/api/v1/): ingest, reads, usage, prompts, summaries.
OURS = r"^/api/v1/"


@schema.include(path_regex=OURS).parametrize()
@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "25")),
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_input_makes_the_api_fail(case, fuzz_headers):
    case.call_and_validate(headers=fuzz_headers, checks=[not_a_server_error])
