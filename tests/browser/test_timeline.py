"""An OTLP conversation's session page in Chromium: the turn timeline draws its calls as bars on
a time axis (SVG, within the page's Content-Security-Policy) and the transcript shows latencies."""

from __future__ import annotations

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from sessions_app.models import AgentSession, Membership
from sessions_app.otel.decode import decode_protobuf
from sessions_app.otel.service import otel_spans_store
from tests.factories import MembershipFactory, ProjectFactory, UserFactory
from tests.otel_spans import emit_conversation

pytestmark = pytest.mark.browser


@pytest.fixture
def otlp_session(transactional_db):
    project = ProjectFactory(slug="acme", name="Acme")
    user = UserFactory(username="tim")
    MembershipFactory(project=project, user=user, role=Membership.Role.VIEWER)
    exporter = InMemorySpanExporter()
    emit_conversation(exporter)
    body = encode_spans(exporter.get_finished_spans()).SerializeToString()
    otel_spans_store(project=project, spans=decode_protobuf(body))
    return user, AgentSession.objects.get(external_id="conv-1")


def test_the_timeline_draws_each_call_of_each_run(page, login, screenshot, otlp_session):
    user, session = otlp_session
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text))
    login(user)
    page.goto(f"/p/acme/sessions/{session.pk}/")
    timeline = page.locator("#timeline")
    timeline.scroll_into_view_if_needed()
    assert page.locator("#timeline .turn").count() == 2
    bars = page.locator("#timeline rect.bar")
    assert bars.count() == 4
    widths = [bars.nth(i).bounding_box()["width"] for i in range(4)]
    assert all(w > 5 for w in widths)
    assert page.locator("#timeline rect.bar-tool").count() == 1
    assert "get_weather · 250 ms" in timeline.inner_text().lower()
    assert page.locator("#transcript .latency").first.is_visible()
    assert not [m for m in messages if "Content Security Policy" in m]
    screenshot("session-timeline")
