"""The Agents SDK's `AdvancedSQLiteSession` and ours, driven the same way, answer the same:
items per branch, the branch list, usage per session, branch and turn."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Callable

import httpx
import pytest
from agents import Runner
from agents.extensions.memory import AdvancedSQLiteSession
from sessionscope_client import SessionscopeClient
from sessionscope_client.openai_agents_advanced import AdvancedSessionscopeSession

from sessions_app import summaries as text
from sessions_app.demo_agents import USER_TURNS, build_agents
from sessions_app.models import AgentSession, Project, SessionBranch, Summary
from sessions_app.services.segments import segment_open
from sessions_app.services.sessions import session_continue_in, session_upsert
from sessions_app.services.summaries import summary_create, summary_run

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

RETRY = "What is the weather in Rome?"


async def drive(session, summarize: Callable[[], None] | None = None) -> dict:
    agent = build_agents()
    for turn in USER_TURNS:
        await session.store_run_usage(await Runner.run(agent, turn, session=session))
    answers: dict = {"main": await session.get_items()}
    if summarize is not None:
        await asyncio.to_thread(summarize)
    await session.create_branch_from_turn(2, "retry")
    await session.store_run_usage(await Runner.run(agent, RETRY, session=session))
    answers["retry"] = await session.get_items()
    answers["latest-2"] = await session.get_items(limit=2)
    answers["branches"] = [
        (b["branch_id"], b["message_count"], b["user_turns"], b["is_current"])
        for b in await session.list_branches()
    ]
    answers["usage"] = await session.get_session_usage()
    answers["usage-retry"] = await session.get_session_usage("retry")
    answers["turns-retry"] = await session.get_turn_usage()
    answers["turn-1-main"] = await session.get_turn_usage(1, branch_id="main")
    answers["turn-9"] = await session.get_turn_usage(9)
    popped = await session.pop_item()
    answers["popped"] = popped
    answers["after-pop"] = await session.get_items()
    await session.switch_to_branch("main")
    answers["main-again"] = await session.get_items()
    # The same name, parent and turn again: a used name (for the server, a retry it answers 200).
    with pytest.raises(ValueError, match="'retry' has already been used"):
        await session.create_branch_from_turn(2, "retry")
    answers["after-used-name"] = await session.get_items()
    with pytest.raises(ValueError, match="nope"):
        await session.switch_to_branch("nope")
    with pytest.raises(ValueError, match="99"):
        await session.create_branch_from_turn(99, "too-far")
    return answers


def comparable(answers: dict) -> dict:
    # The SDK's turn usage carries the details as it got them (None or a dict of every field);
    # we keep cached and reasoning tokens: compare the token counts.
    for key in ("turns-retry",):
        answers[key] = [
            {k: v for k, v in row.items() if not k.endswith("_details")} for row in answers[key]
        ]
    answers["turn-1-main"] = {
        k: v for k, v in answers["turn-1-main"].items() if not k.endswith("_details")
    }
    return answers


def both_answers(
    client, tmp_path, session_id: str, summarize: Callable[[], None] | None = None
) -> tuple[dict, dict]:
    """The SDK's own AdvancedSQLiteSession's answers to `drive`, and ours (`summarize` run on
    ours only, at the point `drive` takes it)."""
    theirs = AdvancedSQLiteSession(
        session_id=session_id, db_path=tmp_path / "adv.db", create_tables=True
    )
    ours = AdvancedSessionscopeSession(session_id, client=client)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = comparable(asyncio.run(drive(theirs)))
    got = comparable(asyncio.run(drive(ours, summarize)))
    theirs.close()
    return expected, got


def test_advanced_session_answers_as_advanced_sqlite_session(client, tmp_path):
    expected, got = both_answers(client, tmp_path, "adv")
    assert expected["usage"]["total_tokens"] > expected["usage-retry"]["total_tokens"] > 0
    assert expected["branches"][1][0] == "retry"
    assert expected["popped"] is not None
    for key, value in expected.items():
        assert got[key] == value, key


def test_branches_are_stored_as_branches_and_popped_items_stay_in_the_record(client, tmp_path):
    ours = AdvancedSessionscopeSession("adv-2", client=client)
    asyncio.run(drive(ours))
    session = AgentSession.objects.get(external_id="adv-2")
    branch = SessionBranch.objects.get(session=session)
    assert (branch.name, branch.parent, branch.from_turn) == ("retry", "main", 2)
    popped = session.events.exclude(removed_at=None)
    assert [e.removed_by for e in popped] and {e.removed_by for e in popped} == {"pop"}
    assert {e.branch for e in popped} == {"retry"}


def summarized(project: Project, session_id: str) -> Callable[[], None]:
    """What a crossed segmentation threshold leaves (without its summary, so no model is
    needed): the session continues in a segment, where main's later events go."""

    def summarize() -> None:
        base = AgentSession.objects.get(project=project, external_id=session_id)
        segment, _ = session_upsert(
            project=project,
            external_id=f"{session_id}~seg-1",
            fields={},
            parent_external_id=session_id,
            kind=AgentSession.Kind.SEGMENT,
        )
        session_continue_in(session=base, segment=segment)

    return summarize


