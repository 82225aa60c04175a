"""The list's bulk "add to queue": picked rows or all matching the filter go into a queue of
the project; sessions already in it are skipped and counted; editors only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sessions_app.models import AnnotationQueue, QueueItem, ReviewEvent
from sessions_app.services.queues import queue_items_add

from .conftest import htmx, make_session

pytestmark = pytest.mark.django_db


def url(name: str = "sessions_bulk", slug: str = "acme") -> str:
    return reverse(f"dashboard:{name}", args=[slug])


@pytest.fixture
def three(project):
    return [
        make_session(project, "q-1", agent_name="alpha", turns=0),
        make_session(project, "q-2", agent_name="alpha", turns=0),
        make_session(project, "q-3", agent_name="beta", turns=0),
    ]


@pytest.fixture
def triage(project):
    return AnnotationQueue.objects.create(project=project, name="Triage")


def queued(queue) -> list[str]:
    return sorted(i.session.external_id for i in QueueItem.objects.filter(queue=queue))


def test_an_editor_adds_the_picked_rows_to_a_queue(client, editor, three, triage):
    client.force_login(editor)
    ids = [three[0].pk, three[2].pk]
    response = client.post(
        url(), {"action": "queue", "queue": triage.pk, "ids": ids}, **htmx("bulk-status")
    )
    assert response.status_code == 200
    assert "2 sessions added to Triage." in response.content.decode()
    assert response["HX-Trigger"] == "sessions-changed"
    assert queued(triage) == ["q-1", "q-3"]
    lines = ReviewEvent.objects.filter(kind="queue").values_list("summary", "actor_name")
    assert list(lines) == [("added to queue Triage", "editor")] * 2


def test_all_matching_adds_every_filtered_session_and_skips_those_already_queued(
    client, editor, three, triage
):
    queue_items_add(queue=triage, sessions=[three[0]], added_by="earlier")
    client.force_login(editor)
    response = client.post(
        url(),
        {"action": "queue", "queue": triage.pk, "all": "1", "query": "agent=alpha"},
        **htmx("bulk-status"),
    )
    message = response.content.decode()
    assert "1 session added to Triage; 1 session already in it." in message
    assert queued(triage) == ["q-1", "q-2"]
    assert QueueItem.objects.get(session=three[0]).added_by == "earlier"


def test_no_queue_chosen_or_another_project_s_queue_adds_nothing(
    client, editor, three, other_project
):
    elsewhere = AnnotationQueue.objects.create(project=other_project, name="Theirs")
    client.force_login(editor)
    ids = [three[0].pk]
    for queue in ("", "x", str(elsewhere.pk)):
        response = client.post(
            url(), {"action": "queue", "queue": queue, "ids": ids}, **htmx("bulk-status")
        )
        assert response.status_code in (400, 404)
        assert "HX-Trigger" not in response
    assert not QueueItem.objects.exists()
    assert (
        "Choose a queue."
        in client.post(
            url(), {"action": "queue", "ids": ids}, **htmx("bulk-status")
        ).content.decode()
    )


def test_a_viewer_cannot_add_to_a_queue(client, viewer, three, triage):
    client.force_login(viewer)
    response = client.post(
        url(), {"action": "queue", "queue": triage.pk, "ids": [three[0].pk]}, **htmx("x")
    )
    assert response.status_code == 403 and not QueueItem.objects.exists()
    page = client.get(url("session_list")).content.decode()
    assert 'value="queue"' not in page and 'name="queue"' not in page


def test_another_project_s_user_gets_404(client, outsider, three, triage):
    client.force_login(outsider)
    response = client.post(url(), {"action": "queue", "queue": triage.pk, "ids": [three[0].pk]})
    assert response.status_code == 404 and not QueueItem.objects.exists()


def test_the_bulk_bar_offers_the_project_s_queues(client, editor, three, triage, other_project):
    AnnotationQueue.objects.create(project=other_project, name="Theirs")
    AnnotationQueue.objects.create(project=triage.project, name="Audit")
    client.force_login(editor)
    page = client.get(url("session_list")).content.decode()
    picker = page.split('name="queue"')[1].split("</select>")[0]
    assert ">Audit</option>" in picker and ">Triage</option>" in picker
    assert "Theirs" not in picker and 'value="queue"' in page


def test_without_queues_the_picker_says_so(client, editor, three):
    client.force_login(editor)
    page = client.get(url("session_list")).content.decode()
    assert "No queues yet" in page


def test_bulk_add_query_count(client, editor, project, triage, django_assert_num_queries):
    sessions = [make_session(project, f"n{n}", turns=0) for n in range(20)]
    client.force_login(editor)
    client.get(url("session_list"))
    # session, user, project, role, the queue, the picked sessions, those already queued, one
    # INSERT of the items, one of their history lines, and the savepoint and its release
    with django_assert_num_queries(11):
        response = client.post(
            url(),
            {"action": "queue", "queue": triage.pk, "ids": [s.pk for s in sessions]},
            **htmx("x"),
        )
    assert "20 sessions added to Triage." in response.content.decode()
