"""Bulk actions on the sessions list: picked rows or all matching the filter; marked, archived,
exported."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from dashboard.bulk import ACTIONS
from sessions_app.models import AgentSession, ReviewEvent
from sessions_app.services.reviews import session_review_set

from .conftest import htmx, make_session

pytestmark = pytest.mark.django_db


def url(name: str = "sessions_bulk", slug: str = "acme") -> str:
    return reverse(f"dashboard:{name}", args=[slug])


@pytest.fixture
def three(project):
    return [
        make_session(project, "b-1", agent_name="alpha"),
        make_session(project, "b-2", agent_name="alpha"),
        make_session(project, "b-3", agent_name="beta"),
    ]


def statuses() -> dict[str, tuple[str, str]]:
    return {
        s.external_id: (s.review_status, s.status)
        for s in AgentSession.objects.order_by("external_id")
    }


def test_an_editor_marks_the_picked_rows_reviewed(client, editor, three):
    client.force_login(editor)
    ids = [three[0].pk, three[2].pk]
    response = client.post(url(), {"action": "reviewed", "ids": ids}, **htmx("bulk-status"))
    assert response.status_code == 200
    assert "2 sessions marked reviewed." in response.content.decode()
    # The list reloads its rows when it hears this.
    assert response["HX-Trigger"] == "sessions-changed"
    assert [s[0] for s in statuses().values()] == ["reviewed", "", "reviewed"]
    assert AgentSession.objects.get(external_id="b-1").reviewed_by == editor


def test_all_matching_the_filter_includes_rows_on_other_pages(client, editor, three):
    client.force_login(editor)
    response = client.post(
        url(), {"action": "flagged", "all": "1", "query": "agent=alpha&cursor=zzz"}, **htmx("x")
    )
    assert response.status_code == 200 and "2 sessions flagged." in response.content.decode()
    assert statuses() == {
        "b-1": ("flagged", "active"),
        "b-2": ("flagged", "active"),
        "b-3": ("", "active"),
    }


def test_all_matching_a_cost_range_marks_only_the_sessions_in_it(client, editor, three):
    AgentSession.objects.filter(external_id="b-2").update(cost_usd=Decimal("2"))
    AgentSession.objects.filter(external_id="b-3").update(cost_usd=Decimal("5"))
    client.force_login(editor)
    query = "min_cost=1&max_cost=5"  # b-1 costs 0.01; b-3's 5 is the bound, left out
    response = client.post(url(), {"action": "flagged", "all": "1", "query": query}, **htmx("x"))
    assert response.status_code == 200 and "1 session flagged." in response.content.decode()
    assert [k for k, (review, _) in statuses().items() if review] == ["b-2"]


def test_archive_hides_the_sessions_from_the_default_list(client, admin_user, three):
    client.force_login(admin_user)
    response = client.post(
        url(), {"action": "archive", "ids": [three[1].pk], "query": "agent=alpha"}
    )
    # Without htmx: back to the list as it was.
    assert response.status_code == 302 and response["Location"] == "/p/acme/sessions/?agent=alpha"
    assert statuses()["b-2"] == ("", "archived")
    assert "b-2" not in client.get(url("session_list")).content.decode()


def test_clearing_review_marks(client, editor, three):
    client.force_login(editor)
    client.post(url(), {"action": "flagged", "ids": [three[0].pk]})
    client.post(url(), {"action": "unreviewed", "ids": [three[0].pk]})
    session = AgentSession.objects.get(external_id="b-1")
    assert session.review_status == "" and session.reviewed_by is None


def test_export_downloads_the_selection_as_csv(client, viewer, three):
    AgentSession.objects.filter(pk=three[0].pk).update(title="=HYPERLINK(1)")
    client.force_login(viewer)
    response = client.post(url(), {"action": "export", "all": "1", "query": "agent=alpha"})
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    assert 'filename="acme-sessions.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert sorted(r["external_id"] for r in rows) == ["b-1", "b-2"]
    row = next(r for r in rows if r["external_id"] == "b-1")
    assert row["cost_usd"] == "0.01" and row["total_tokens"] == "150"
    # A title that a spreadsheet would run as a formula is neutralised.
    assert row["title"] == "'=HYPERLINK(1)"


def test_a_viewer_exports_but_cannot_mark_or_archive(client, viewer, three):
    client.force_login(viewer)
    for action in ("reviewed", "flagged", "archive"):
        response = client.post(url(), {"action": action, "ids": [three[0].pk]}, **htmx("x"))
        assert response.status_code == 403
    assert statuses()["b-1"] == ("", "active")
    html = client.get(url("session_list")).content.decode()
    assert 'value="export"' in html and 'value="archive"' not in html


def test_another_projects_user_gets_404_and_another_projects_rows_are_untouched(
    client, outsider, three
):
    client.force_login(outsider)
    assert client.post(url(), {"action": "reviewed", "ids": [three[0].pk]}).status_code == 404
    # Through their own project, our ids select nothing.
    response = client.post(
        url(slug="other"), {"action": "archive", "ids": [s.pk for s in three]}, **htmx("x")
    )
    assert response.status_code == 200 and "0 sessions archived." in response.content.decode()
    assert {s[1] for s in statuses().values()} == {"active"}


def test_nothing_selected_or_no_action_is_400(client, editor, three):
    client.force_login(editor)
    assert client.post(url(), {"action": "reviewed"}, **htmx("x")).status_code == 400
    assert (
        client.post(url(), {"action": "reviewed", "ids": ["x", "-1"]}, **htmx("x")).status_code
        == 400
    )
    assert (
        client.post(url(), {"action": "nope", "ids": [three[0].pk]}, **htmx("x")).status_code == 400
    )
    assert client.get(url()).status_code == 405
    assert statuses()["b-1"] == ("", "active")


def test_marking_twice_is_harmless(client, editor, three):
    client.force_login(editor)
    for _ in range(2):
        response = client.post(url(), {"action": "reviewed", "ids": [three[0].pk]}, **htmx("x"))
        assert response.status_code == 200
    assert statuses()["b-1"] == ("reviewed", "active")


def test_the_list_has_a_selection_box_per_row_and_the_bar(client, editor, three):
    client.force_login(editor)
    html = client.get(url("session_list")).content.decode()
    assert html.count('name="ids"') == 3 and 'id="bulk-form"' in html
    assert all(f'value="{a}"' in html for a in ACTIONS)
    rows = client.get(url("session_list"), **htmx("session-rows")).content.decode()
    assert rows.count('form="bulk-form"') == 3 and "sessions-changed from:body" in rows


def test_bulk_query_count(client, editor, project, django_assert_num_queries):
    sessions = [make_session(project, f"q{n}", turns=0) for n in range(20)]
    client.force_login(editor)
    client.post(url(), {"action": "flagged", "ids": [sessions[0].pk]}, **htmx("x"))
    # session, user, project, role, the changing rows locked, one INSERT of their twenty
    # history lines, one UPDATE for all twenty, and the test transaction's savepoint and its
    # release around it
    with django_assert_num_queries(9):
        client.post(url(), {"action": "reviewed", "ids": [s.pk for s in sessions]}, **htmx("x"))
    assert AgentSession.objects.filter(review_status="reviewed").count() == 20
    assert ReviewEvent.objects.filter(summary="set the review to reviewed").count() == 20


def history() -> list[tuple[str, str, str]]:
    return [
        (e.session.external_id, e.actor_name, e.summary)
        for e in ReviewEvent.objects.select_related("session").order_by("session__external_id")
    ]


def test_bulk_marks_write_the_history_lines_a_session_page_writes(client, editor, three):
    client.force_login(editor)
    session_review_set(session=three[2], status="flagged", note="", user=editor)
    single = history()
    ReviewEvent.objects.all().delete()
    client.post(url(), {"action": "flagged", "ids": [three[0].pk, three[1].pk]}, **htmx("x"))
    assert history() == [
        ("b-1", "editor", single[0][2]),
        ("b-2", "editor", single[0][2]),
    ]
    assert single[0][2] == "set the review to flagged"


def test_a_bulk_mark_leaves_sessions_already_so_marked_and_their_history_alone(
    client, editor, three
):
    client.force_login(editor)
    client.post(url(), {"action": "reviewed", "ids": [three[0].pk]}, **htmx("x"))
    response = client.post(url(), {"action": "reviewed", "ids": [s.pk for s in three]}, **htmx("x"))
    assert "2 sessions marked reviewed." in response.content.decode()
    assert [h[0] for h in history()] == ["b-1", "b-2", "b-3"]
    client.post(url(), {"action": "unreviewed", "all": "1", "query": "agent=alpha"}, **htmx("x"))
    cleared = [h for h in history() if h[2] == "set the review to not reviewed"]
    assert [h[0] for h in cleared] == ["b-1", "b-2"]


def test_a_refused_bulk_mark_writes_no_history(client, viewer, three):
    client.force_login(viewer)
    response = client.post(url(), {"action": "reviewed", "ids": [three[0].pk]}, **htmx("x"))
    assert response.status_code == 403 and not ReviewEvent.objects.exists()
