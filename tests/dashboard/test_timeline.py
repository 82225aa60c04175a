"""The session page's turn timeline: a run's model and tool calls on a time axis, from stored
timestamps and `duration_ms`, for events sent through the JSON API as well as over OTLP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from sessions_app.selectors.otel import session_timeline
from sessions_app.services.events import EventInput, UsageInput, events_append

from .conftest import htmx

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def page_url(session) -> str:
    return reverse("dashboard:session_detail", args=[session.project.slug, session.pk])


@pytest.fixture
def timed(project):
    """A run: a 400 ms model call asking for a tool, a 250 ms tool call, a 600 ms answer."""

    def ev(n, **kw):
        return EventInput(external_id=f"t-{n}", body_hash=str(n), run_external_id="run-7", **kw)

    session, _ = events_append(
        project=project,
        session_external_id="timed",
        events=[
            ev(1, source="user", content="weather?", timestamp=T0),
            ev(2, source="llm", role="assistant", content="", duration_ms=400,
               timestamp=T0 + timedelta(milliseconds=400),
               usage=UsageInput(model="gpt-4o-mini", prompt_tokens=10, completion_tokens=3)),
            ev(3, source="tool", type="tool_result", name="get_weather", content="sunny",
               duration_ms=250, timestamp=T0 + timedelta(milliseconds=650)),
            ev(4, source="llm", role="assistant", content="Sunny.", duration_ms=600,
               timestamp=T0 + timedelta(milliseconds=1250),
               usage=UsageInput(model="gpt-4o-mini", prompt_tokens=20, completion_tokens=2)),
        ],
    )  # fmt: skip
    return session


def test_the_calls_of_a_run_are_laid_out_on_one_axis(timed):
    [turn] = session_timeline(timed)
    assert turn.title == "Run run-7"
    assert turn.total_ms == 1250
    assert [(b.seq, b.kind, b.label, b.duration_ms) for b in turn.bars] == [
        (2, "model", "gpt-4o-mini", 400),
        (3, "tool", "get_weather", 250),
        (4, "model", "gpt-4o-mini", 600),
    ]
    assert [(b.left, b.width) for b in turn.bars] == [(0.0, 32.0), (32.0, 20.0), (52.0, 48.0)]


def test_the_timeline_is_one_query(timed, django_assert_num_queries):
    with django_assert_num_queries(1):
        session_timeline(timed)


def test_events_without_a_duration_give_no_timeline(project):
    session, _ = events_append(
        project=project,
        session_external_id="plain",
        events=[EventInput(external_id="p-1", source="user", content="hi", body_hash="1")],
    )
    assert session_timeline(session) == []


def test_the_page_shows_the_waterfall_and_latencies(client, viewer, timed):
    client.force_login(viewer)
    html = client.get(page_url(timed)).content.decode()
    assert 'id="timeline"' in html and "<svg" in html
    assert 'x="32.0%"' in html and 'width="20.0%"' in html
    assert "get_weather · 250 ms" in html
    assert 'class="latency"' in html and "600 ms" in html


def test_the_transcript_partial_shows_latencies_without_the_timeline(client, viewer, timed):
    client.force_login(viewer)
    html = client.get(page_url(timed), **htmx("transcript")).content.decode()
    assert 'id="timeline"' not in html and "<html" not in html
    assert "400 ms" in html


def test_another_projects_member_gets_404(client, outsider, timed):
    client.force_login(outsider)
    assert client.get(page_url(timed)).status_code == 404
