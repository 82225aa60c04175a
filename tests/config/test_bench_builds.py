"""The benches' data sets: a build that fails leaves nothing a later run would time, and a data
set left incomplete by an older build is built again instead of being timed ("0 events")."""

from __future__ import annotations

import importlib
import os

import pytest

from sessions_app.models import AgentSession, Event, Project

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _bench(name: str):
    """A bench module, imported without the environment it sets for running as a script
    (ALLOWED_HOSTS, DATABASE_URL): later tests start servers that inherit os.environ."""
    before = os.environ.copy()
    try:
        return importlib.import_module(f"bench.{name}")
    finally:
        os.environ.clear()
        os.environ.update(before)


exports = _bench("exports")
pages = _bench("pages")


@pytest.fixture(autouse=True)
def _no_migrate(monkeypatch):
    # The builds migrate their own database first; the test database is migrated already.
    monkeypatch.setattr("django.core.management.call_command", lambda *a, **k: None)


def test_an_export_session_left_empty_is_built_again():
    project = Project.objects.create(slug="bench-exports", name="Bench")
    AgentSession.objects.create(project=project, external_id="big", title="big")
    session = exports.build()
    assert Event.objects.filter(session=session).count() == exports.EVENTS
    assert session.event_count == exports.EVENTS
    assert AgentSession.objects.filter(project=project, external_id="big").count() == 1


def test_a_failed_export_build_leaves_no_session(monkeypatch):
    def fail(project):
        AgentSession.objects.create(project=project, external_id="big", title="big")
        raise RuntimeError("disk full")

    monkeypatch.setattr(exports, "_insert", fail)
    with pytest.raises(RuntimeError):
        exports.build()
    assert not AgentSession.objects.filter(external_id="big").exists()


def test_a_pages_data_set_missing_a_transcripts_events_is_incomplete():
    project = Project.objects.create(slug=pages.SLUG, name="Bench")
    AgentSession.objects.create(project=project, external_id="bench-1")
    assert not pages.complete(project)
    for size in pages.TRANSCRIPTS:
        AgentSession.objects.create(project=project, external_id=f"transcript-{size}")
    assert not pages.complete(project)  # the transcripts' sessions, without their events


def test_a_failed_pages_build_leaves_no_project(monkeypatch):
    from django.contrib.auth import get_user_model

    real = pages._insert

    def fail(user, sessions):
        real(user, 0)  # the project and its transcripts are in; then the build fails
        raise RuntimeError("interrupted")

    get_user_model().objects.create(username="bench")
    monkeypatch.setattr(pages, "_insert", fail)
    monkeypatch.setattr(pages, "TRANSCRIPTS", (100,))
    with pytest.raises(RuntimeError):
        pages.build(rebuild=False, sessions=0)
    assert not Project.objects.filter(slug=pages.SLUG).exists()
    assert not Event.objects.filter(external_id__startswith="t100-").exists()
