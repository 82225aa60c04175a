"""What the server's log says about client errors: one line each (method, path, status, reason),
never a traceback; server errors keep theirs."""

import io
import logging

import pytest

from tests.factories import SessionFactory
from tests.http import SplitClient


@pytest.fixture
def request_log(caplog):
    caplog.set_level(logging.INFO, logger="django.request")
    return caplog


def levels(caplog) -> list[tuple[str, str]]:
    return [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "django.request"]


@pytest.mark.django_db
def test_an_api_404_is_logged_at_info_not_as_a_warning(client, auth_headers, request_log):
    # The OpenAI Agents adapter's first read of a session it has not written yet.
    response = client.get("/api/v1/sessions/not-yet-written/events", headers=auth_headers)

    assert response.status_code == 404
    assert levels(request_log) == [
        (
            "INFO",
            (
                "GET /api/v1/sessions/not-yet-written/events 404 Not Found: "
                "not_found (external_id): No session 'not-yet-written'."
            ),
        )
    ]


@pytest.mark.django_db
def test_an_api_404_is_not_logged_when_the_log_level_is_warning(client, auth_headers, caplog):
    caplog.set_level(logging.WARNING)
    response = client.get("/api/v1/sessions/not-yet-written/events", headers=auth_headers)

    assert response.status_code == 404
    assert levels(caplog) == []


@pytest.mark.django_db
def test_other_client_errors_and_dashboard_404s_stay_warnings(client, admin_user, request_log):
    client.force_login(admin_user)
    wrong_key = {"Authorization": "Bearer wrong"}
    assert client.get("/no-such-page/").status_code == 404
    assert client.get("/api/v1/sessions", headers=wrong_key).status_code == 401

    assert [level for level, _ in levels(request_log)] == ["WARNING", "WARNING"]


def no_tracebacks(caplog) -> bool:
    return all(r.exc_info is None and r.exc_text is None for r in caplog.records)


@pytest.mark.django_db
def test_a_malformed_json_body_is_one_line_with_method_path_status_and_reason(
    client, auth_headers, request_log
):
    response = client.post(
        "/api/v1/sessions/s1/events",
        data=b'{"events": [',
        content_type="application/json",
        headers=auth_headers,
    )

    assert response.status_code == 422
    assert levels(request_log) == [
        (
            "WARNING",
            (
                "POST /api/v1/sessions/s1/events 422 Unprocessable Entity: invalid_json (body): "
                "The body is not valid JSON: Expecting value: line 1 column 13 (char 12)."
            ),
        )
    ]
    assert no_tracebacks(request_log)


@pytest.mark.django_db
def test_a_schema_error_names_its_first_field(client, auth_headers, request_log):
    response = client.post(
        "/api/v1/sessions/s1/events",
        data={"source": "user", "message": "hi", "colour": "red", "type": "nope"},
        content_type="application/json",
        headers=auth_headers,
    )

    assert response.status_code == 422
    [(level, message)] = levels(request_log)
    assert level == "WARNING"
    assert message.startswith("POST /api/v1/sessions/s1/events 422 Unprocessable Entity: ")
    assert "validation_error (" in message and "(and 1 more)" in message


@pytest.mark.django_db
def test_a_bad_request_a_page_raises_is_one_line_without_a_traceback(
    client, viewer, project, request_log
):
    client.force_login(viewer)
    session = SessionFactory(project=project)

    response = client.get(f"/p/acme/sessions/{session.pk}/jump/?to=sideways")

    assert response.status_code == 400
    [(level, message)] = levels(request_log)
    assert level == "WARNING"
    assert message == (
        f"GET /p/acme/sessions/{session.pk}/jump/ 400 Bad Request: "
        "to must be one of next-error, prev-error, next-hit, prev-hit."
    )
    assert no_tracebacks(request_log)


@pytest.mark.django_db
def test_a_disallowed_host_is_one_line_on_the_console(client):
    # django.security.DisallowedHost: django.request's filters never see it; the console does.
    [console] = [h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler]
    stream = io.StringIO()
    previous = console.setStream(stream)
    try:
        response = client.get("/api/v1/health", HTTP_HOST="bad host")
    finally:
        console.setStream(previous)

    assert response.status_code == 400
    assert stream.getvalue() == (
        "GET /api/v1/health 400 Bad Request: Invalid HTTP_HOST header: 'bad host'. The domain "
        "name provided is not valid according to RFC 1034/1035.\n"
    )


@pytest.mark.django_db
def test_a_client_s_control_characters_cannot_start_another_log_line(
    client, auth_headers, request_log
):
    response = client.get("/api/v1/sessions/a%0Ab%0AERROR%20forged/events", headers=auth_headers)

    assert response.status_code == 422
    [(_, message)] = levels(request_log)
    assert "\n" not in message
    assert message.startswith("GET /api/v1/sessions/a\\nb\\nERROR forged/events 422 ")


@pytest.mark.django_db
def test_a_server_error_keeps_its_traceback(auth_headers, caplog, monkeypatch):
    caplog.set_level(logging.INFO, logger="django.request")

    def broken(*args, **kwargs):
        raise RuntimeError("a bug of ours")

    monkeypatch.setattr("sessions_app.api.sessions.api_sessions_page", broken)
    response = SplitClient(raise_request_exception=False).get(
        "/api/v1/sessions", headers=auth_headers
    )

    assert response.status_code == 500
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.levelname == "ERROR"
    assert record.exc_info is not None and record.exc_info[1].args == ("a bug of ours",)
