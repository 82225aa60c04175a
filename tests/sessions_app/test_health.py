"""GET /api/v1/health needs no key and reports the database and broker."""

import pytest

pytestmark = pytest.mark.django_db


def test_health_reports_database_and_in_process_tasks(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is True
    assert "in-process" in body["broker"]["detail"]


def test_health_says_degraded_when_the_broker_is_unreachable(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    from config.celery import app

    app.conf.broker_url = settings.CELERY_BROKER_URL
    try:
        response = client.get("/api/v1/health")
    finally:
        app.conf.broker_url = None
    assert response.status_code == 503
    assert response.json()["broker"]["ok"] is False
    assert response.json()["database"]["ok"] is True


def test_head_health_answers_as_get_without_a_body(client):
    # Load balancers and uptime checkers probe with HEAD.
    response = client.head("/api/v1/health")
    assert response.status_code == 200
    assert response.content == b""
    assert response["Content-Type"].startswith("application/json")
    assert int(response["Content-Length"]) > 0  # GET's length: the body is only left out


def test_head_health_is_a_503_when_the_broker_is_unreachable(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    from config.celery import app

    app.conf.broker_url = settings.CELERY_BROKER_URL
    try:
        response = client.head("/api/v1/health")
    finally:
        app.conf.broker_url = None
    assert response.status_code == 503
    assert response.content == b""
