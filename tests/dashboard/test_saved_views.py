"""Saved views of the sessions list: personal or shared with the project, picked on the list."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sessions_app.models import SavedView

from ..factories import MembershipFactory, UserFactory
from .conftest import htmx

pytestmark = pytest.mark.django_db


def url(name: str, *args) -> str:
    return reverse(f"dashboard:{name}", args=["acme", *args])


def save(client, name: str, query: str, *, shared: bool = False, **headers):
    data = {"name": name, "query": query, **({"shared": "1"} if shared else {})}
    return client.post(url("saved_view_new"), data, **headers)


def test_an_editor_saves_the_lists_filters_and_sort_and_picks_them_from_the_list(
    client, editor, project
):
    client.force_login(editor)
    response = save(client, "Costly errors", "has_errors=1&sort=-cost_usd&cursor=abc")
    view = SavedView.objects.get()
    # Valid fields only, keys sorted, no cursor: the view is an address of the list.
    assert view.query == "has_errors=1&sort=-cost_usd" and not view.shared
    assert response.status_code == 302 and response["Location"].endswith(
        "?has_errors=1&sort=-cost_usd"
    )
    html = client.get(url("session_list")).content.decode()
    assert 'href="/p/acme/sessions/?has_errors=1&amp;sort=-cost_usd">Costly errors</a>' in html


def test_saving_from_the_picker_returns_the_picker(client, editor, project):
    client.force_login(editor)
    response = save(client, "Flagged", "review=flagged", **htmx("saved-views"))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="saved-views"') and "Flagged" in html


def test_invalid_filters_are_left_out_of_a_view(client, editor, project):
    client.force_login(editor)
    save(client, "Odd", "status=bogus&agent=alpha&min_cost=abc")
    assert SavedView.objects.get().query == "agent=alpha"


def test_a_view_keeps_a_cost_range_and_leaves_out_an_invalid_max_cost(client, editor, project):
    client.force_login(editor)
    save(client, "Mid", "min_cost=0.1&max_cost=1")
    save(client, "Bad", "min_cost=0.1&max_cost=lots")
    save(client, "Empty", "min_cost=1&max_cost=0.1")
    assert dict(SavedView.objects.values_list("name", "query")) == {
        "Mid": "max_cost=1&min_cost=0.1",
        "Bad": "min_cost=0.1",
        "Empty": "min_cost=1",
    }


def test_a_view_needs_a_name_and_a_new_one(client, editor, project):
    client.force_login(editor)
    assert save(client, "", "agent=a", **htmx("saved-views")).status_code == 400
    save(client, "Mine", "agent=a")
    response = save(client, "Mine", "agent=b", **htmx("saved-views"))
    assert response.status_code == 400 and "already have a view" in response.content.decode()
    assert SavedView.objects.count() == 1


def test_a_personal_view_is_seen_by_its_owner_only_and_a_shared_one_by_the_project(
    client, editor, viewer, project
):
    client.force_login(editor)
    save(client, "Editor's own", "agent=a")
    save(client, "Team view", "agent=b", shared=True)
    client.force_login(viewer)
    html = client.get(url("session_list")).content.decode()
    assert "Team view" in html and "by editor" in html
    assert "Editor&#x27;s own" not in html and "Editor's own" not in html


def test_a_viewer_keeps_personal_views_but_cannot_share_one(client, viewer, project):
    client.force_login(viewer)
    assert save(client, "Mine", "agent=a").status_code == 302
    response = save(client, "Everyone", "agent=a", shared=True, **htmx("saved-views"))
    assert response.status_code == 400 and "editor role" in response.content.decode()
    assert list(SavedView.objects.values_list("name", "shared")) == [("Mine", False)]


def test_the_owner_deletes_their_view_and_others_cannot(client, editor, viewer, project):
    client.force_login(editor)
    save(client, "Team view", "agent=b", shared=True)
    view = SavedView.objects.get()
    client.force_login(viewer)
    assert client.post(url("saved_view_remove", view.pk)).status_code == 403
    client.force_login(editor)
    response = client.post(url("saved_view_remove", view.pk), **htmx("saved-views"))
    assert response.status_code == 200 and not SavedView.objects.exists()


def test_an_admin_deletes_a_shared_view_but_not_a_personal_one(client, editor, admin_user, project):
    client.force_login(editor)
    save(client, "Team view", "agent=b", shared=True)
    save(client, "Private", "agent=c")
    shared = SavedView.objects.get(name="Team view")
    private = SavedView.objects.get(name="Private")
    client.force_login(admin_user)
    assert client.post(url("saved_view_remove", private.pk)).status_code == 404
    assert client.post(url("saved_view_remove", shared.pk)).status_code == 302
    assert list(SavedView.objects.values_list("name", flat=True)) == ["Private"]


def test_another_projects_user_gets_404(client, editor, outsider, project):
    client.force_login(editor)
    save(client, "Team view", "agent=b", shared=True)
    view = SavedView.objects.get()
    client.force_login(outsider)
    assert save(client, "x", "agent=a").status_code == 404
    assert client.post(url("saved_view_remove", view.pk)).status_code == 404
    # Their own project does not reach it either.
    theirs = reverse("dashboard:saved_view_remove", args=["other", view.pk])
    assert client.post(theirs).status_code == 404
    assert SavedView.objects.count() == 1


def test_a_shared_view_of_another_project_is_not_offered(client, viewer, other_project, project):
    stranger = MembershipFactory(project=other_project, user=UserFactory(username="s")).user
    SavedView.objects.create(
        project=other_project, owner=stranger, name="Elsewhere", query="agent=x", shared=True
    )
    client.force_login(viewer)
    assert "Elsewhere" not in client.get(url("session_list")).content.decode()


def test_saving_needs_post(client, editor, project):
    client.force_login(editor)
    assert client.get(url("saved_view_new")).status_code == 405
