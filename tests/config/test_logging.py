"""What the server's log says about client errors."""

import logging

import pytest


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
    assert levels(request_log) == [("INFO", "Not Found: /api/v1/sessions/not-yet-written/events")]


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
