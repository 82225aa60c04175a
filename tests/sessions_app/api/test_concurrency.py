"""Concurrent writers on PostgreSQL: seq stays gapless and retries never make a second row."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from sessions_app.models import AgentSession, Event

from .conftest import ApiClient

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_threads(count: int, work: Callable[[int], None]) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def target(n: int) -> None:
        try:
            start.wait()
            work(n)
        except BaseException as exc:  # collected and asserted on by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


def test_concurrent_writers_to_one_session_keep_seq_gapless(api_token):
    statuses: list[int] = []

    def work(n: int) -> None:
        client = ApiClient(api_token)
        for batch in range(8):
            events = [
                {"id": f"w{n}-b{batch}-e{i}", "source": "user", "message": f"{n}/{batch}/{i}"}
                for i in range(5)
            ]
            statuses.append(client.post("/sessions/shared/events", {"events": events}).status_code)

    assert run_threads(6, work) == []
    assert set(statuses) == {201}
    seqs = list(Event.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 6 * 8 * 5 + 1))
    session = AgentSession.objects.get(external_id="shared")
    assert (session.event_count, session.last_seq) == (240, 240)
    # Each batch is contiguous: all or nothing, in arrival order.
    for n in range(6):
        for batch in range(8):
            batch_seqs = sorted(
                Event.objects.filter(external_id__startswith=f"w{n}-b{batch}-").values_list(
                    "seq", flat=True
                )
            )
            assert batch_seqs == list(range(batch_seqs[0], batch_seqs[0] + 5))


def test_concurrent_retries_of_one_event_store_one_row(api_token):
    answers: list[tuple[int, dict]] = []
    event = {
        "id": "retry-me",
        "source": "llm",
        "message": "once",
        "token_usage": {"model": "m", "prompt_tokens": 3, "completion_tokens": 4},
    }

    def work(n: int) -> None:
        # Half of the retries go to another session: the id is unique per project.
        session = "s1" if n % 2 else "s2"
        response = ApiClient(api_token).post(f"/sessions/{session}/events", {"events": [event]})
        answers.append((response.status_code, response.json()))

    assert run_threads(8, work) == []
    assert Event.objects.filter(external_id="retry-me").count() == 1
    results = [body["results"][0] for _, body in answers]
    assert sorted(r["status"] for r in results) == ["created"] + ["duplicate"] * 7
    assert {r["seq"] for r in results} == {1}
    assert sum(s.total_tokens for s in AgentSession.objects.all()) == 7


def test_concurrent_retries_with_a_changed_body_get_409_and_one_row_survives(api_token):
    codes: list[int] = []

    def work(n: int) -> None:
        body = {"events": [{"id": "same-id", "source": "user", "message": f"version {n}"}]}
        codes.append(ApiClient(api_token).post("/sessions/s/events", body).status_code)

    assert run_threads(6, work) == []
    assert sorted(codes) == [201] + [409] * 5
    assert Event.objects.filter(external_id="same-id").count() == 1


def test_concurrent_first_writes_create_the_session_once(api_token):
    def work(n: int) -> None:
        client = ApiClient(api_token)
        assert client.put("/sessions/fresh", {"agent_name": f"a{n}"}).status_code in (200, 201)
        body = {"events": [{"id": f"f{n}", "source": "user", "message": "x"}]}
        assert client.post("/sessions/fresh/events", body).status_code == 201

    assert run_threads(6, work) == []
    assert AgentSession.objects.filter(external_id="fresh").count() == 1
    assert sorted(Event.objects.values_list("seq", flat=True)) == list(range(1, 7))


def test_one_event_sent_to_three_new_sessions_at_once_leaves_no_empty_session(api_token):
    answers: list[tuple[int, dict]] = []
    event = {"id": "shared-id", "source": "user", "message": "the same"}

    def work(n: int) -> None:
        response = ApiClient(api_token).post(f"/sessions/race-{n}/events", event)
        answers.append((response.status_code, response.json()))

    for _ in range(3):  # a race is not lost the same way every time
        Event.objects.all().delete()
        AgentSession.objects.all().delete()
        answers.clear()
        assert run_threads(3, work) == []
        stored = Event.objects.get()
        winner = stored.session.external_id
        assert list(AgentSession.objects.values_list("external_id", flat=True)) == [winner]
        assert sorted(status for status, _ in answers) == [200, 200, 201]
        assert {body["session_id"] for _, body in answers} == {winner}


def test_two_sessions_made_each_other_s_parent_at_once_never_deadlock(api_token):
    """PUT pp0 {parent pp1} and PUT pp1 {parent pp0} from many threads: each takes the two
    sessions' locks in one order, so one waits for the other instead of a deadlock (a 500)."""
    answers: list[tuple[int, str]] = []

    def work(n: int) -> None:
        client = ApiClient(api_token)
        child, parent = (f"pp{n % 2}", f"pp{1 - n % 2}")
        for _ in range(3):
            response = client.put(f"/sessions/{child}", {"parent_id": parent})
            answers.append((response.status_code, response.json().get("code", "")))

    assert run_threads(12, work) == []
    # Each PUT is either done or refused as a cycle (the other one won): never a 500.
    assert {status for status, _ in answers} <= {200, 201, 422}
    assert all(code in ("", "invalid") for _, code in answers)
    sessions = {s.external_id: s for s in AgentSession.objects.all()}
    assert set(sessions) == {"pp0", "pp1"}
    pp0, pp1 = sessions["pp0"], sessions["pp1"]
    # One is the other's parent, never both; the tree's columns agree with it.
    assert (pp0.parent_id == pp1.pk) != (pp1.parent_id == pp0.pk)
    root, child = (pp1, pp0) if pp0.parent_id == pp1.pk else (pp0, pp1)
    assert (root.parent_id, root.depth, root.path, root.children_count) == (
        None,
        0,
        f"/{root.pk}/",
        1,
    )
    assert (child.depth, child.root_id, child.path, child.children_count) == (
        1,
        root.pk,
        f"/{root.pk}/{child.pk}/",
        0,
    )