def test_a_session_summarized_before_its_branch_answers_as_advanced_sqlite_session(
    client, project, tmp_path
):
    # The branch is made, written, read, popped and listed after the conversation was
    # summarized: its items are not segmented, so the SDK's answers do not change.
    expected, got = both_answers(client, tmp_path, "adv-s", summarized(project, "adv-s"))
    for key, value in expected.items():
        assert got[key] == value, key
    base = AgentSession.objects.get(external_id="adv-s")
    assert base.continued_in is not None
    assert not base.continued_in.events.exists()
    assert base.events.filter(branch="retry").exists()


def summarized_by_the_server(project: Project, session_id: str) -> Callable[[], None]:
    """A crossed segmentation threshold as the server handles it: a summary (extractive, no
    model) whose `summary` event the server writes on the conversation's main, then the
    segment it opens."""

    def summarize() -> None:
        base = AgentSession.objects.get(project=project, external_id=session_id)
        summary = summary_create(session=base, strategy=Summary.Strategy.BASIC, model="gpt-4o-mini")
        summary_run(summary_id=summary.pk)
        assert segment_open(summary_id=summary.pk) is not None

    return summarize


def test_a_session_the_server_summarized_lists_its_branches_as_advanced_sqlite_session(
    client, project, tmp_path, monkeypatch
):
    # The summary event the server wrote into main is not one of the agent's items: main's
    # message_count is the SDK's.
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv(text.MOCK_RESPONSE_ENV, raising=False)
    expected, got = both_answers(
        client, tmp_path, "adv-t", summarized_by_the_server(project, "adv-t")
    )
    for key, value in expected.items():
        assert got[key] == value, key
    base = AgentSession.objects.get(external_id="adv-t")
    assert base.continued_in is not None
    assert base.events.filter(type="summary", branch="main", summary_record__isnull=False).exists()


def test_a_retry_of_its_own_lost_creation_is_the_branch_not_a_used_name():
    posts: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            return httpx.Response(200, json={"id": "s"})
        posts.append(request)
        if len(posts) == 1:  # the server made the branch; its 201 is lost on the way back
            raise httpx.ReadTimeout("answer lost", request=request)
        return httpx.Response(200, json={"name": "b", "parent": "main", "from_turn": 2})

    transport = httpx.MockTransport(answer)
    client = SessionscopeClient("http://ss.test", "k", transport=transport, sleep=lambda _: None)
    session = AdvancedSessionscopeSession("s", client=client)
    assert asyncio.run(session.create_branch_from_turn(2, "b")) == "b"
    assert len(posts) == 2 and session.current_branch_id == "b"


def test_a_200_on_the_first_attempt_is_a_used_name():
    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            return httpx.Response(200, json={"id": "s"})
        return httpx.Response(200, json={"name": "b", "parent": "main", "from_turn": 2})

    client = SessionscopeClient("http://ss.test", "k", transport=httpx.MockTransport(answer))
    session = AdvancedSessionscopeSession("s", client=client)
    with pytest.raises(ValueError, match="'b' has already been used"):
        asyncio.run(session.create_branch_from_turn(2, "b"))
    assert session.current_branch_id == "main"
