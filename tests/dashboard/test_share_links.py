"""Share links: made and revoked by editors and admins, listed in settings; the shared page
opens one session's transcript without an account, and nothing else."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import ShareLink
from sessions_app.selectors.sharing import token_hash
from sessions_app.services.reviews import session_review_set
from sessions_app.services.sharing import share_link_create

from .conftest import htmx, make_session

pytestmark = pytest.mark.django_db


def url(name: str, *args) -> str:
    return reverse(f"dashboard:{name}", args=["acme", *args])


def shared_url(token: str) -> str:
    return reverse("dashboard:shared_session", args=[token])


def test_an_editor_makes_a_link_shown_once_and_only_its_hash_is_stored(client, editor, session):
    client.force_login(editor)
    response = client.post(url("session_share", session.pk), {"days": "7", "note": "for Ana"})
    html = response.content.decode()
    assert response.status_code == 201
    link_url = re.search(r'id="new-share-url" class="code">([^<]+)<', html).group(1)
    token = link_url.rstrip("/").rsplit("/", 1)[1]
    assert len(token) >= 40
    link = ShareLink.objects.get()
    assert link.token_hash == token_hash(token) and token not in link.token_hash
    assert link.note == "for Ana" and link.created_by == editor and link.hint == token[:6]
    expires_in = link.expires_at - timezone.now()
    assert timedelta(days=6, hours=23) < expires_in <= timedelta(days=7)
    # Never shown again.
    assert token not in client.get(url("session_share", session.pk)).content.decode()


def test_making_a_link_from_the_region_returns_the_region(client, admin_user, session):
    client.force_login(admin_user)
    response = client.post(url("session_share", session.pk), {"days": "3"}, **htmx("share-links"))
    assert response.status_code == 201
    assert response.content.decode().lstrip().startswith('<section id="share-links"')


@pytest.mark.parametrize("days", ["0", "91", "x", ""])
def test_a_link_lasts_one_to_ninety_days(client, editor, session, days):
    client.force_login(editor)
    response = client.post(url("session_share", session.pk), {"days": days})
    assert response.status_code == 400 and not ShareLink.objects.exists()


def test_a_viewer_can_neither_make_nor_list_nor_revoke_links(client, viewer, session):
    link, _ = share_link_create(session=session, user=None)
    client.force_login(viewer)
    assert client.get(url("session_share", session.pk)).status_code == 403
    assert client.post(url("session_share", session.pk), {"days": "7"}).status_code == 403
    assert client.get(url("share_links")).status_code == 403
    assert client.post(url("share_link_revoke", link.pk)).status_code == 403
    assert ShareLink.objects.get().revoked_at is None


def test_another_projects_user_gets_404_everywhere(client, outsider, session):
    link, _ = share_link_create(session=session, user=None)
    client.force_login(outsider)
    assert client.get(url("session_share", session.pk)).status_code == 404
    assert client.post(url("session_share", session.pk), {"days": "7"}).status_code == 404
    assert client.get(url("share_links")).status_code == 404
    assert client.post(url("share_link_revoke", link.pk)).status_code == 404
    # Through their own project: the link is not theirs.
    theirs = reverse("dashboard:share_link_revoke", args=["other", link.pk])
    assert client.post(theirs).status_code == 404
    assert ShareLink.objects.get().revoked_at is None


def test_the_settings_list_shows_every_link_with_its_state_and_openings(
    client, admin_user, project, session
):
    other = make_session(project, "s-two")
    share_link_create(session=session, user=admin_user, note="active one")
    revoked, _ = share_link_create(session=other, user=admin_user, note="revoked one")
    revoked.revoked_at = timezone.now()
    revoked.save()
    client.force_login(admin_user)
    assert url("share_links") in client.get(url("settings")).content.decode()
    html = client.get(url("share_links")).content.decode()
    assert "active one" in html and "revoked one" in html and "s-two" in html
    assert html.count(">Revoke</button>") == 1


def test_share_links_page_query_count(
    client, admin_user, project, session, django_assert_num_queries
):
    for n in range(3):
        share_link_create(session=make_session(project, f"q{n}"), user=admin_user)
    client.force_login(admin_user)
    client.get(url("share_links"))
    # session, user, project, role, links (with sessions and authors), switcher
    with django_assert_num_queries(6):
        assert client.get(url("share_links")).status_code == 200
    with django_assert_num_queries(5):
        client.get(url("share_links"), **htmx("share-links"))


def test_revoking_a_link_stops_it(client, editor, session):
    link, token = share_link_create(session=session, user=None)
    assert client.get(shared_url(token)).status_code == 200
    client.force_login(editor)
    response = client.post(
        url("share_link_revoke", link.pk), {"scope": "session"}, **htmx("share-links")
    )
    assert response.status_code == 200 and "revoked" in response.content.decode()
    client.logout()
    response = client.get(shared_url(token))
    assert response.status_code == 410 and "revoked" in response.content.decode()
    assert "question 0" not in response.content.decode()


def test_revoking_without_htmx_goes_back_to_the_list(client, editor, session):
    link, _ = share_link_create(session=session, user=None)
    client.force_login(editor)
    response = client.post(url("share_link_revoke", link.pk))
    assert response.status_code == 302 and response["Location"] == url("share_links")


def test_the_shared_page_shows_the_transcript_only_and_counts_each_opening(
    client, editor, project, session
):
    session_review_set(session=session, status="flagged", note="secret review note", user=editor)
    make_session(project, "s-sibling")
    link, token = share_link_create(session=session, user=editor)
    response = client.get(shared_url(token))
    html = response.content.decode()
    assert response.status_code == 200
    assert "question 0 from s-main" in html and "answer 1" in html and "found 1 row" in html
    assert "read-only" in html.lower() and "shared" in html.lower()
    # No project data, review, costs, other sessions or links into the dashboard.
    for hidden in ("Acme", "acme", "secret review note", "flagged", "s-sibling", "$0", "gpt-4o"):
        assert hidden not in html, hidden
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    client.get(shared_url(token))
    link.refresh_from_db()
    assert link.open_count == 2 and link.last_opened_at is not None


def test_the_shared_transcript_pages_by_seq(client, project, monkeypatch):
    from dashboard.views import share

    monkeypatch.setattr(share, "PAGE_SIZE", 3)
    session = make_session(project, "long", turns=2)
    link, token = share_link_create(session=session, user=None)
    html = client.get(shared_url(token)).content.decode()
    assert "question 0" in html and "question 1" not in html
    assert f"{shared_url(token)}?after_seq=3" in html
    more = client.get(f"{shared_url(token)}?after_seq=3", **htmx("shared-more"))
    part = more.content.decode()
    assert "question 1" in part and "<html" not in part
    link.refresh_from_db()
    assert link.open_count == 1  # later pages are the same opening


def test_an_expired_link_stops_working(client, session):
    link, token = share_link_create(session=session, user=None, days=1)
    with time_machine.travel(timezone.now() + timedelta(days=1, minutes=1)):
        response = client.get(shared_url(token))
    assert response.status_code == 410 and "expired" in response.content.decode()
    link.refresh_from_db()
    assert link.open_count == 0


def test_an_unknown_token_is_404(client, session):
    share_link_create(session=session, user=None)
    assert client.get(shared_url("not-a-real-token")).status_code == 404
    assert client.get(shared_url("x" * 150)).status_code == 404


def test_a_link_opens_only_its_own_session(client, project, session):
    other = make_session(project, "s-other")
    _, token = share_link_create(session=other, user=None)
    html = client.get(shared_url(token)).content.decode()
    assert "s-other" in html and "s-main" not in html


def test_a_deleted_session_takes_its_links_with_it(client, session):
    from sessions_app.services.sessions import session_delete

    _, token = share_link_create(session=session, user=None)
    session_delete(session=session)
    assert client.get(shared_url(token)).status_code == 404


def test_the_shared_page_query_count(client, session, django_assert_num_queries):
    _, token = share_link_create(session=session, user=None)
    # the link with its session, counting the opening, the events
    with django_assert_num_queries(3):
        client.get(shared_url(token))
    # HEAD: the same but the opening
    with django_assert_num_queries(2):
        client.head(shared_url(token))


def no_writes(queries) -> bool:
    return all(
        q["sql"].lstrip().upper().startswith(("SELECT", "SAVEPOINT", "RELEASE")) for q in queries
    )


def test_head_answers_as_get_without_a_body_and_counts_no_opening(client, session):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    link, token = share_link_create(session=session, user=None)
    with CaptureQueriesContext(connection) as queries:
        head = client.head(shared_url(token))
    assert head.status_code == 200 and head.content == b""
    assert no_writes(queries.captured_queries), queries.captured_queries
    link.refresh_from_db()
    assert link.open_count == 0 and link.last_opened_at is None
    get = client.get(shared_url(token))
    for name in ("Content-Type", "Content-Length", "Cache-Control", "Referrer-Policy"):
        assert head[name] == get[name], name
    assert head["X-Robots-Tag"] == get["X-Robots-Tag"] == "noindex, nofollow"
    assert int(head["Content-Length"]) == len(get.content) > 0
    link.refresh_from_db()
    assert link.open_count == 1  # the GET


def test_head_of_a_later_transcript_page_answers_as_get(client, project, monkeypatch):
    from dashboard.views import share

    monkeypatch.setattr(share, "PAGE_SIZE", 3)
    link, token = share_link_create(session=make_session(project, "long", turns=2), user=None)
    later = f"{shared_url(token)}?after_seq=3"
    head = client.head(later, **htmx("shared-more"))
    get = client.get(later, **htmx("shared-more"))
    assert head.status_code == get.status_code == 200
    assert int(head["Content-Length"]) == len(get.content)
    link.refresh_from_db()
    assert link.open_count == 0


@pytest.mark.parametrize("state", ["unknown", "revoked", "expired"])
def test_head_on_a_bad_link_answers_as_get_does_and_writes_nothing(client, session, state):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    link, token = share_link_create(session=session, user=None, days=1)
    if state == "unknown":
        token = "not-a-real-token"
    if state == "revoked":
        link.revoked_at = timezone.now()
        link.save()
    later = timezone.now() + timedelta(days=1, minutes=1) if state == "expired" else None
    with time_machine.travel(later or timezone.now()):
        get = client.get(shared_url(token))
        with CaptureQueriesContext(connection) as queries:
            head = client.head(shared_url(token))
    assert head.status_code == get.status_code == (404 if state == "unknown" else 410)
    assert head.content == b"" and int(head["Content-Length"]) == len(get.content)
    assert head["Referrer-Policy"] == get["Referrer-Policy"] == "no-referrer"
    assert no_writes(queries.captured_queries)
    link.refresh_from_db()
    assert link.open_count == 0


def serve(method: str, path: str) -> tuple[int, dict[str, str], bytes]:
    """One request through config.wsgi.application, as the server makes it (Django's test
    client drops a HEAD answer's body itself; the application does not, on the pages' chain)."""
    from django.test import RequestFactory

    from config.wsgi import application

    answer: dict = {}

    def start_response(status: str, headers: list, exc_info=None) -> None:
        answer["status"], answer["headers"] = int(status[:3]), dict(headers)

    chunks = application(RequestFactory().generic(method, path).environ, start_response)
    try:
        content = b"".join(chunks)
    finally:
        getattr(chunks, "close", lambda: None)()
    return answer["status"], answer["headers"], content


# The real handler closes a connection whose autocommit differs from the settings' at each
# request's start and end: outside a test transaction (tests/config/test_wsgi.py).
@pytest.mark.django_db(transaction=True)
def test_the_server_sends_head_no_body_and_gets_content_length_of_get(session):
    link, token = share_link_create(session=session, user=None)
    status, headers, content = serve("HEAD", shared_url(token))
    assert (status, content) == (200, b"")
    link.refresh_from_db()
    assert link.open_count == 0
    got_status, got_headers, got = serve("GET", shared_url(token))
    assert got_status == 200 and len(got) > 0
    assert headers["Content-Length"] == got_headers["Content-Length"] == str(len(got))
    assert serve("HEAD", shared_url("not-a-real-token"))[::2] == (404, b"")


def test_post_to_a_shared_page_is_still_refused(client, session):
    link, token = share_link_create(session=session, user=None)
    response = client.post(shared_url(token))
    assert response.status_code == 405 and response["Allow"] == "GET, HEAD"
    link.refresh_from_db()
    assert link.open_count == 0


def test_the_session_page_offers_sharing_to_editors_only(client, editor, viewer, session):
    client.force_login(editor)
    assert (
        url("session_share", session.pk)
        in client.get(url("session_detail", session.pk)).content.decode()
    )
    client.force_login(viewer)
    assert (
        url("session_share", session.pk)
        not in client.get(url("session_detail", session.pk)).content.decode()
    )
