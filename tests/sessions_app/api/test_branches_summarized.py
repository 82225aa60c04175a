"""Branches of a summarized session: a branch's events are not segmented. Main's new events go
to the newest segment; events on any other branch are stored in the conversation that has the
branch (the segment chain's base), so every branch read, pop, count and delete sees them."""

from __future__ import annotations

import pytest

from sessions_app import summaries as text
from sessions_app.models import AgentSession, Event, Summary

from .test_branches import items, post, reply, two_turns, user


@pytest.fixture(autouse=True)
def extractive(monkeypatch):
    # The segment's summary is extractive: no model, no network.
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv(text.MOCK_RESPONSE_ENV, raising=False)


@pytest.fixture
def summarized(api, project, django_capture_on_commit_callbacks):
    """Session `b` (two turns on main) summarized into a segment as a crossed turn limit does
    it; the limit stays set. Returns the base session and its segment."""
    project.segment_turn_limit = 4
    project.save()
    with django_capture_on_commit_callbacks(execute=True):
        two_turns(api)
    base = AgentSession.objects.get(external_id="b")
    assert base.continued_in is not None
    return base, base.continued_in


def session_of(event_id):
    return Event.objects.get(external_id=event_id).session


def test_a_branch_made_after_the_summary_reads_its_events_back(api, summarized):
    base, _ = summarized
    made = api.post("/sessions/b/branches", {"name": "retry", "from_turn": 2})
    assert made.status_code == 201
    assert made.json()["fork_seq"] == 2
    stored = post(api, [user("r2", "Rome?", branch="retry"), reply("r3", "rain", branch="retry")])
    assert stored.status_code == 201
    assert stored.json()["session_id"] == "b"
    assert items(api, branch="retry") == ["hi", "hello", "Rome?", "rain"]
    assert items(api, branch="retry", tail="true", limit=2) == ["Rome?", "rain"]
    assert items(api, branch="main") == ["hi", "hello", "weather?", "sun"]
    assert session_of("r2") == base
    listed = api.get("/sessions/b/branches").json()["items"]
    assert [b["name"] for b in listed] == ["main", "retry"]
    assert (listed[1]["message_count"], listed[1]["user_turns"]) == (4, 2)


def test_a_branch_made_before_the_summary_keeps_taking_readable_events(
    api, project, django_capture_on_commit_callbacks
):
    post(api, [user("u1", "hi"), reply("a1", "hello"), user("u2", "weather?")])
    api.post("/sessions/b/branches", {"name": "retry", "from_turn": 2})
    project.segment_turn_limit = 4
    project.save()
    with django_capture_on_commit_callbacks(execute=True):
        post(api, [reply("a2", "sun")])
    assert AgentSession.objects.get(external_id="b").continued_in_id is not None
    post(api, [user("r2", "Rome?", branch="retry")])
    assert items(api, branch="retry") == ["hi", "hello", "Rome?"]
    answer = api.post(
        "/sessions/b/events",
        {"events": [reply("r3", "rain", branch="retry")], "read": {"branch": "retry"}},
    ).json()
    assert [e["content"] for e in answer["read"]["items"]] == ["hi", "hello", "Rome?", "rain"]


def test_a_pop_on_the_branch_of_a_summarized_session_takes_its_own_latest_item(api, summarized):
    api.post("/sessions/b/branches", {"name": "retry", "from_turn": 2})
    post(api, [user("r2", "Rome?", branch="retry"), reply("r3", "rain", branch="retry")])
    popped = api.delete("/sessions/b/events/last?format=openai_chat&branch=retry").json()
    assert popped["item"]["content"] == "rain"
    assert items(api, branch="retry") == ["hi", "hello", "Rome?"]
    assert items(api, branch="main") == ["hi", "hello", "weather?", "sun"]


