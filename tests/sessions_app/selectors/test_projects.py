"""Reads of projects, members, API keys and users: scoped to one project, 404 for another's."""

from __future__ import annotations

import pytest
from django.http import Http404

from sessions_app.models import Membership
from sessions_app.selectors.projects import (
    project_api_key,
    project_api_keys,
    project_by_slug,
    project_member,
    project_members,
    project_to_open,
    projects_for_user,
    role_of,
    user_by_username,
)
from sessions_app.services.projects import api_key_create
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_member_sees_only_their_projects_and_a_superuser_all(project, other_project):
    member = MembershipFactory(project=project).user
    boss = UserFactory(is_superuser=True)
    assert list(projects_for_user(member)) == [project]
    assert set(projects_for_user(boss)) == {project, other_project}


def test_the_front_door_opens_the_last_project_still_visible_else_the_first(project):
    second = ProjectFactory()
    user = MembershipFactory(project=project).user
    MembershipFactory(project=second, user=user)
    assert project_to_open(user, second.slug) == second
    assert project_to_open(user, "gone") in {project, second}
    assert project_to_open(UserFactory(), None) is None


def test_roles_come_from_memberships_and_superusers_are_admins(project):
    membership = MembershipFactory(project=project, role=Membership.Role.EDITOR)
    assert role_of(membership.user, project) == "editor"
    assert role_of(UserFactory(), project) is None
    assert role_of(UserFactory(is_superuser=True), project) == "admin"


def test_a_project_is_found_by_slug(project):
    assert project_by_slug(project.slug) == project
    assert project_by_slug("no-such-project") is None


def test_members_come_by_username_and_another_projects_member_is_a_404(project, other_project):
    MembershipFactory(project=project, user=UserFactory(username="zed"))
    MembershipFactory(project=project, user=UserFactory(username="amy"))
    theirs = MembershipFactory(project=other_project)
    assert [m.user.username for m in project_members(project)] == ["amy", "zed"]
    with pytest.raises(Http404):
        project_member(project, theirs.pk)


def test_api_keys_are_the_projects_own(project, other_project):
    key, _ = api_key_create(project=project, name="ci")
    theirs, _ = api_key_create(project=other_project, name="ci")
    assert project_api_keys(project) == [key]
    assert project_api_key(project, key.pk) == key
    with pytest.raises(Http404):
        project_api_key(project, theirs.pk)


def test_a_user_is_found_by_username():
    user = UserFactory(username="lena")
    assert user_by_username("lena") == user
    assert user_by_username("nobody") is None
