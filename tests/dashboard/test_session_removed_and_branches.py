"""The session page shows what an agent removed (hidden until asked) and one branch at a time."""

from __future__ import annotations

from django.urls import reverse

from sessions_app.inputs import EventInput
from sessions_app.models import AgentSession
from sessions_app.services.branches import branch_create_from_turn
from sessions_app.services.events import event_pop_last, events_append

from .conftest import htmx


def page_url(session, name="dashboard:session_detail") -> str:
    return reverse(name, args=[session.project.slug, session.pk])


def user(eid: str, text: str, branch: str = "main") -> EventInput:
    return EventInput(external_id=eid, source="user", role="user", content=text, branch=branch)


def popped_session(project) -> AgentSession:
    events_append(
        project=project,
        session_external_id="popped",
        events=[user("a", "kept question"), user("b", "popped question")],
    )
    session = AgentSession.objects.get(external_id="popped")
    event_pop_last(session=session)
    return session


def test_removed_items_are_hidden_by_default_with_a_link_to_show_them(client, viewer, project):
    session = popped_session(project)
    client.force_login(viewer)
    html = client.get(page_url(session)).content.decode()
    assert "kept question" in html
    assert "popped question" not in html
    assert "Show items the agent removed" in html
    assert "removed=1" in html


def test_one_click_shows_removed_items_marked_with_their_call(client, viewer, project):
    session = popped_session(project)
    client.force_login(viewer)
    html = client.get(page_url(session) + "?removed=1").content.decode()
    assert "popped question" in html
    assert "removed by pop" in html
    assert "is-removed" in html
    assert "hide them" in html


def test_the_transcript_partial_keeps_showing_removed_items(client, viewer, project):
    session = popped_session(project)
    client.force_login(viewer)
    response = client.get(
        page_url(session, "dashboard:session_events") + "?removed=1", **htmx("transcript")
    )
    html = response.content.decode()
    assert "<html" not in html
    assert "popped question" in html


def test_another_projects_member_cannot_see_removed_items(client, outsider, project):
    session = popped_session(project)
    client.force_login(outsider)
    assert client.get(page_url(session) + "?removed=1").status_code == 404


def branched_session(project) -> AgentSession:
    events_append(
        project=project,
        session_external_id="branched",
        events=[user("m1", "first turn"), user("m2", "second turn on main")],
    )
    session = AgentSession.objects.get(external_id="branched")
    branch_create_from_turn(session=session, name="retry", from_turn=2)
    events_append(
        project=project,
        session_external_id="branched",
        events=[user("r2", "second turn retried", branch="retry")],
    )
    return session


def test_the_branch_selector_lists_each_branch(client, viewer, project):
    session = branched_session(project)
    client.force_login(viewer)
    html = client.get(page_url(session)).content.decode()
    assert 'name="branch"' in html
    assert ">main</option>" in html
    assert "retry (from main, turn 2)" in html
    # All branches by default, each event labelled with its branch when it is not main.
    assert html.count('class="tag branch"') == 1


def test_a_branch_shows_its_parents_turns_before_the_fork_and_its_own(client, viewer, project):
    session = branched_session(project)
    client.force_login(viewer)
    html = client.get(page_url(session) + "?branch=retry").content.decode()
    assert "first turn" in html
    assert "second turn retried" in html
    assert "second turn on main" not in html
    main = client.get(
        page_url(session, "dashboard:session_events") + "?branch=main", **htmx("transcript")
    ).content.decode()
    assert "second turn on main" in main
    assert "second turn retried" not in main


def test_a_deleted_branch_leaves_the_selector_and_its_items_show_as_removed(
    client, viewer, project
):
    from sessions_app.services.branches import branch_delete

    session = branched_session(project)
    branch_delete(session=session, name="retry")
    client.force_login(viewer)
    html = client.get(page_url(session)).content.decode()
    assert 'name="branch"' not in html
    assert "second turn retried" not in html
    shown = client.get(page_url(session) + "?removed=1").content.decode()
    assert "second turn retried" in shown
    assert "removed by delete_branch" in shown
    assert client.get(page_url(session) + "?branch=retry").status_code == 404


def test_an_unknown_branch_is_404(client, viewer, project):
    session = branched_session(project)
    client.force_login(viewer)
    assert client.get(page_url(session) + "?branch=nope").status_code == 404


def test_a_session_without_branches_shows_no_selector(client, viewer, session):
    client.force_login(viewer)
    assert 'name="branch"' not in client.get(page_url(session)).content.decode()


def test_a_branch_transcript_costs_one_query_more(
    client, viewer, project, django_assert_num_queries
):
    session = branched_session(project)
    client.force_login(viewer)
    url = page_url(session, "dashboard:session_events") + "?branch=retry"
    client.get(url, **htmx("transcript"))
    # session row, user, project, role, session, the branch rows, events page, the page's event
    # comments and scores
    with django_assert_num_queries(9):
        client.get(url, **htmx("transcript"))