def test_branch_writers_through_a_segment_s_id_and_the_old_id_never_deadlock(api_token, project):
    """A summarized conversation: mixed batches sent to the old id lock it, then its segment;
    branch batches sent to the segment's own id go to the old id's session too, so they lock
    it first as well (ancestors before descendants): writers queue, never deadlock (a 500)."""
    from sessions_app.services.sessions import session_continue_in, session_upsert

    setup = ApiClient(api_token)
    setup.post(
        "/sessions/conv/events", {"events": [{"id": "u1", "source": "user", "message": "hi"}]}
    )
    assert setup.post("/sessions/conv/branches", {"name": "alt", "from_turn": 1}).status_code == 201
    base = AgentSession.objects.get(external_id="conv")
    segment, _ = session_upsert(
        project=project,
        external_id="conv~seg",
        fields={},
        parent_external_id="conv",
        kind=AgentSession.Kind.SEGMENT,
    )
    session_continue_in(session=base, segment=segment)
    statuses: list[int] = []

    def work(n: int) -> None:
        client = ApiClient(api_token)
        for batch in range(6):
            ids = [f"c{n}-{batch}-{i}" for i in range(2)]
            if n % 2:
                events = [
                    {"id": ids[0], "source": "user", "message": "main"},
                    {"id": ids[1], "source": "user", "message": "alt", "branch": "alt"},
                ]
                statuses.append(
                    client.post("/sessions/conv/events", {"events": events}).status_code
                )
            else:
                events = [
                    {"id": i, "source": "user", "message": "alt", "branch": "alt"} for i in ids
                ]
                path = "/sessions/conv~seg/events"
                statuses.append(client.post(path, {"events": events}).status_code)

    assert run_threads(6, work) == []
    assert set(statuses) == {201}
    base_seqs = sorted(base.events.values_list("seq", flat=True))
    assert base_seqs == list(range(1, 1 + 3 * 6 * 3 + 1))
    assert sorted(segment.events.values_list("seq", flat=True)) == list(range(1, 3 * 6 + 1))
    assert not segment.events.exclude(branch="main").exists()
