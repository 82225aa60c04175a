"""Managing a session from the dashboard: review marks, archive, delete, exports."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from sessions_app.models import AgentSession, Event

from .conftest import htmx, make_session

pytestmark = pytest.mark.django_db


def action(session, name: str) -> str:
    return reverse(f"dashboard:{name}", args=[session.project.slug, session.pk])


def test_editor_marks_a_session_flagged_with_a_note(client, editor, session):
    client.force_login(editor)
    response = client.post(
        action(session, "session_review"),
        {"review_status": "flagged", "review_note": "wrong refund"},
        **htmx("review"),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="review"') and "Saved." in html
    session.refresh_from_db()
    assert session.review_status == "flagged" and session.review_note == "wrong refund"
    assert session.reviewed_by == editor and session.reviewed_at is not None


def test_review_without_htmx_redirects_to_the_session(client, editor, session):
    client.force_login(editor)
    response = client.post(action(session, "session_review"), {"review_status": "reviewed"})
    assert response.status_code == 302 and response["Location"] == action(session, "session_detail")


def test_an_unknown_review_status_is_refused(client, editor, session):
    client.force_login(editor)
    response = client.post(
        action(session, "session_review"), {"review_status": "great"}, **htmx("review")
    )
    assert response.status_code == 400
    session.refresh_from_db()
    assert session.review_status == ""


@pytest.mark.parametrize("name", ["session_review", "session_archive", "session_delete"])
def test_a_viewer_cannot_mutate(client, viewer, session, name):
    client.force_login(viewer)
    response = client.post(
        action(session, name), {"review_status": "reviewed", "confirm": session.external_id}
    )
    assert response.status_code == 403
    assert AgentSession.objects.filter(pk=session.pk, review_status="", status="active").exists()


@pytest.mark.parametrize(
    "name", ["session_review", "session_archive", "session_delete", "session_detail"]
)
def test_another_projects_member_gets_404_on_actions(client, outsider, session, name):
    client.force_login(outsider)
    assert client.post(action(session, name)).status_code in (404, 405)
    assert client.get(action(session, "session_delete")).status_code == 404


def test_archive_and_restore(client, editor, session):
    client.force_login(editor)
    response = client.post(action(session, "session_archive"), **htmx("session-actions"))
    assert response.status_code == 200 and "Unarchive" in response.content.decode()
    assert AgentSession.objects.get(pk=session.pk).status == "archived"
    client.post(action(session, "session_archive"), {"archive": "0"})
    # Unarchived, it has the status it had before, not "completed".
    assert AgentSession.objects.get(pk=session.pk).status == "active"


@pytest.mark.parametrize("before", ["active", "completed"])
def test_unarchive_restores_the_status_the_session_had(client, editor, project, before):
    session = make_session(project, f"s-{before}", turns=1, status=before)
    client.force_login(editor)
    client.post(action(session, "session_archive"))
    client.post(action(session, "session_archive"))  # archiving twice keeps what it was
    client.post(action(session, "session_archive"), {"archive": "0"})
    assert AgentSession.objects.get(pk=session.pk).status == before


def test_the_archive_answer_updates_the_header_and_keeps_the_compare_link(client, editor, session):
    client.force_login(editor)
    page = client.get(action(session, "session_detail")).content.decode()
    response = client.post(action(session, "session_archive"), **htmx("session-actions"))
    body = response.content.decode()
    assert 'id="session-status"' in body and 'hx-swap-oob="true"' in body
    assert ">archived</span>" in body
    assert "Compare prompts" in page
    assert "Compare prompts" in body
    restored = client.post(
        action(session, "session_archive"), {"archive": "0"}, **htmx("session-actions")
    ).content.decode()
    assert ">active</span>" in restored


def test_the_viewer_sees_no_mutating_buttons(client, viewer, session):
    client.force_login(viewer)
    html = client.get(action(session, "session_detail")).content.decode()
    assert "Delete…" not in html and "Save review" not in html and "Archive" not in html


def test_delete_asks_for_confirmation_showing_the_subtree(client, editor, project, session):
    make_session(project, "kid", parent="s-main")
    client.force_login(editor)
    response = client.get(action(session, "session_delete"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<b>1</b> descendant session" in html and "<b>12</b> events" in html


def test_delete_without_the_typed_id_deletes_nothing(client, editor, session):
    client.force_login(editor)
    response = client.post(action(session, "session_delete"), {"confirm": "nope"})
    assert response.status_code == 400
    assert AgentSession.objects.filter(pk=session.pk).exists()


def test_delete_removes_the_subtree_and_returns_to_the_list(client, editor, project, session):
    make_session(project, "kid", parent="s-main")
    other = make_session(project, "keep")
    client.force_login(editor)
    response = client.post(action(session, "session_delete"), {"confirm": "s-main"})
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:session_list", args=["acme"])
    assert list(AgentSession.objects.values_list("external_id", flat=True)) == ["keep"]
    assert Event.objects.filter(session=other).count() == 4


def test_delete_by_htmx_redirects_the_browser(client, editor, session):
    client.force_login(editor)
    response = client.post(action(session, "session_delete"), {"confirm": "s-main"}, **htmx("x"))
    assert response.status_code == 204 and response["HX-Redirect"].endswith("/sessions/")


def export(client, session, fmt: str):
    return client.get(
        reverse("dashboard:session_export", args=[session.project.slug, session.pk, fmt])
    )


def test_export_json(client, viewer, session):
    client.force_login(viewer)
    response = export(client, session, "json")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    data = json.loads(b"".join(response.streaming_content))
    assert data["session"]["id"] == "s-main" and len(data["events"]) == 8
    assert data["events"][2]["payload"] == {"tool": "lookup", "arguments": {"order": 42}}
    assert data["events"][1]["token_usage"]["model"] == "gpt-4o-mini"


def test_export_jsonl(client, viewer, session):
    client.force_login(viewer)
    lines = b"".join(export(client, session, "jsonl").streaming_content).decode().splitlines()
    records = [json.loads(line) for line in lines]
    assert records[0]["record"] == "session" and len(records) == 9
    assert [r["seq"] for r in records[1:]] == list(range(1, 9))


def test_export_markdown_fences_agent_text(client, viewer, project):
    make_session(project, "md", turns=0)
    from sessions_app.inputs import EventInput
    from sessions_app.services.events import events_append

    events_append(
        project=project,
        session_external_id="md",
        events=[
            EventInput(external_id="m1", source="user", role="user", content="```\n# not a heading")
        ],
    )
    client.force_login(viewer)
    text = b"".join(
        export(client, AgentSession.objects.get(external_id="md"), "md").streaming_content
    ).decode()
    assert "````text\n```\n# not a heading\n````" in text


def test_export_in_chunks_keeps_every_event(project):
    from sessions_app.exports import iter_events

    session = make_session(project, "chunks", turns=5)
    assert [e.seq for e in iter_events(session, chunk=3)] == list(range(1, 21))


def test_unknown_export_format_is_400(client, viewer, session):
    client.force_login(viewer)
    assert export(client, session, "xml").status_code == 400


def test_export_by_another_projects_member_is_404(client, outsider, session):
    client.force_login(outsider)
    assert export(client, session, "json").status_code == 404


def test_a_post_without_the_csrf_token_is_refused(editor, session):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    response = client.post(action(session, "session_archive"), **htmx("session-actions"))
    assert response.status_code == 403
    assert AgentSession.objects.get(pk=session.pk).status == "active"
    page = client.get(action(session, "session_detail")).content.decode()
    token = client.cookies["csrftoken"].value
    assert "X-CSRFToken" in page  # the <body>'s hx-headers send it with every htmx request
    response = client.post(
        action(session, "session_archive"), HTTP_X_CSRFTOKEN=token, **htmx("session-actions")
    )
    assert response.status_code == 200


def test_logout_is_a_post_and_returns_to_login(client, viewer, session):
    client.force_login(viewer)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert client.get(action(session, "session_detail")).status_code == 302


def test_a_session_whose_id_holds_slashes_has_its_page_and_exports(client, viewer, project):
    session = make_session(project, "tenant/conv/1", turns=1)
    client.force_login(viewer)
    page = client.get(action(session, "session_detail"))
    assert page.status_code == 200
    assert "tenant/conv/1" in page.content.decode()
    data = json.loads(b"".join(export(client, session, "json").streaming_content))
    assert data["session"]["id"] == "tenant/conv/1"
    response = export(client, session, "md")
    assert "/" not in response["Content-Disposition"].split("filename=")[1]
