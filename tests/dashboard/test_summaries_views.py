"""A session's summaries: list, trigger (editors), pending row that polls, status endpoint."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sessions_app import summaries as text
from sessions_app.models import Summary
from sessions_app.services.summaries import summary_create

from .conftest import htmx

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv(text.MOCK_RESPONSE_ENV, raising=False)


def url(session) -> str:
    return reverse("dashboard:session_summaries", args=[session.project.slug, session.pk])


def status_url(summary) -> str:
    return reverse("dashboard:summary_status", args=["acme", summary.pk])


def test_full_page_lists_past_summaries(client, viewer, session):
    s = summary_create(session=session, strategy="key_points")
    Summary.objects.filter(pk=s.pk).update(status="succeeded", text="- point one", extractive=True)
    client.force_login(viewer)
    response = client.get(url(session))
    html = response.content.decode()
    assert response.status_code == 200 and "<html" in html
    assert "Key points" in html and "point one" in html and "extractive" in html
    # Viewers see summaries but not the trigger form.
    assert 'id="summary-form"' not in html


def test_the_session_page_region_is_a_partial_with_the_form_for_editors(client, editor, session):
    client.force_login(editor)
    response = client.get(url(session), **htmx("session-summaries"))
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert 'id="summary-form"' in html and "No summaries yet." in html


def test_list_queries_are_pinned(client, viewer, session, django_assert_num_queries):
    for strategy in ("basic", "key_points", "topic_based"):
        summary_create(session=session, strategy=strategy)
    client.force_login(viewer)
    # Auth session and user, project and role, the session, the summaries with their events
    # (one query however many), and the last-project bookkeeping of the page chrome.
    with django_assert_num_queries(10):
        client.get(url(session), **htmx("session-summaries"))


def test_an_editor_triggers_a_summary_and_gets_a_row_that_polls(
    client, editor, session, django_capture_on_commit_callbacks
):
    client.force_login(editor)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            url(session), {"strategy": "basic", "model": ""}, **htmx("summary-list")
        )
    html = response.content.decode()
    summary = Summary.objects.get()
    assert response.status_code == 200 and len(callbacks) == 1
    assert summary.requested_by == editor and summary.status == "queued"
    assert f'hx-get="{status_url(summary)}"' in html and "every 1s" in html
    assert "Queued" in html and 'hx-swap-oob="delete"' in html


def test_the_status_row_stops_polling_once_done(client, viewer, session):
    s = summary_create(session=session)
    client.force_login(viewer)
    pending = client.get(status_url(s), **htmx(f"summary-{s.pk}")).content.decode()
    assert "hx-trigger" in pending
    Summary.objects.filter(pk=s.pk).update(status="failed", error="RateLimitError: slow down")
    done = client.get(status_url(s), **htmx(f"summary-{s.pk}")).content.decode()
    assert "hx-trigger" not in done and "RateLimitError: slow down" in done


def test_a_finished_summary_links_to_its_event(
    client, editor, session, django_capture_on_commit_callbacks
):
    client.force_login(editor)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url(session), {"strategy": "query_focused"}, **htmx("summary-list"))
    s = Summary.objects.get()
    html = client.get(status_url(s), **htmx(f"summary-{s.pk}")).content.decode()
    assert "Done" in html and "Q: question 0 from s-main" in html
    assert f"#ev-{s.event.seq}" in html


def test_bad_input_re_renders_the_form_with_the_error(client, editor, session):
    client.force_login(editor)
    response = client.post(url(session), {"strategy": "sonnet"}, **htmx("summary-list"))
    assert response.status_code == 422
    assert response["HX-Retarget"] == "#summary-form"
    assert "Select a valid choice" in response.content.decode()
    assert not Summary.objects.exists()


def test_without_javascript_a_post_redirects_back_to_the_list(client, editor, session):
    client.force_login(editor)
    response = client.post(url(session), {"strategy": "basic"})
    assert response.status_code == 302 and response["Location"] == url(session)


def test_viewers_cannot_trigger(client, viewer, session):
    client.force_login(viewer)
    assert client.post(url(session), {"strategy": "basic"}).status_code == 403
    assert not Summary.objects.exists()


def test_another_projects_user_gets_404_for_the_list_and_the_status(client, outsider, session):
    s = summary_create(session=session)
    client.force_login(outsider)
    assert client.get(url(session)).status_code == 404
    assert client.get(status_url(s), **htmx(f"summary-{s.pk}")).status_code == 404
