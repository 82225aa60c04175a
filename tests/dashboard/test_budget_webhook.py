"""The budget alert webhook refuses private, loopback and other non-public addresses: when it is
saved on the budgets page and again when an alert is sent, which goes only to the addresses
checked and never follows a redirect."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from sessions_app.errors import InvalidInput
from sessions_app.models import Budget, BudgetAlert
from sessions_app.services.budgets import budget_alert_notify, project_alert_webhook_set
from tests.conftest import PUBLIC_HOOK_ADDRESS

pytestmark = pytest.mark.django_db


def post_webhook(user, project, value: str):
    client = Client()
    client.force_login(user)
    return client.post(reverse("dashboard:alert_webhook_set", args=[project.slug]), {"url": value})


@pytest.mark.parametrize(
    "value",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://172.16.5.4/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://224.0.0.1/hook",
        "http://240.0.0.1/hook",
        "http://100.64.0.1/hook",
    ],
)
def test_a_webhook_on_a_non_public_address_is_refused(project, admin_user, fake_dns, value):
    fake_dns["localhost"] = ["127.0.0.1", "::1"]
    response = post_webhook(admin_user, project, value)
    assert response.status_code == 400
    assert "non-public address" in response.content.decode()
    project.refresh_from_db()
    assert project.alert_webhook_url == ""


def test_a_name_resolving_to_a_private_address_is_refused(project, fake_dns):
    # One public address is not enough: the client may connect to any of them.
    fake_dns["hooks.internal.example"] = ["93.184.215.14", "10.0.0.7"]
    with pytest.raises(InvalidInput) as refused:
        project_alert_webhook_set(project=project, url="https://hooks.internal.example/budget")
    assert refused.value.field == "url" and refused.value.status == 422
    assert "10.0.0.7" in refused.value.detail


def test_a_name_that_does_not_resolve_is_refused(project, admin_user, fake_dns):
    response = post_webhook(admin_user, project, "https://no-such-host.example/hook")
    assert response.status_code == 400
    assert "no-such-host.example does not resolve" in response.content.decode()


def test_a_public_webhook_is_saved_and_can_be_cleared(project, admin_user, fake_dns):
    fake_dns["hooks.example.com"] = ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
    assert post_webhook(admin_user, project, "https://hooks.example.com/b").status_code == 302
    project.refresh_from_db()
    assert project.alert_webhook_url == "https://hooks.example.com/b"
    assert post_webhook(admin_user, project, "").status_code == 302
    project.refresh_from_db()
    assert project.alert_webhook_url == ""


def test_private_addresses_are_allowed_when_the_setting_says_so(project, settings, fake_dns):
    settings.ALERT_WEBHOOK_ALLOW_PRIVATE = True
    project_alert_webhook_set(project=project, url="http://127.0.0.1:9000/hook")
    project.refresh_from_db()
    assert project.alert_webhook_url == "http://127.0.0.1:9000/hook"


@pytest.fixture
def alert(project):
    budget = Budget.objects.create(
        project=project, scope="project", target="", period="total", amount_usd=Decimal("1")
    )
    return BudgetAlert.objects.create(
        project=project,
        budget=budget,
        period_start=datetime(2026, 1, 1, tzinfo=UTC),
        level="over",
        spent_usd=Decimal("1.5"),
    )


def notify(alert) -> str:
    alert.project.refresh_from_db()
    return budget_alert_notify(alert=alert)


def test_an_alert_is_not_sent_when_the_name_now_resolves_to_a_private_address(
    project, admin_user, alert, fake_dns, webhook_receiver
):
    fake_dns["hooks.example.com"] = [PUBLIC_HOOK_ADDRESS]
    project_alert_webhook_set(project=project, url="http://hooks.example.com/budget")
    fake_dns["hooks.example.com"] = ["192.168.1.20"]  # DNS changed after the URL was saved
    status = notify(alert)
    assert webhook_receiver.connected == [] and webhook_receiver.requests == []
    assert status.startswith("blocked") and "192.168.1.20" in status
    alert.refresh_from_db()
    assert alert.webhook_status == status
    client = Client()
    client.force_login(admin_user)
    page = client.get(reverse("dashboard:budgets", args=[project.slug])).content.decode()
    assert "blocked: host resolves to non-public address 192.168.1.20" in page


def test_an_alert_to_a_public_address_is_sent(project, alert, fake_dns, webhook_receiver):
    fake_dns["hooks.example.com"] = [PUBLIC_HOOK_ADDRESS]
    project_alert_webhook_set(project=project, url="http://hooks.example.com/budget?team=ops")
    assert notify(alert) == "sent 204"
    [request] = webhook_receiver.requests
    assert request["path"] == "/budget?team=ops"
    assert request["host"] == "hooks.example.com"
    assert request["json"]["type"] == "budget_alert"
    assert request["json"]["alert"]["level"] == "over"
    assert request["json"]["alert"]["spent_usd"] == "1.5"


def test_the_alert_goes_to_the_address_that_was_checked(
    project, alert, fake_dns, webhook_receiver, monkeypatch
):
    """DNS rebinding: a name that answers a public address to the check and a private one to
    the next lookup must not steer the POST to the private one."""
    fake_dns["hooks.example.com"] = [PUBLIC_HOOK_ADDRESS]
    project_alert_webhook_set(project=project, url="http://hooks.example.com/budget")
    answers = iter([[PUBLIC_HOOK_ADDRESS]])
    checked = socket.getaddrinfo

    def rebinding(host, *args, **kwargs):
        fake_dns["hooks.example.com"] = next(answers, ["127.0.0.1"])
        return checked(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    assert notify(alert) == "sent 204"
    assert webhook_receiver.connected == [(PUBLIC_HOOK_ADDRESS, 80)]
    assert len(webhook_receiver.requests) == 1


def test_a_redirect_is_not_followed(project, alert, fake_dns, webhook_receiver):
    fake_dns["hooks.example.com"] = [PUBLIC_HOOK_ADDRESS]
    project_alert_webhook_set(project=project, url="http://hooks.example.com/budget")
    webhook_receiver.status = 302
    webhook_receiver.headers["Location"] = "http://169.254.169.254/latest/meta-data/"
    status = notify(alert)
    assert status.startswith("blocked") and "302" in status and "redirect" in status
    assert webhook_receiver.connected == [(PUBLIC_HOOK_ADDRESS, 80)]
    alert.refresh_from_db()
    assert alert.webhook_status == status


def test_an_error_answer_or_an_unknown_host_is_a_failure_to_retry(
    project, alert, fake_dns, webhook_receiver
):
    fake_dns["hooks.example.com"] = [PUBLIC_HOOK_ADDRESS]
    project_alert_webhook_set(project=project, url="http://hooks.example.com/budget")
    webhook_receiver.status = 503
    assert notify(alert) == "failed: the webhook answered 503"
    del fake_dns["hooks.example.com"]
    assert notify(alert) == "failed: the host does not resolve"
    webhook_receiver.status = 200
    fake_dns["hooks.example.com"] = [PUBLIC_HOOK_ADDRESS]
    assert notify(alert) == "sent 200"
    assert notify(alert) == "sent 200"  # sent once: a second call does not post again
    assert len(webhook_receiver.requests) == 2


@pytest.mark.parametrize(
    ("url", "host", "port"),
    [
        ("http://[2606:2800:21f:cb07::1]/hook", "2606:2800:21f:cb07::1", 80),
        ("https://[2606:2800:21f:cb07::1]:8443/hook", "2606:2800:21f:cb07::1", 8443),
        ("https://hooks.example.com/hook", "hooks.example.com", 443),
    ],
)
def test_the_connection_keeps_the_urls_host_and_port(url, host, port):
    from sessions_app.services.budgets import _webhook_connection

    connection = _webhook_connection(url, [PUBLIC_HOOK_ADDRESS])
    assert (connection.host, connection.port) == (host, port)
