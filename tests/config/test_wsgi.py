"""The WSGI application gunicorn serves: /api/v1/ through the API's middleware chain, the rest
through the pages' (config/handlers.py), each answering as its users expect."""

from __future__ import annotations

import io
import json

import pytest
from django.conf import settings
from django.test import RequestFactory

from config.wsgi import application
from sessions_app.models import Event

# The real handler closes a connection whose autocommit differs from the settings' at each
# request's start and end, as it must in production: tests run outside a test transaction.
pytestmark = pytest.mark.django_db(transaction=True)


def serve(method: str, path: str, body: bytes = b"", **headers: str) -> tuple[int, dict, bytes]:
    """One request through config.wsgi.application, as a WSGI server makes it."""
    environ = RequestFactory().generic(method, path, body, "application/json").environ
    environ.update({"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))})
    environ.update({f"HTTP_{name.upper()}": value for name, value in headers.items()})
    answer: dict = {}

    def start_response(status: str, response_headers: list, exc_info=None) -> None:
        answer["status"] = int(status.split()[0])
        answer["headers"] = {}
        for name, value in response_headers:
            answer["headers"].setdefault(name.lower(), []).append(value)

    chunks = application(environ, start_response)
    try:
        content = b"".join(chunks)
    finally:
        getattr(chunks, "close", lambda: None)()
    return answer["status"], answer["headers"], content


def post_event(event_id: str, **headers: str) -> tuple[int, dict, bytes]:
    body = json.dumps({"id": event_id, "source": "user", "message": "hello"}).encode()
    return serve("POST", "/api/v1/sessions/s1/events", body, **headers)


def test_api_post_is_served_with_the_headers_every_response_gets(api_token):
    status, headers, content = post_event("e1", authorization=f"Bearer {api_token}")
    assert status == 201
    assert json.loads(content) == {
        "session_id": "s1",
        "results": [{"id": "e1", "seq": 1, "status": "created"}],
    }
    assert headers["content-type"] == ["application/json; charset=utf-8"]
    assert headers["content-length"] == [str(len(content))]
    assert headers["x-content-type-options"] == ["nosniff"]
    assert headers["x-frame-options"] == ["DENY"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"][0]
    assert "set-cookie" not in headers
    assert Event.objects.filter(session__external_id="s1").count() == 1


def test_api_ignores_browser_cookies_and_needs_no_csrf_token(api_token):
    # A caller holding a dashboard session cookie still authenticates with its key only, and
    # no CSRF check stands in the way of an API-key request.
    status, headers, _ = post_event(
        "e1",
        authorization=f"Bearer {api_token}",
        cookie=f"{settings.SESSION_COOKIE_NAME}=forged; csrftoken=x",
    )
    assert status == 201
    assert "set-cookie" not in headers
    status, _, content = post_event("e2", cookie=f"{settings.SESSION_COOKIE_NAME}=forged")
    assert status == 401
    assert json.loads(content)["code"] == "unauthorized"
    assert Event.objects.count() == 1


def test_api_still_refuses_a_host_not_allowed(api_token):
    status, _, _ = serve(
        "GET", "/api/v1/sessions", authorization=f"Bearer {api_token}", host="evil.example"
    )
    assert status == 400


def test_pages_keep_their_chain():
    # The login page sets a CSRF cookie: CSRF middleware runs for pages.
    status, headers, content = serve("GET", "/accounts/login/")
    assert status == 200
    assert any(c.strip().startswith("csrftoken=") for c in headers["set-cookie"])
    assert b"csrfmiddlewaretoken" in content
    # A form post without the token is refused, as before.
    status, _, _ = serve("POST", "/accounts/login/", b"username=a&password=b")
    assert status == 403


def test_api_docs_are_a_page():
    status, headers, content = serve("GET", "/api/docs")
    assert status == 200
    assert b"/static/ninja/swagger-ui-bundle" in content  # ours, not a CDN's
    assert "default-src 'self'" in headers["content-security-policy"][0]


def test_api_requests_skip_the_pages_middleware(api_token, monkeypatch):
    from django.contrib.messages.middleware import MessageMiddleware
    from django.contrib.sessions.middleware import SessionMiddleware
    from django.middleware.csrf import CsrfViewMiddleware

    ran: list[str] = []
    for middleware in (SessionMiddleware, MessageMiddleware, CsrfViewMiddleware):

        def spy(self, request, original=middleware.process_request, name=middleware.__name__):
            ran.append(name)
            return original(self, request)

        monkeypatch.setattr(middleware, "process_request", spy)
    status, _, _ = post_event("e1", authorization=f"Bearer {api_token}")
    assert status == 201
    assert ran == []
    status, _, _ = serve("GET", "/accounts/login/")
    assert status == 200
    assert {"SessionMiddleware", "MessageMiddleware", "CsrfViewMiddleware"} <= set(ran)


def test_building_the_api_chain_leaves_the_settings_untouched(monkeypatch):
    # The API handler builds its chain from API_MIDDLEWARE itself: settings.MIDDLEWARE is never
    # swapped, so another thread building the pages' chain meanwhile cannot see the API's list.
    from config.handlers import ApiWSGIHandler

    seen: list[list[str]] = []
    pages = list(settings.MIDDLEWARE)

    class Watched(type(settings._wrapped)):  # type: ignore[misc]
        def __setattr__(self, name, value):
            seen.append(name)
            super().__setattr__(name, value)

    monkeypatch.setattr(settings._wrapped, "__class__", Watched)
    handler = ApiWSGIHandler()
    assert seen == []
    assert list(settings.MIDDLEWARE) == pages
    names = [type(getattr(m, "__self__", m)).__name__ for m in handler._view_middleware]
    assert "CsrfViewMiddleware" not in names


def test_head_is_answered_as_get_with_no_body_by_the_server(api_token):
    key = {"authorization": f"Bearer {api_token}"}
    assert post_event("e1", **key)[0] == 201
    got_status, got_headers, got = serve("GET", "/api/v1/sessions/s1", **key)
    status, headers, content = serve("HEAD", "/api/v1/sessions/s1", **key)
    assert (status, got_status) == (200, 200)
    assert content == b""
    assert headers["content-length"] == got_headers["content-length"] == [str(len(got))]
    assert headers["content-type"] == got_headers["content-type"]
    # As GET: another session is a 404, no key a 401; neither has a body.
    assert serve("HEAD", "/api/v1/sessions/nope", **key)[::2] == (404, b"")
    assert serve("HEAD", "/api/v1/sessions/s1")[::2] == (401, b"")


def test_head_on_a_path_without_get_is_a_405_and_allow_lists_head_next_to_get(api_token):
    status, headers, content = serve("HEAD", "/api/v1/ingest")
    assert (status, content) == (405, b"")
    assert headers["allow"] == ["POST"]
    status, headers, content = serve("POST", "/api/v1/health")
    assert status == 405
    assert headers["allow"] == ["GET, HEAD"]
    assert json.loads(content)["detail"].startswith("POST is not allowed")
