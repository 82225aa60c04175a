"""Times in one format, the live header, the favicon, the error pages, the page chrome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.urls import reverse
from django.utils import timezone as dj_timezone

from dashboard.templatetags.times import absolute, dt, rel, relative
from sessions_app.models import AgentSession

from .conftest import htmx, make_session

pytestmark = pytest.mark.django_db


def test_absolute_times_are_utc_with_the_zone_named():
    paris = timezone(timedelta(hours=1))
    assert absolute(datetime(2026, 3, 4, 10, 5, 6, tzinfo=paris)) == "2026-03-04 09:05:06 UTC"


def test_the_dt_tag_writes_a_time_element_the_browser_can_localise():
    html = str(dt(datetime(2026, 3, 4, 9, 5, 6, tzinfo=UTC)))
    assert html == (
        '<time class="dt" datetime="2026-03-04T09:05:06Z" data-dt>2026-03-04 09:05:06 UTC</time>'
    )
    assert dt(None) == "\u2013"


def test_relative_times_carry_the_absolute_one_on_hover():
    now = dj_timezone.now()
    html = str(rel(now - timedelta(minutes=5)))
    assert ">5m ago</time>" in html and 'title="' in html and ' UTC"' in html and "data-rel" in html
    assert relative(now + timedelta(seconds=5), now) == "just now"
    assert relative(now - timedelta(days=3), now) == "3d ago"
    assert relative(now - timedelta(seconds=42), now) == "42s ago"


def test_every_page_has_the_zone_choice_help_overlay_progress_bar_and_favicon(
    client, viewer, session
):
    client.force_login(viewer)
    html = client.get(reverse("dashboard:session_list", args=["acme"])).content.decode()
    assert 'id="tz-choice"' in html and 'id="help-overlay"' in html
    assert 'id="htmx-progress"' in html and "favicon.svg" in html
    assert "js/shortcuts.js" in html and "js/times.js" in html
    assert 'data-shortcut="g s"' in html
    # the list shows its times in the one format
    assert " UTC</time>" in html and "data-rel" in html


def test_the_session_header_shows_times_with_their_zone_and_a_copyable_id(client, viewer, session):
    client.force_login(viewer)
    url = reverse("dashboard:session_detail", args=["acme", session.pk])
    html = client.get(url).content.decode()
    assert 'id="session-stats"' in html and 'data-copy="#session-id"' in html
    assert html.count(" UTC</time>") >= 3


def test_a_live_session_header_refreshes_when_the_tail_brings_events(client, viewer, session):
    client.force_login(viewer)
    url = reverse("dashboard:session_detail", args=["acme", session.pk])
    html = client.get(url).content.decode()
    assert 'hx-trigger="sessionscope:tail from:body"' in html
    AgentSession.objects.filter(pk=session.pk).update(status="completed")
    assert "sessionscope:tail" not in client.get(url).content.decode()


def test_the_stats_partial_has_the_facts_and_rollups_only(client, viewer, project):
    make_session(project, "root", turns=2)
    make_session(project, "kid", parent="root")
    session = AgentSession.objects.get(external_id="root")
    client.force_login(viewer)
    url = reverse("dashboard:session_detail", args=["acme", session.pk])
    response = client.get(url, **htmx("session-stats"))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="session-stats"')
    assert "Whole subtree" in html and "<html" not in html and 'id="transcript"' not in html


def test_the_stats_partial_is_404_for_another_projects_user(client, outsider, session):
    client.force_login(outsider)
    url = reverse("dashboard:session_detail", args=["acme", session.pk])
    assert client.get(url, **htmx("session-stats")).status_code == 404


def test_the_stats_partial_query_count(client, viewer, project, django_assert_num_queries):
    make_session(project, "root", turns=1)
    make_session(project, "kid", parent="root")
    session = AgentSession.objects.get(external_id="root")
    client.force_login(viewer)
    url = reverse("dashboard:session_detail", args=["acme", session.pk])
    client.get(url, **htmx("session-stats"))
    # session row, user, project, role, session, subtree totals
    with django_assert_num_queries(6):
        client.get(url, **htmx("session-stats"))


def test_favicon_ico_points_at_the_svg_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("favicon.svg")
    assert client.get(response["Location"]).status_code == 200


def test_a_404_page_is_styled_and_explains(client, viewer, other_project):
    client.force_login(viewer)
    response = client.get(reverse("dashboard:session_list", args=["other"]))
    html = response.content.decode()
    assert response.status_code == 404
    assert 'class="error-page"' in html and "css/app.css" in html and "Nothing here" in html


def test_a_403_page_is_styled_and_names_the_role(client, viewer, session):
    client.force_login(viewer)
    response = client.post(reverse("dashboard:session_archive", args=["acme", session.pk]))
    html = response.content.decode()
    assert response.status_code == 403
    assert 'class="error-page"' in html and "role" in html


def test_the_500_page_renders_without_a_request():
    from django.template.loader import get_template

    html = get_template("500.html").render()
    assert "Something went wrong" in html and 'class="error-page"' in html
