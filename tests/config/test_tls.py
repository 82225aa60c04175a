"""Over TLS: HSTS and Secure cookies; plain HTTP gets neither (issue 16, item 9)."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.urls import reverse

from dashboard.views.costs import _cell
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_page_served_over_tls_sends_hsts(client):
    response = client.get(reverse("login"), secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


def test_the_api_over_tls_sends_hsts_too(client):
    response = client.get("/api/v1/health", secure=True)
    assert "Strict-Transport-Security" in response


def test_plain_http_gets_no_hsts(client):
    assert "Strict-Transport-Security" not in client.get(reverse("login"))


def test_cookies_set_over_tls_are_secure(client):
    UserFactory(username="alice")
    page = client.get(reverse("login"), secure=True)
    assert page.cookies["csrftoken"]["secure"] is True
    response = client.post(
        reverse("login"), {"username": "alice", "password": "pw-for-tests-1"}, secure=True
    )
    assert response.status_code == 302
    assert response.cookies["sessionid"]["secure"] is True


def test_cookies_set_over_plain_http_are_not_marked_secure(client):
    UserFactory(username="alice")
    response = client.post(reverse("login"), {"username": "alice", "password": "pw-for-tests-1"})
    assert not response.cookies["sessionid"]["secure"]


@override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
def test_behind_a_trusted_tls_proxy_the_forwarded_scheme_counts(client):
    UserFactory(username="alice")
    response = client.post(
        reverse("login"),
        {"username": "alice", "password": "pw-for-tests-1"},
        headers={"X-Forwarded-Proto": "https"},
    )
    assert response.cookies["sessionid"]["secure"] is True
    assert "Strict-Transport-Security" in response


def test_an_untrusted_forwarded_scheme_is_ignored(client):
    response = client.get(reverse("login"), headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in response


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1+1", "\r=1+1"])
def test_a_csv_cell_that_a_spreadsheet_would_run_is_escaped(text):
    assert _cell(text) == "'" + text


def test_a_plain_csv_cell_is_kept():
    assert _cell("support-bot") == "support-bot"
