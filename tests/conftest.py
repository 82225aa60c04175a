"""Shared fixtures, and the rule for tests that need a real service: in CI (CI set) a missing
PostgreSQL, Redis or Chromium fails the test; elsewhere it skips."""

from __future__ import annotations

import calendar
import json
import os
import shutil
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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


CLOCKS = ("first-of-month", "last-of-month", "leap-day")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock",
        choices=CLOCKS,
        help="run with the clock set (and ticking) to the next 1st of a month at 00:05 UTC, the "
        "next last day of a month at 23:30 UTC, or the next 29 February at 12:00 UTC",
    )


def clock_start(name: str, today: date) -> datetime:
    """The instant `--clock NAME` sets, the first such one after `today`.

    Always in the future: the browser tests' Chromium keeps the real clock and would drop a
    session cookie that expired before its own today.
    """
    first_of_next = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    if name == "first-of-month":
        return datetime.combine(first_of_next, time(0, 5), UTC)
    if name == "last-of-month":
        last = (first_of_next + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        return datetime.combine(last, time(23, 30), UTC)
    year = today.year + 1
    while not calendar.isleap(year):
        year += 1
    return datetime(year, 2, 29, 12, 0, tzinfo=UTC)


def pytest_configure(config: pytest.Config) -> None:
    # Started before test modules are imported, so module-level `NOW = datetime.now()` sees it.
    name = config.getoption("--clock")
    if name:
        import time_machine

        traveller = time_machine.travel(clock_start(name, datetime.now(UTC).date()), tick=True)
        traveller.start()
        config.add_cleanup(traveller.stop)


def pytest_report_header(config: pytest.Config) -> str | None:
    name = config.getoption("--clock")
    return f"clock: {name}, starting {datetime.now(UTC).isoformat()}" if name else None


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


@pytest.fixture
def fake_dns(monkeypatch) -> dict[str, list[str]]:
    """socket.getaddrinfo answering from this table (name -> addresses); IP literals resolve as
    usual, any other name does not, so no test waits on a resolver."""
    table: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in table:
            return [
                (
                    socket.AF_INET6 if ":" in a else socket.AF_INET,
                    socket.SOCK_STREAM,
                    6,
                    "",
                    (a, port or 0),
                )
                for a in table[host]
            ]
        return real(host, port, flags=socket.AI_NUMERICHOST)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


PUBLIC_HOOK_ADDRESS = "93.184.215.14"


@dataclass
class WebhookReceiver:
    """A real HTTP server on loopback standing in for a public host: connections to
    PUBLIC_HOOK_ADDRESS reach it, connections to any other non-loopback address fail."""

    port: int = 0
    status: int = 204
    headers: dict[str, str] = field(default_factory=dict)
    requests: list[dict] = field(default_factory=list)  # method, path, host, json
    connected: list[tuple[str, int]] = field(default_factory=list)  # addresses asked for


@pytest.fixture
def webhook_receiver(monkeypatch):
    receiver = WebhookReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            receiver.requests.append(
                {
                    "method": "POST",
                    "path": self.path,
                    "host": self.headers.get("Host"),
                    "json": json.loads(body or b"null"),
                }
            )
            self.send_response(receiver.status)
            for name, value in receiver.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    real = socket.create_connection

    def create_connection(address, *args, **kwargs):
        # A name is looked up as the real function does, through the (fake) resolver.
        for info in socket.getaddrinfo(address[0], address[1], proto=socket.IPPROTO_TCP):
            ip = info[4][0]
            receiver.connected.append((ip, address[1]))
            if ip == PUBLIC_HOOK_ADDRESS:
                return real(("127.0.0.1", receiver.port), *args, **kwargs)
            if ip in ("127.0.0.1", "::1"):
                return real((ip, address[1]), *args, **kwargs)
        raise ConnectionRefusedError(f"no network in tests: {address[0]}")

    monkeypatch.setattr(socket, "create_connection", create_connection)
    yield receiver
    server.shutdown()
    server.server_close()