def test_deleting_a_branch_of_a_summarized_session_marks_its_events(api, summarized):
    api.post("/sessions/b/branches", {"name": "retry", "from_turn": 2})
    post(api, [user("r2", "Rome?", branch="retry"), reply("r3", "rain", branch="retry")])
    assert api.delete("/sessions/b/branches/retry").json() == {"deleted": 2}
    assert set(Event.objects.filter(branch="retry").values_list("removed_by", flat=True)) == {
        "delete_branch"
    }


def test_a_mixed_batch_stores_main_in_the_segment_and_the_branch_in_the_base(api, summarized):
    base, segment = summarized
    api.post("/sessions/b/branches", {"name": "retry", "from_turn": 2})
    before = base.last_seq
    batch = [
        user("m1", "and tomorrow?"),
        user("r2", "Rome?", branch="retry"),
        reply("m2", "clouds"),
        reply("r3", "rain", branch="retry"),
    ]
    answer = post(api, batch)
    assert answer.status_code == 201
    body = answer.json()
    assert body["session_id"] == segment.external_id
    # One result per event, in the order sent; each seq is the one of the session it went to.
    assert [(r["id"], r["seq"], r["status"]) for r in body["results"]] == [
        ("m1", 1, "created"),
        ("r2", before + 1, "created"),
        ("m2", 2, "created"),
        ("r3", before + 2, "created"),
    ]
    assert [session_of(e).pk for e in ("m1", "r2", "m2", "r3")] == [
        segment.pk,
        base.pk,
        segment.pk,
        base.pk,
    ]
    assert items(api, branch="retry") == ["hi", "hello", "Rome?", "rain"]
    base.refresh_from_db()
    segment.refresh_from_db()
    assert (base.event_count, base.last_seq) == (before + 2, before + 2)
    assert (segment.event_count, segment.last_seq) == (2, 2)
    # A retry of the whole batch: every event a duplicate with its stored seq, wherever it is.
    again = post(api, batch)
    assert again.status_code == 200
    assert again.json()["results"] == [{**r, "status": "duplicate"} for r in body["results"]]
    assert Event.objects.filter(external_id__in=["m1", "m2", "r2", "r3"]).count() == 4


def test_a_mixed_batch_with_a_refused_event_stores_nothing_in_either_session(api, summarized):
    api.post("/sessions/b/branches", {"name": "retry", "from_turn": 2})
    before = Event.objects.count()
    refused = post(
        api,
        [user("m1", "more"), user("r2", "Rome?", branch="retry"), user("x1", "?", branch="nope")],
    )
    assert refused.status_code == 422
    assert refused.json()["field"] == "branch"
    assert Event.objects.count() == before


def test_a_retry_of_a_branch_event_is_a_duplicate_and_new_ones_follow_it_in_the_base(
    api, summarized
):
    base, _ = summarized
    api.post("/sessions/b/branches", {"name": "retry", "from_turn": 2})
    first = post(api, [user("r2", "Rome?", branch="retry")]).json()["results"][0]
    again = post(api, [user("r2", "Rome?", branch="retry"), reply("r3", "rain", branch="retry")])
    assert again.status_code == 201
    assert again.json()["results"] == [
        {**first, "status": "duplicate"},
        {"id": "r3", "seq": first["seq"] + 1, "status": "created"},
    ]
    assert Event.objects.filter(external_id="r2").count() == 1
    assert session_of("r3") == base
    assert items(api, branch="retry") == ["hi", "hello", "Rome?", "rain"]


def test_branch_usage_counts_in_the_base_and_never_segments_it_again(api, project, summarized):
    base, segment = summarized
    api.post("/sessions/b/branches", {"name": "retry", "from_turn": 2})
    usage = {
        "model": "gpt-4o-mini",
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "total_tokens": 15,
    }
    # More messages on the branch than the turn limit (4): the base already continues in its
    # segment and is not segmented again; the segment got none of them.
    post(
        api,
        [user(f"r{i}", f"q{i}", branch="retry", token_usage=usage) for i in range(6)],
    )
    base.refresh_from_db()
    segment.refresh_from_db()
    assert base.total_tokens == 6 * 15
    assert (segment.event_count, segment.total_tokens) == (0, 0)
    assert Summary.objects.count() == 1
    assert base.continued_in_id == segment.pk


