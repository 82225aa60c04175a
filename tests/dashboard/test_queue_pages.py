"""Annotation queues: setting up, adding sessions, the reviewer's item page and its lock."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import (
    AnnotationQueue,
    Comment,
    DataType,
    QueueItem,
    Score,
    ScoreConfig,
    SessionScore,
)
from sessions_app.services.queues import queue_items_add, queue_save
from tests.factories import MembershipFactory, UserFactory

from .conftest import htmx, make_session

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"dashboard:{name}", args=args)


@pytest.fixture
def helpful(project):
    return ScoreConfig.objects.create(
        project=project, name="helpfulness", data_type=DataType.NUMERIC, min_value=1, max_value=5
    )


@pytest.fixture
def queue(project, helpful):
    return queue_save(project=project, name="Triage", score_configs=[helpful])


@pytest.fixture
def three(project, queue):
    sessions = [make_session(project, f"q-{n}") for n in range(3)]
    queue_items_add(queue=queue, sessions=sessions, added_by="test")
    return sessions


def test_an_editor_creates_a_queue_with_its_configs_and_members(client, editor, helpful):
    client.force_login(editor)
    r = client.post(
        url("queue_list", "acme"),
        {"name": "Errors", "score_configs": [helpful.pk], "members": [editor.pk]},
    )
    assert r.status_code == 302
    queue = AnnotationQueue.objects.get()
    assert list(queue.score_configs.all()) == [helpful]
    assert list(queue.members.all()) == [editor]


def test_a_viewer_reads_queues_but_may_not_create_one(client, viewer, queue):
    client.force_login(viewer)
    assert client.get(url("queue_list", "acme")).status_code == 200
    assert client.get(url("queue_detail", "acme", queue.pk)).status_code == 200
    assert client.post(url("queue_list", "acme"), {"name": "x"}).status_code == 403


def test_the_queue_pages_have_their_partials(client, editor, queue):
    client.force_login(editor)
    r = client.get(url("queue_list", "acme"), **htmx("queue-list"))
    assert r.status_code == 200 and "<html" not in r.content.decode()
    r = client.get(url("queue_detail", "acme", queue.pk), **htmx("queue-progress"))
    assert r.status_code == 200 and "<html" not in r.content.decode()


def test_another_projects_user_gets_404_for_a_queue(client, outsider, queue, three):
    client.force_login(outsider)
    item = QueueItem.objects.first()
    assert client.get(url("queue_detail", "acme", queue.pk)).status_code == 404
    assert client.get(url("queue_item", "acme", queue.pk, item.pk)).status_code == 404


def test_a_queue_of_another_project_is_a_404(client, editor, other_project):
    other = queue_save(project=other_project, name="Theirs")
    client.force_login(editor)
    assert client.get(url("queue_detail", "acme", other.pk)).status_code == 404


def test_the_queue_list_queries_are_pinned(client, editor, queue, three, django_assert_num_queries):
    client.force_login(editor)
    # session, user, project, membership, queues, their counts, members and configs for the form
    with django_assert_num_queries(8):
        client.get(url("queue_list", "acme"), **htmx("queue-list"))


def test_an_editor_adds_a_session_from_its_page(client, editor, queue, session):
    client.force_login(editor)
    r = client.post(url("session_queue_add", "acme", session.pk), {"queue": queue.pk})
    assert r.status_code == 302
    assert QueueItem.objects.filter(queue=queue, session=session).exists()
    # Twice is still once.
    client.post(url("session_queue_add", "acme", session.pk), {"queue": queue.pk})
    assert QueueItem.objects.filter(queue=queue).count() == 1


def test_a_reviewer_completes_an_item_with_a_score_and_comment_and_gets_the_next(
    client, editor, queue, three, helpful
):
    client.force_login(editor)
    start = client.get(url("queue_work", "acme", queue.pk))
    first = QueueItem.objects.order_by("pk").first()
    assert start.url == url("queue_item", "acme", queue.pk, first.pk)
    page = client.get(start.url)
    assert page.status_code == 200 and "question 0 from q-0" in page.content.decode()
    r = client.post(
        url("queue_item_done", "acme", queue.pk, first.pk),
        {"action": "complete", f"score_{helpful.pk}": "5", "comment": "great"},
    )
    second = QueueItem.objects.order_by("pk")[1]
    assert r.url == url("queue_item", "acme", queue.pk, second.pk)
    first.refresh_from_db()
    assert (first.status, first.done_by, first.locked_by) == ("completed", editor, None)
    assert Score.objects.get().value == 5.0
    assert Comment.objects.get().text == "great"
    # The list's value of the score follows (its column, filter and sort read it).
    assert SessionScore.objects.get(session=first.session).display == "5"


def test_a_bad_score_completes_nothing(client, editor, queue, three, helpful):
    client.force_login(editor)
    first = QueueItem.objects.order_by("pk").first()
    r = client.post(
        url("queue_item_done", "acme", queue.pk, first.pk),
        {"action": "complete", f"score_{helpful.pk}": "7", "comment": "x"},
    )
    assert r.status_code == 422
    first.refresh_from_db()
    assert first.status == "pending"
    assert not Score.objects.exists() and not Comment.objects.exists()
    assert not SessionScore.objects.exists()


def test_skipping_moves_on_and_the_progress_counts_per_reviewer(client, editor, queue, three):
    client.force_login(editor)
    items = list(QueueItem.objects.order_by("pk"))
    client.post(url("queue_item_done", "acme", queue.pk, items[0].pk), {"action": "skip"})
    client.post(url("queue_item_done", "acme", queue.pk, items[1].pk), {"action": "complete"})
    page = client.get(url("queue_detail", "acme", queue.pk)).content.decode()
    assert "<b>1</b> done, <b>1</b> skipped, <b>1</b> to do of 3" in page
    assert '<td>editor</td><td class="num">1</td><td class="num">1</td>' in page


def test_an_item_open_by_someone_else_is_locked_for_a_few_minutes(
    client, editor, project, queue, three
):
    other = MembershipFactory(project=project, role="editor", user=UserFactory(username="ed2")).user
    item = QueueItem.objects.order_by("pk").first()
    client.force_login(editor)
    client.get(url("queue_item", "acme", queue.pk, item.pk))
    client.force_login(other)
    r = client.get(url("queue_item", "acme", queue.pk, item.pk))
    assert r.status_code == 409 and "Someone else" in r.content.decode()
    r = client.post(url("queue_item_done", "acme", queue.pk, item.pk), {"action": "skip"})
    assert r.status_code == 409
    # The next free item skips the locked one.
    assert client.get(url("queue_work", "acme", queue.pk)).url.endswith(f"/{item.pk + 1}/")
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        assert client.get(url("queue_item", "acme", queue.pk, item.pk)).status_code == 200


def test_a_viewer_works_a_queue_only_when_the_project_lets_them(
    client, viewer, project, queue, three
):
    item = QueueItem.objects.first()
    client.force_login(viewer)
    assert client.get(url("queue_item", "acme", queue.pk, item.pk)).status_code == 403
    project.viewers_may_review = True
    project.save()
    assert client.get(url("queue_item", "acme", queue.pk, item.pk)).status_code == 200


def test_when_nothing_is_left_the_reviewer_lands_on_the_queue(client, editor, queue):
    client.force_login(editor)
    r = client.get(url("queue_work", "acme", queue.pk))
    assert r.url == url("queue_detail", "acme", queue.pk) + "?done=1"


def test_the_item_page_shows_a_call_s_result_past_its_first_events(client, editor, queue, project):
    # The item page shows the first 100 events; a call among them keeps its result, even when
    # the result comes after them, as on the session page.
    from .test_transcript_calls import call, conversation, inside_call, message, result

    events = [message("long", n) for n in range(1, 99)]
    events += [call("long", "c-never"), call("long", "c-late")]  # #99, #100
    events += [*[message("long", n) for n in range(101, 111)], result("long", "c-late")]  # #111
    session = conversation(project, "long", events)
    queue_items_add(queue=queue, sessions=[session], added_by="test")
    item = QueueItem.objects.get(session=session)
    client.force_login(editor)
    html = client.get(url("queue_item", "acme", queue.pk, item.pk)).content.decode()
    assert inside_call(html, 100, 111) and "rows for c-late" in html
    assert 'id="ev-110"' not in html  # the page is still the first 100 events
    assert "no result yet" in html and "result not shown" not in html
