"""Shared fixtures, and the rule for tests that need a real service: in CI (CI set) a missing
PostgreSQL, Redis or Chromium fails the test; elsewhere it skips."""

from __future__ import annotations

import os
import shutil

import pytest
from django.db import connection

from sessions_app.models import Membership
from sessions_app.services.projects import api_key_create

from .factories import MembershipFactory, ProjectFactory, UserFactory
from .http import SplitClient

IN_CI = bool(os.environ.get("CI"))


def require(condition: bool, reason: str) -> None:
    """Fail in CI, skip elsewhere, when a service a test needs is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI requires this: {reason}")
    pytest.skip(reason)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.django_db(transaction=True))


@pytest.fixture(autouse=True)
def _fresh_api_key_cache():
    """Each test starts with no API key cached in the process."""
    from sessions_app.services.projects import api_key_cache_clear

    api_key_cache_clear()
    yield
    api_key_cache_clear()


@pytest.fixture(autouse=True)
def _services_for_markers(request):
    if request.node.get_closest_marker("postgres"):
        request.getfixturevalue("db")
        require(connection.vendor == "postgresql", "needs PostgreSQL: set DATABASE_URL")
    if request.node.get_closest_marker("browser"):
        require(bool(shutil.which("chromium")), "needs Debian's chromium at /usr/bin/chromium")


@pytest.fixture
def client() -> SplitClient:
    return SplitClient()


@pytest.fixture
def project(db):
    return ProjectFactory(slug="acme", name="Acme")


@pytest.fixture
def other_project(db):
    return ProjectFactory(slug="other", name="Other")


@pytest.fixture
def api_token(project) -> str:
    _, token = api_key_create(project=project, name="tests")
    return token


@pytest.fixture
def other_token(other_project) -> str:
    _, token = api_key_create(project=other_project, name="tests")
    return token


@pytest.fixture
def auth_headers(api_token) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token}"}


@pytest.fixture
def viewer(project):
    return MembershipFactory(
        project=project, role=Membership.Role.VIEWER, user=UserFactory(username="viewer")
    ).user


@pytest.fixture
def editor(project):
    return MembershipFactory(
        project=project, role=Membership.Role.EDITOR, user=UserFactory(username="editor")
    ).user


@pytest.fixture
def admin_user(project):
    return MembershipFactory(
        project=project, role=Membership.Role.ADMIN, user=UserFactory(username="padmin")
    ).user


@pytest.fixture
def outsider(other_project):
    return MembershipFactory(
        project=other_project, role=Membership.Role.ADMIN, user=UserFactory(username="outsider")
    ).user