def test_addressed_by_the_segment_s_id_a_branch_is_the_conversation_s(api, summarized):
    base, segment = summarized
    seg = segment.external_id
    made = api.post(f"/sessions/{seg}/branches", {"name": "retry", "from_turn": 2})
    assert made.status_code == 201
    assert AgentSession.objects.get(branches__name="retry") == base
    assert post(api, [user("r2", "Rome?", branch="retry")], session=seg).status_code == 201
    assert session_of("r2") == base
    read = api.get(f"/sessions/{seg}/events", format="openai_chat", branch="retry")
    assert [i["content"] for i in read.json()["items"]] == ["hi", "hello", "Rome?"]
    assert items(api, branch="retry") == ["hi", "hello", "Rome?"]
    names = [b["name"] for b in api.get(f"/sessions/{seg}/branches").json()["items"]]
    assert names == ["main", "retry"]


def test_a_turn_only_the_segment_holds_cannot_start_a_branch_of_the_old_id(api, summarized):
    # Main's reads of the old id are the base's events: its turns are those, so a branch
    # forks from one of them (turn 3 went to the segment).
    post(api, [user("u3", "and tomorrow?")])
    refused = api.post("/sessions/b/branches", {"name": "late", "from_turn": 3})
    assert refused.status_code == 422
    assert refused.json()["field"] == "from_turn"


def test_without_thresholds_main_and_mixed_batches_still_split_by_branch(api, project, summarized):
    # No thresholds: on PostgreSQL a main-only batch is offered to the one statement, which
    # leaves a summarized session to the general path; a batch with a branch event never is.
    base, segment = summarized
    project.segment_turn_limit = 0
    project.save()
    api.post("/sessions/b/branches", {"name": "retry", "from_turn": 2})
    assert post(api, [user("m1", "and tomorrow?")]).json()["session_id"] == segment.external_id
    mixed = post(api, [reply("m2", "clouds"), user("r2", "Rome?", branch="retry")]).json()
    assert mixed["session_id"] == segment.external_id
    assert [session_of(e) for e in ("m1", "m2", "r2")] == [segment, segment, base]
    assert [r["seq"] for r in mixed["results"]] == [2, base.last_seq + 1]
    assert items(api, branch="retry") == ["hi", "hello", "Rome?"]


def test_the_summary_the_server_wrote_is_not_one_of_mains_listed_items(api, summarized):
    # The segmentation's `summary` event sits on the base's main; the SDK's own session has no
    # such item, so main lists the four the agent wrote.
    base, _ = summarized
    written = Event.objects.get(session=base, type=Event.Type.SUMMARY)
    assert (written.branch, written.summary_record.pk) == ("main", Summary.objects.get().pk)
    api.post("/sessions/b/branches", {"name": "retry", "from_turn": 2})
    listed = api.get("/sessions/b/branches").json()["items"]
    assert [(b["name"], b["message_count"], b["user_turns"]) for b in listed] == [
        ("main", 4, 2),
        ("retry", 2, 1),
    ]


def test_a_summary_a_user_asked_for_is_not_one_of_mains_listed_items(
    api, django_capture_on_commit_callbacks
):
    two_turns(api)
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post("/sessions/b/summaries", {}).status_code == 202
    assert Event.objects.filter(type=Event.Type.SUMMARY, summary_record__isnull=False).exists()
    listed = api.get("/sessions/b/branches").json()["items"]
    assert [(b["name"], b["message_count"], b["user_turns"]) for b in listed] == [("main", 4, 2)]


def test_a_summary_event_the_agent_wrote_itself_is_one_of_its_items(api):
    two_turns(api)
    own = {"id": "s1", "source": "system", "type": "summary", "message": "We talked weather."}
    assert post(api, [own]).status_code == 201
    listed = api.get("/sessions/b/branches").json()["items"]
    assert [(b["name"], b["message_count"], b["user_turns"]) for b in listed] == [("main", 5, 2)]
