"""Moving through a transcript: pages before a seq, errors around a seq, hits of a search inside
a session (both the bounded probe and the index path on PostgreSQL)."""

from __future__ import annotations

import pytest

from sessions_app.inputs import EventInput
from sessions_app.models import AgentSession
from sessions_app.selectors import transcript
from sessions_app.services.events import events_append
from sessions_app.services.sessions import session_upsert

pytestmark = pytest.mark.django_db


@pytest.fixture
def long(project) -> AgentSession:
    session_upsert(project=project, external_id="long", fields={})
    events_append(
        project=project,
        session_external_id="long",
        events=[
            EventInput(
                external_id=f"e-{n}",
                source="user",
                role="user",
                content=f"step {n} common"
                + (" rare" if n in (7, 150, 151) else "")
                + (" often" if n % 3 == 0 else ""),
                is_error=n in (20, 90),
            )
            for n in range(1, 201)
        ],
    )
    return AgentSession.objects.get(external_id="long")


def test_the_page_before_a_seq_comes_in_seq_order_with_the_event_before_it(long):
    events, previous, has_less = transcript.transcript_before(long, before_seq=100, limit=10)
    assert [e.seq for e in events] == list(range(90, 100))
    assert previous.seq == 89 and has_less
    events, previous, has_less = transcript.transcript_before(long, before_seq=5, limit=10)
    assert [e.seq for e in events] == [1, 2, 3, 4] and previous is None and not has_less


def test_errors_after_and_before_a_seq(long):
    assert transcript.error_seq_after(long, 0) == 20
    assert transcript.error_seq_after(long, 20) == 90
    assert transcript.error_seq_after(long, 90) is None
    assert transcript.error_seq_before(long, 90) == 20
    assert transcript.error_seq_before(long, 20) is None


@pytest.mark.parametrize("probe", [1_000, 10])
def test_hits_of_a_rare_and_a_common_word(long, monkeypatch, probe):
    monkeypatch.setattr(transcript, "PROBE", probe)
    hits, more = transcript.find_in_session(long, "rare", limit=2)
    assert [h.seq for h in hits] == [7, 150] and more
    assert "rare" in hits[0].text
    hits, more = transcript.find_in_session(long, "rare", after_seq=150, limit=2)
    assert [h.seq for h in hits] == [151] and not more
    hits, more = transcript.find_in_session(long, "often", after_seq=100, limit=3)
    assert [h.seq for h in hits] == [102, 105, 108] and more
    assert transcript.hit_seq_after(long, "rare", 7) == 150
    assert transcript.hit_seq_before(long, "rare", 150) == 7
    assert transcript.hit_seq_before(long, "rare", 7) is None
    assert transcript.hit_seq_after(long, "nowhere", 0) is None


def test_an_event_and_a_session_are_found_by_their_own_ids(long, project, other_project):
    assert transcript.session_pk_by_external_id(project, "long") == long.pk
    assert transcript.session_pk_by_external_id(other_project, "long") is None
    assert transcript.event_location(project, "e-42") == (long.pk, 42)
    assert transcript.event_location(other_project, "e-42") is None
