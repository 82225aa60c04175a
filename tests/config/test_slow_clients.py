"""Clients against the server `make run` starts (gunicorn's asyncio worker running
config.asgi): 40 connections trickling a body do not hold up health checks, and a body that
does not arrive in time is answered 408 (issue 16, item 7); an OTLP exporter's keep-alive
connection is closed after each export, so its next export goes to a worker drawn anew. A real
gunicorn process."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.slow_clients import measure
from config.asgi import wsgi_environ
from tests.conftest import require

ROOT = Path(__file__).resolve().parents[2]
PORT = int(os.environ.get("SLOW_CLIENTS_PORT", "18540"))


def _free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture
def server(tmp_path):
    require(_free(PORT), f"port {PORT} is taken")
    env = {
        **os.environ,
        "SECRET_KEY": "slow-clients",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CELERY_BROKER_URL": "",
        "REQUEST_BODY_TIMEOUT": "4",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.asgi:application",
            "-k",
            "asgi",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--workers",
            "2",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while _free(PORT) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _free(PORT), "gunicorn did not start"
        yield f"http://127.0.0.1:{PORT}"
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_forty_trickling_clients_leave_health_answering_and_a_stalled_body_gets_408(server):
    measure(server, clients=0, seconds=1)  # warm both workers up
    figures = measure(server, clients=40, seconds=6, stall_limit=15)
    assert figures["health_answers"] >= 10
    # Under 1 s; on a 2-core machine shared with other work a single answer may pass it, so
    # the bound is on nine in ten, and none may be near the 5 s timeout.
    assert figures["health_p90_s"] < 1.0, figures
    assert figures["health_max_s"] < 3.0, figures
    assert figures["stalled_status"] == "HTTP/1.1 408 Request Timeout", figures
    assert 3.5 <= figures["stalled_seconds"] < 6, figures


def test_an_otlp_export_closes_its_connection_and_other_requests_keep_theirs(server):
    # What an exporter's HTTP client does: one keep-alive connection, reopened when the server
    # answers `Connection: close` (http.client drops the socket, as urllib3 and Go's net/http do).
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
    ports = []
    paths = (
        "/api/v1/health",
        "/api/v1/health",
        "/v1/traces",
        "/api/otel/v1/traces",
        "/api/v1/health",
    )
    for path in paths:
        if path.endswith("/traces"):
            conn.request("POST", path, body=b"", headers={"Content-Type": "application/json"})
        else:
            conn.request("GET", path)
        ports.append(conn.sock.getsockname()[1])
        response = conn.getresponse()
        response.read()
        closes = path.endswith("/traces")
        assert response.status == (401 if closes else 200), path
        assert (response.getheader("Connection", "").lower() == "close") is closes, path
        assert (conn.sock is None) is closes, path
    conn.close()
    # Health twice and the first export on one connection; after each export, a new one.
    assert ports[0] == ports[1] == ports[2] and len(set(ports)) == 3, ports


def test_the_environ_keeps_the_raw_target_for_encoded_slashes():
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/api/v1/sessions/a/b",
        "raw_path": b"/api/v1/sessions/a%2Fb",
        "query_string": b"x=1",
        "headers": [(b"content-type", b"application/json"), (b"x-api-key", b"k")],
        "client": ("10.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    environ = wsgi_environ(scope, None)
    assert environ["RAW_URI"] == "/api/v1/sessions/a%2Fb?x=1"
    assert environ["CONTENT_TYPE"] == "application/json"
    assert environ["HTTP_X_API_KEY"] == "k"
    assert environ["REMOTE_ADDR"] == "10.0.0.1"
