"""Repeated failed logins lock the user name and the client out (django-axes), visibly and
reversibly for admins (issue 16, item 8)."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-1"


def login(client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def fail(client, username: str, times: int, ip: str = "10.0.0.1") -> None:
    for _ in range(times):
        assert login(client, username, "wrong", ip).status_code in (200, 429)


def test_the_right_password_logs_in(client):
    UserFactory(username="alice")
    assert login(client, "alice", PASSWORD).status_code == 302


def test_after_five_wrong_passwords_even_the_right_one_is_refused(client):
    UserFactory(username="alice")
    fail(client, "alice", 4)
    locked = login(client, "alice", "wrong")
    assert locked.status_code == 429
    assert b"Too many failed logins" in locked.content
    refused = login(client, "alice", PASSWORD)
    assert refused.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_user_name_is_locked_from_another_address_too(client):
    UserFactory(username="alice")
    fail(client, "alice", 5, ip="10.0.0.1")
    assert login(client, "alice", PASSWORD, ip="10.9.9.9").status_code == 429


def test_an_address_trying_many_names_is_locked_out(client):
    UserFactory(username="bob")
    for n in range(5):
        login(client, f"guess{n}", "wrong", ip="10.0.0.7")
    assert login(client, "bob", PASSWORD, ip="10.0.0.7").status_code == 429
    assert login(client, "bob", PASSWORD, ip="10.0.0.8").status_code == 302


def test_a_success_before_the_limit_resets_the_count(client):
    UserFactory(username="alice")
    fail(client, "alice", 4)
    assert login(client, "alice", PASSWORD).status_code == 302
    client.logout()
    fail(client, "alice", 4)
    assert login(client, "alice", PASSWORD).status_code == 302


def test_an_admin_sees_the_lock_out_in_the_admin_and_lifts_it(client):
    UserFactory(username="alice")
    fail(client, "alice", 5)
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    listing = client.get(reverse("admin:axes_accessattempt_changelist"))
    assert listing.status_code == 200
    assert b"alice" in listing.content
    attempt = AccessAttempt.objects.get(username="alice")
    client.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"})
    client.logout()
    assert login(client, "alice", PASSWORD).status_code == 302


def test_the_lock_out_is_lifted_from_the_command_line(client):
    UserFactory(username="alice")
    fail(client, "alice", 5)
    call_command("axes_reset_username", "alice")
    assert login(client, "alice", PASSWORD).status_code == 302


@override_settings(AXES_ENABLED=False)
def test_the_lock_out_can_be_switched_off(client):
    UserFactory(username="alice")
    fail(client, "alice", 8)
    assert login(client, "alice", PASSWORD).status_code == 302
