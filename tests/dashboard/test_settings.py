"""Project settings: API keys (secret shown once), members, retention policy; admins only."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from sessions_app.models import ApiKey, Membership
from sessions_app.services.projects import api_key_authenticate, api_key_create

from ..factories import UserFactory
from .conftest import htmx

pytestmark = pytest.mark.django_db


def url(name: str, *args) -> str:
    return reverse(f"dashboard:{name}", args=["acme", *args])


def test_admin_sees_keys_members_and_retention(client, admin_user, project):
    api_key_create(project=project, name="ci-agents")
    client.force_login(admin_user)
    response = client.get(url("settings"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "ci-agents" in html and "padmin" in html and "Idle days" in html


@pytest.mark.parametrize("who", ["viewer", "editor"])
def test_non_admins_get_403(client, request, who, project):
    client.force_login(request.getfixturevalue(who))
    assert client.get(url("settings")).status_code == 403
    assert client.post(url("api_key_new"), {"name": "x"}).status_code == 403
    assert client.post(url("member_set"), {"username": who, "role": "admin"}).status_code == 403
    assert not ApiKey.objects.exists()
    assert Membership.objects.get(user__username=who).role == who


def test_another_projects_admin_gets_404(client, outsider, project):
    client.force_login(outsider)
    assert client.get(url("settings")).status_code == 404


def test_created_key_is_shown_once_and_works(client, admin_user, project):
    client.force_login(admin_user)
    response = client.post(url("api_key_new"), {"name": "prod"}, **htmx("api-keys"))
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<section id="api-keys"')
    token = re.search(r'id="new-token" class="code">([^<]+)<', html).group(1)
    assert api_key_authenticate(token).name == "prod"
    assert token not in client.get(url("settings")).content.decode()


def test_a_key_needs_a_name(client, admin_user, project):
    client.force_login(admin_user)
    response = client.post(url("api_key_new"), {"name": ""}, **htmx("api-keys"))
    assert response.status_code == 400 and not ApiKey.objects.exists()


def test_revoke_a_key(client, admin_user, project):
    key, token = api_key_create(project=project, name="old")
    client.force_login(admin_user)
    response = client.post(url("api_key_revoke", key.pk), **htmx("api-keys"))
    assert response.status_code == 200 and "revoked" in response.content.decode()
    assert api_key_authenticate(token) is None


def test_revoking_another_projects_key_is_404(client, admin_user, other_project):
    key, token = api_key_create(project=other_project, name="theirs")
    client.force_login(admin_user)
    assert client.post(url("api_key_revoke", key.pk)).status_code == 404
    assert api_key_authenticate(token) is not None


def test_add_a_member_and_change_their_role(client, admin_user, project):
    newcomer = UserFactory(username="newcomer")
    client.force_login(admin_user)
    response = client.post(
        url("member_set"), {"username": "newcomer", "role": "editor"}, **htmx("members")
    )
    html = response.content.decode()
    assert response.status_code == 200 and "newcomer" in html
    assert html.lstrip().startswith('<section id="members"')
    assert Membership.objects.get(user=newcomer, project=project).role == "editor"


def test_an_unknown_username_is_reported(client, admin_user, project):
    client.force_login(admin_user)
    response = client.post(
        url("member_set"), {"username": "ghost", "role": "viewer"}, **htmx("members")
    )
    assert response.status_code == 400 and "No user with this username" in response.content.decode()


def test_an_admin_cannot_demote_themselves(client, admin_user, project):
    client.force_login(admin_user)
    response = client.post(
        url("member_set"), {"username": "padmin", "role": "viewer"}, **htmx("members")
    )
    assert response.status_code == 400
    assert Membership.objects.get(user=admin_user).role == "admin"


def test_set_the_retention_policy(client, admin_user, project):
    client.force_login(admin_user)
    response = client.post(
        url("retention_set"),
        {"retention_days": "30", "retention_action": "delete"},
        **htmx("retention"),
    )
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<section id="retention"')
    project.refresh_from_db()
    assert (project.retention_days, project.retention_action) == (30, "delete")


def test_a_bad_retention_policy_is_refused(client, admin_user, project):
    client.force_login(admin_user)
    response = client.post(
        url("retention_set"),
        {"retention_days": "0", "retention_action": "shred"},
        **htmx("retention"),
    )
    assert response.status_code == 400
    project.refresh_from_db()
    assert project.retention_days is None


def test_settings_page_query_count(client, admin_user, project, django_assert_num_queries):
    api_key_create(project=project, name="k")
    client.force_login(admin_user)
    client.get(url("settings"))
    # session row, user, project, role, keys (with creator), members (with users),
    # retention runs, switcher
    with django_assert_num_queries(8):
        client.get(url("settings"))


def membership_of(username: str, project) -> Membership:
    return Membership.objects.get(user__username=username, project=project)


def test_an_admin_removes_a_member(client, admin_user, viewer, project):
    client.force_login(admin_user)
    page = client.get(url("settings")).content.decode()
    remove = url("member_remove", membership_of("viewer", project).pk)
    assert f'hx-post="{remove}"' in page and "hx-confirm=" in page
    response = client.post(remove, **htmx("members"))
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<section id="members"')
    assert "viewer was removed from the project" in html
    assert not Membership.objects.filter(user=viewer, project=project).exists()
    # The removed user no longer sees the project.
    client.force_login(viewer)
    assert client.get(reverse("dashboard:session_list", args=["acme"])).status_code == 404


def test_removing_without_htmx_goes_back_to_the_settings_page(client, admin_user, viewer, project):
    client.force_login(admin_user)
    response = client.post(url("member_remove", membership_of("viewer", project).pk))
    assert response.status_code == 302 and response["Location"] == url("settings")
    assert not Membership.objects.filter(user=viewer, project=project).exists()


def test_removal_needs_a_post_with_the_csrf_token(admin_user, viewer, project):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    remove = url("member_remove", membership_of("viewer", project).pk)
    assert client.get(remove).status_code == 405
    assert client.post(remove).status_code == 403
    assert Membership.objects.filter(user=viewer, project=project).exists()


@pytest.mark.parametrize("who", ["viewer", "editor"])
def test_non_admins_cannot_remove_members(client, request, who, admin_user, project):
    client.force_login(request.getfixturevalue(who))
    response = client.post(url("member_remove", membership_of("padmin", project).pk))
    assert response.status_code == 403
    assert Membership.objects.filter(user=admin_user, project=project).exists()


def test_a_member_of_another_project_is_a_404(client, admin_user, outsider, project):
    client.force_login(admin_user)
    theirs = Membership.objects.get(user=outsider)
    assert client.post(url("member_remove", theirs.pk)).status_code == 404
    assert Membership.objects.filter(pk=theirs.pk).exists()


def test_another_projects_admin_cannot_remove_members_here(client, outsider, viewer, project):
    client.force_login(outsider)
    response = client.post(url("member_remove", membership_of("viewer", project).pk))
    assert response.status_code == 404
    assert Membership.objects.filter(user=viewer, project=project).exists()


def test_an_admin_cannot_remove_themselves(client, admin_user, project):
    client.force_login(admin_user)
    mine = membership_of("padmin", project)
    assert url("member_remove", mine.pk) not in client.get(url("settings")).content.decode()
    response = client.post(url("member_remove", mine.pk), **htmx("members"))
    assert response.status_code == 400
    assert "You cannot remove yourself" in response.content.decode()
    assert Membership.objects.filter(pk=mine.pk).exists()


def test_the_last_admin_is_never_removed(admin_user, project):
    from sessions_app.errors import Conflict
    from sessions_app.services.projects import membership_remove

    with pytest.raises(Conflict, match="last admin"):
        membership_remove(membership=membership_of("padmin", project))
    assert Membership.objects.filter(user=admin_user, project=project).exists()


def test_an_admin_removes_another_admin_while_one_remains(client, admin_user, project):
    from sessions_app.services.projects import membership_set

    other = UserFactory(username="second-admin")
    membership_set(user=other, project=project, role="admin")
    client.force_login(admin_user)
    response = client.post(url("member_remove", membership_of("second-admin", project).pk))
    assert response.status_code == 302
    assert list(Membership.objects.filter(project=project, role="admin")) == [
        membership_of("padmin", project)
    ]


def test_the_last_admin_keeps_their_role_whoever_asks(admin_user, project):
    from sessions_app.errors import Conflict
    from sessions_app.services.projects import membership_set

    # No acting user: the management command and scripts call it this way.
    with pytest.raises(Conflict, match="last admin") as refused:
        membership_set(user=admin_user, project=project, role="viewer")
    assert refused.value.code == "last_admin" and refused.value.field == "role"
    assert membership_of("padmin", project).role == "admin"
    # With a second admin, the first can be given another role.
    membership_set(user=UserFactory(username="second-admin"), project=project, role="admin")
    membership_set(user=admin_user, project=project, role="editor")
    assert membership_of("padmin", project).role == "editor"


def test_create_user_refuses_to_demote_the_last_admin(admin_user, project):
    from django.core.management import CommandError, call_command

    password = admin_user.password
    with pytest.raises(CommandError, match="last admin"):
        call_command("create_user", "padmin", password="x" * 12, project="acme", role="viewer")
    assert membership_of("padmin", project).role == "admin"
    admin_user.refresh_from_db()
    assert admin_user.password == password  # nothing of the refused command was kept
