"""`GET /sessions/{id}/prompt` and `GET /sessions/{id}/context`."""

from __future__ import annotations

from decimal import Decimal

from sessions_app import prompts
from sessions_app.services.sessions import session_upsert

from ..chat_format import append, assistant, call, result, summary, user, validate_chat


def seed(project):
    return append(
        project,
        "conv",
        user("u1", "Find order 42"),
        assistant("a1", "Looking."),
        call("c1", "a1", "call_1", "lookup", {"id": 42}),
        result("r1", "call_1", "found: 2 items"),
        assistant("a2", "It has 2 items."),
    )


def test_the_prompt_of_a_strategy_is_valid_chat_with_tokens_cost_and_sources(api, project):
    seed(project)
    r = api.get("/sessions/conv/prompt", strategy="conversation", model="gpt-4o")
    assert r.status_code == 200, r.content
    body = r.json()
    validate_chat(body["messages"])
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "assistant"]
    assert body["token_count"] > 0 and Decimal(body["cost_usd"]) > 0
    assert body["dropped"] == [] and body["strategy"] == "conversation"
    assert body["sources"][0] == [{"session": "conv", "seq": 1}]


def test_a2a_short_strategy_names_are_accepted(api, project):
    seed(project)
    r = api.get("/sessions/conv/prompt", strategy="tool")
    assert r.status_code == 200 and r.json()["strategy"] == "tool_focused"


def test_a_token_limit_is_never_exceeded_and_cuts_are_reported(api, project):
    seed(project)
    full = api.get("/sessions/conv/prompt", strategy="conversation").json()
    r = api.get(
        "/sessions/conv/prompt", strategy="conversation", max_tokens=full["token_count"] - 5
    )
    body = r.json()
    assert body["token_count"] <= full["token_count"] - 5
    assert body["dropped"] and body["dropped"][0]["seqs"]
    validate_chat(body["messages"])


def test_an_unknown_model_has_a_null_cost(api, project):
    seed(project)
    body = api.get("/sessions/conv/prompt", model="my-private-llm").json()
    assert body["cost_usd"] is None and body["token_count"] > 0


def test_bad_parameters_are_422_with_the_field(api, project):
    seed(project)
    r = api.get("/sessions/conv/prompt", strategy="everything")
    assert r.status_code == 422 and r.json()["field"] == "strategy"
    r = api.get("/sessions/conv/prompt", max_tokens=0)
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
    assert r.json()["detail"][0]["field"].endswith("max_tokens")


def test_another_projects_session_is_404(api, other_api, project):
    seed(project)
    assert other_api.get("/sessions/conv/prompt").status_code == 404
    assert other_api.get("/sessions/conv/context").status_code == 404
    assert api.get("/sessions/nope/prompt").status_code == 404


def test_a_missing_key_is_401(project):
    from .conftest import ApiClient

    assert ApiClient(None).get("/sessions/conv/prompt").status_code == 401


def test_hierarchical_includes_the_ancestors_summaries_by_default(api, project):
    append(project, "parent", user("pu", "topic"), summary("ps", "Parent summary."))
    session_upsert(project=project, external_id="kid", fields={}, parent_external_id="parent")
    append(project, "kid", user("ku", "more"), assistant("ka", "ok"))
    body = api.get("/sessions/kid/prompt", strategy="hierarchical").json()
    assert body["messages"][0]["content"] == prompts.CONTEXT_PREFIX + "Parent summary."
    assert body["sources"][0] == [{"session": "parent", "seq": 2}]
    off = api.get("/sessions/kid/prompt", strategy="hierarchical", include_parent_context="false")
    assert off.json()["messages"][0]["role"] == "user"


def test_context_assembles_the_chain_of_segments_from_the_old_id(
    api, project, django_capture_on_commit_callbacks
):
    project.segment_turn_limit = 2
    project.save()
    with django_capture_on_commit_callbacks(execute=True):
        append(project, "chat", user("x1", "first topic"), assistant("x2", "first answer."))
    with django_capture_on_commit_callbacks(execute=True):
        append(project, "chat", user("y1", "second question"))
    r = api.get("/sessions/chat/context", recent=3)
    assert r.status_code == 200, r.content
    body = r.json()
    validate_chat(body["messages"])
    assert body["session"].startswith("chat~seg-")
    assert body["messages"][0]["role"] == "system"
    assert "first topic" in body["messages"][0]["content"]
    assert body["messages"][-1] == {"role": "user", "content": "second question"}
