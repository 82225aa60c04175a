"""Prompt strategies: selection on hand-built sessions, equivalence of the selected events with
a2a-session-manager's builder, the chat format, and truncation that never exceeds the limit."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessions_app import prompts
from sessions_app.errors import InvalidInput
from sessions_app.models import AgentSession, Event
from sessions_app.services.sessions import session_upsert

from .chat_format import append, assistant, call, result, summary, user, validate_chat

MODEL = "gpt-4o"
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:a2a_session_manager.*")


def build(session, strategy, **kw):
    p = prompts.build_prompt(session, strategy, model=MODEL, **kw)
    validate_chat(p.messages)
    return p


def roles(p):
    return [m["role"] for m in p.messages]


def tool_session(project, sid="tools"):
    """Two turns; the latest assistant asks for two tools, the second fails."""
    return append(
        project,
        sid,
        user(f"{sid}-u1", "Find my order"),
        assistant(f"{sid}-a1", "Which order?"),
        user(f"{sid}-u2", "Order 42"),
        assistant(f"{sid}-a2", "Looking it up."),
        call(f"{sid}-c1", f"{sid}-a2", "call_1", "lookup_order", {"id": 42}),
        call(f"{sid}-c2", f"{sid}-a2", "call_2", "shipping.status", {"id": 42}),
        result(f"{sid}-r1", "call_1", "order 42: 2 items"),
        result(f"{sid}-r2", "call_2", "timeout after 30s", error=True),
    )


# -- selection -------------------------------------------------------------------------------


def test_a_session_without_events_gives_an_empty_prompt_for_every_strategy(project):
    session, _ = session_upsert(project=project, external_id="empty", fields={})
    for strategy in prompts.STRATEGIES:
        p = build(session, strategy)
        assert p.messages == [] and p.token_count == 0 and p.dropped == []


def test_without_an_assistant_reply_minimal_and_task_keep_the_user_message(project):
    session = append(project, "q", user("q-u1", "Hello?"))
    for strategy in (prompts.MINIMAL, prompts.TASK_FOCUSED, prompts.TOOL_FOCUSED):
        assert build(session, strategy).messages == [{"role": "user", "content": "Hello?"}]
    assert build(session, prompts.CONVERSATION).messages == [{"role": "user", "content": "Hello?"}]


def test_minimal_keeps_the_first_user_message_and_the_latest_assistant_with_its_tools(project):
    session = tool_session(project)
    p = build(session, prompts.MINIMAL)
    assert roles(p) == ["user", "assistant", "tool", "tool"]
    assert p.messages[0]["content"] == "Find my order"
    # Defect 1 fixed: the assistant keeps its text and its tool calls; tools carry their ids.
    assert p.messages[1]["content"] == "Looking it up."
    calls = p.messages[1]["tool_calls"]
    assert [c["id"] for c in calls] == ["call_1", "call_2"]
    assert calls[1]["function"] == {"name": "shipping_status", "arguments": '{"id": 42}'}
    assert [m["tool_call_id"] for m in p.messages[2:]] == ["call_1", "call_2"]
    assert p.messages[2]["content"] == "order 42: 2 items"
    assert [[s.seq for s in src] for src in p.sources] == [[1], [4], [5, 7], [6, 8]]


def test_task_focused_leaves_out_failed_tools_and_their_calls(project):
    session = tool_session(project)
    p = build(session, prompts.TASK_FOCUSED)
    assert roles(p) == ["user", "user", "assistant", "tool"]
    assert [m["content"] for m in p.messages[:2]] == ["Find my order", "Order 42"]
    assert [c["id"] for c in p.messages[2]["tool_calls"]] == ["call_1"]


def test_tool_focused_shows_the_error_and_the_result_of_a_failed_tool(project):
    session = tool_session(project)
    p = build(session, prompts.TOOL_FOCUSED)
    assert roles(p) == ["user", "assistant", "tool", "tool"]
    assert p.messages[0]["content"] == "Order 42"
    failed = json.loads(p.messages[3]["content"])
    assert failed == {"error": "timeout after 30s", "details": "timeout after 30s"}


def test_conversation_takes_the_last_n_messages_and_the_final_assistants_tools(project):
    session = tool_session(project)
    p = build(session, prompts.CONVERSATION, history=3)
    assert roles(p) == ["assistant", "user", "assistant", "tool", "tool"]
    assert "tool_calls" not in p.messages[0]
    assert [m["content"] for m in p.messages[:2]] == ["Which order?", "Order 42"]


def test_a_summary_child_of_the_assistant_becomes_a_system_message_in_minimal(project):
    session = append(
        project,
        "sum",
        user("sum-u", "Plan my trip"),
        assistant("sum-a", "Here is the plan."),
        summary("sum-s1", "old note", parent="sum-a"),
        summary("sum-s2", "The user planned a trip.", parent="sum-a"),
    )
    p = build(session, prompts.MINIMAL)
    assert p.messages[-1] == {"role": "system", "content": "The user planned a trip."}


def test_hierarchical_walks_every_ancestor_oldest_first(project):
    append(project, "gp", user("gp-u", "start"), summary("gp-s", "Grandparent summary."))
    session_upsert(project=project, external_id="par", fields={}, parent_external_id="gp")
    append(project, "par", user("par-u", "go on"), summary("par-s", "Parent summary."))
    session_upsert(project=project, external_id="kid", fields={}, parent_external_id="par")
    kid = append(project, "kid", user("kid-u", "and then?"), assistant("kid-a", "Then this."))
    p = build(kid, prompts.HIERARCHICAL)
    assert p.messages[0]["role"] == "system"
    assert p.messages[0]["content"] == (
        "Context from previous conversation: Grandparent summary.\n\nParent summary."
    )
    assert {s.session_id for s in p.sources[0]} == {
        AgentSession.objects.get(external_id="gp").pk,
        AgentSession.objects.get(external_id="par").pk,
    }
    assert (
        build(kid, prompts.HIERARCHICAL, include_parent_context=False).messages
        == build(kid, prompts.MINIMAL).messages
    )


def test_a_system_message_counts_as_the_latest_assistant_but_is_sent_as_system(project):
    session = append(
        project,
        "sys",
        user("sys-u", "hi"),
        assistant("sys-a", "Be brief.", source="system", role="system"),
    )
    assert build(session, prompts.MINIMAL).messages[-1] == {
        "role": "system",
        "content": "Be brief.",
    }


def test_a2a_tool_events_keep_their_result_and_error_in_the_payload(project):
    session = append(
        project,
        "native",
        user("native-u", "weather?"),
        assistant("native-a", ""),
    )
    from sessions_app.inputs import EventInput
    from sessions_app.services.events import events_append

    events_append(
        project=project,
        session_external_id="native",
        events=[
            EventInput(
                external_id="native-t",
                source="llm",
                type="tool_call",
                parent_external_id="native-a",
                payload={
                    "message": {
                        "tool": "weather",
                        "arguments": {"city": "Oslo"},
                        "result": {"temp": 3},
                        "error": None,
                    }
                },
            )
        ],
    )
    p = build(session, prompts.MINIMAL)
    assert p.messages[1]["content"] is None
    assert p.messages[1]["tool_calls"][0]["function"]["arguments"] == '{"city": "Oslo"}'
    assert p.messages[2]["content"] == '{"temp": 3}'


def test_strategy_names_accept_a2a_aliases_and_unknown_names_fall_back_or_are_refused():
    assert prompts.resolve_strategy("task") == prompts.TASK_FOCUSED
    assert prompts.resolve_strategy("TOOL") == prompts.TOOL_FOCUSED
    assert prompts.resolve_strategy("bogus") == prompts.MINIMAL
    with pytest.raises(InvalidInput) as err:
        prompts.resolve_strategy("bogus", strict=True)
    assert err.value.field == "strategy"


def test_cost_is_estimated_from_the_price_table_and_unknown_models_have_none(project):
    session = tool_session(project)
    p = build(session, prompts.MINIMAL)
    assert p.cost_usd is not None and p.cost_usd > Decimal(0)
    unknown = prompts.build_prompt(session, prompts.MINIMAL, model="no-such-model-xyz")
    assert unknown.cost_usd is None and unknown.token_count > 0


def test_building_all_strategies_loads_only_a_few_rows(project, django_assert_max_num_queries):
    session = tool_session(project)
    session.refresh_from_db()
    with django_assert_max_num_queries(12):
        built = prompts.build_all(session)
    assert [b.strategy for b in built] == list(prompts.STRATEGIES)


# -- equivalence with a2a-session-manager ----------------------------------------------------


def _to_a2a(session: AgentSession, parent_id: str | None = None):
    """Mirror a stored session as an a2a Session: a tool call and its result are one a2a tool
    event; a failed result is reported as a2a's {"status": "error"}."""
    from a2a_session_manager.models.event_source import EventSource
    from a2a_session_manager.models.event_type import EventType
    from a2a_session_manager.models.session import Session
    from a2a_session_manager.models.session_event import SessionEvent

    events = list(session.events.order_by("seq"))
    by_pk = {e.pk: e for e in events}
    results = {e.parent_event_id: e for e in events if e.type == Event.Type.TOOL_RESULT}
    out = []
    for e in events:
        meta = {}
        if e.parent_event_id:
            meta["parent_event_id"] = by_pk[e.parent_event_id].external_id
        source = (
            EventSource.USER
            if e.source == "user"
            else (EventSource.SYSTEM if e.source == "system" else EventSource.LLM)
        )
        if e.type == Event.Type.MESSAGE:
            out.append(
                SessionEvent(
                    id=e.external_id,
                    message=e.content,
                    source=source,
                    type=EventType.MESSAGE,
                    metadata=meta,
                )
            )
        elif e.type == Event.Type.TOOL_CALL:
            r = results.get(e.pk)
            failed = bool(r and r.is_error)
            out.append(
                SessionEvent(
                    id=e.external_id,
                    source=source,
                    type=EventType.TOOL_CALL,
                    metadata=meta,
                    message={
                        "tool": e.name,
                        "arguments": json.loads(e.content or "{}"),
                        "result": {
                            "status": "error" if failed else "ok",
                            "output": r.content if r else None,
                        },
                        "error": r.content if failed else None,
                    },
                )
            )
        elif e.type == Event.Type.SUMMARY:
            out.append(
                SessionEvent(
                    id=e.external_id,
                    source=source,
                    type=EventType.SUMMARY,
                    message={"note": e.content},
                    metadata=meta,
                )
            )
    return Session(id=session.external_id, events=out, parent_id=parent_id)


def _signature_a2a(prompt):
    """Roles, with user/system text and tool names (sanitised as chat APIs require)."""
    sig = []
    for m in prompt:
        if m["role"] == "tool":
            sig.append(("tool", prompts.function_name(m["name"])))
        elif m["role"] == "assistant":
            sig.append(("assistant", None))
        else:
            sig.append((m["role"], m["content"]))
    return sig


def _signature_ours(p):
    names = {}
    sig = []
    for m, sources in zip(p.messages, p.sources, strict=True):
        for c in m.get("tool_calls") or []:
            names[c["id"]] = c["function"]["name"]
        role = m["role"]
        first = Event.objects.get(session_id=sources[0].session_id, seq=sources[0].seq)
        if role == "tool":
            sig.append(("tool", names[m["tool_call_id"]]))
        elif role == "assistant" or (role == "system" and first.type == Event.Type.MESSAGE):
            # a2a sends any non-user message as an assistant turn, without its text.
            sig.append(("assistant", None))
        else:
            sig.append((role, m["content"]))
    return sig


SCENARIOS = {
    "no_events": lambda project: session_upsert(project=project, external_id="e0", fields={})[0],
    "no_reply": lambda project: append(project, "e1", user("e1-u", "Hi")),
    "tools_with_error": lambda project: tool_session(project, "e2"),
    "assistant_first": lambda project: append(
        project, "e3", assistant("e3-a", "Welcome!"), assistant("e3-b", "Anyone?")
    ),
    "summaries_as_children": lambda project: append(
        project,
        "e4",
        user("e4-u", "Plan"),
        assistant("e4-a", "Plan."),
        summary("e4-s", "A plan was made.", parent="e4-a"),
    ),
    "long_with_system": lambda project: append(
        project,
        "e5",
        *[
            user(f"e5-u{i}", f"question {i}")
            if i % 2 == 0
            else assistant(f"e5-a{i}", f"answer {i}")
            for i in range(9)
        ],
        assistant("e5-sys", "Be brief.", source="system", role="system"),
        user("e5-last", "last question"),
    ),
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize("strategy", ["minimal", "task", "tool", "conversation", "hierarchical"])
def test_selected_events_match_a2a_session_managers_builder(project, scenario, strategy):
    from a2a_session_manager.session_prompt_builder import build_prompt_from_session

    session = SCENARIOS[scenario](project)
    reference = build_prompt_from_session(_to_a2a(session), strategy=strategy)
    ours = build(session, strategy, include_parent_context=False)
    assert _signature_ours(ours) == _signature_a2a(reference)


def test_hierarchical_with_one_parent_matches_a2a_with_parent_context(project):
    from a2a_session_manager.session_prompt_builder import build_prompt_from_session
    from a2a_session_manager.storage import InMemorySessionStore, SessionStoreProvider

    parent = append(project, "h-p", user("h-p-u", "Topic A"), summary("h-p-s", "We chose A."))
    session_upsert(project=project, external_id="h-c", fields={}, parent_external_id="h-p")
    child = append(project, "h-c", user("h-c-u", "More on A"), assistant("h-c-a", "Sure."))
    store = InMemorySessionStore()
    SessionStoreProvider.set_store(store)
    store.save(_to_a2a(parent))
    reference = build_prompt_from_session(
        _to_a2a(child, parent_id="h-p"), strategy="hierarchical", include_parent_context=True
    )
    ours = build(child, prompts.HIERARCHICAL)
    assert ours.messages[0] == reference[0]
    assert _signature_ours(ours) == _signature_a2a(reference)


# -- truncation ------------------------------------------------------------------------------


def test_truncation_follows_a2a_first_and_reports_what_it_dropped(project):
    session = append(
        project,
        "t",
        user("t-u1", "The task: " + "details " * 50),
        *[
            user(f"t-u{i}", "filler " * 40) if i % 2 else assistant(f"t-a{i}", "reply " * 40)
            for i in range(2, 9)
        ],
        assistant("t-last", "Final answer."),
    )
    full = build(session, prompts.CONVERSATION, history=8)
    limit = full.token_count - 50
    p = build(session, prompts.CONVERSATION, history=8, max_tokens=limit)
    assert p.token_count <= limit
    assert p.messages[-1]["content"] == "Final answer."
    assert p.dropped and all(d["action"] == "dropped" for d in p.dropped)
    kept = {s.seq for src in p.sources for s in src}
    assert not kept & {seq for d in p.dropped for seq in d["seqs"]}


def test_a_limit_below_any_message_clips_the_last_one_or_empties_the_prompt(project):
    session = append(project, "clip", user("clip-u", "word " * 500))
    p = build(session, prompts.MINIMAL, max_tokens=40)
    assert p.token_count <= 40 and p.dropped[0]["action"] == "clipped"
    assert p.messages[0]["content"].endswith("…")
    tiny = build(session, prompts.MINIMAL, max_tokens=2)
    assert tiny.messages == [] and tiny.token_count == 0


def test_a_non_positive_limit_is_refused(project):
    session = append(project, "bad", user("bad-u", "x"))
    with pytest.raises(InvalidInput) as err:
        prompts.build_prompt(session, prompts.MINIMAL, max_tokens=0)
    assert err.value.field == "max_tokens"


WORDS = st.text(alphabet="abc xyz.,!éß中", min_size=0, max_size=300)


@st.composite
def prompt_items(draw):
    """Random valid prompts: user/system turns and assistant turns with tool blocks."""
    items = []
    seq = 0
    for _ in range(draw(st.integers(0, 8))):
        seq += 1
        kind = draw(st.sampled_from(["user", "system", "assistant", "assistant_tools"]))
        text = draw(WORDS)
        if kind != "assistant_tools":
            items.append(prompts.Built({"role": kind, "content": text}, [prompts.Source(1, seq)]))
            continue
        n = draw(st.integers(1, 3))
        ids = [f"call_{seq}_{i}" for i in range(n)]
        items.append(
            prompts.Built(
                {
                    "role": "assistant",
                    "content": text or None,
                    "tool_calls": [
                        {"id": i, "type": "function", "function": {"name": "f", "arguments": "{}"}}
                        for i in ids
                    ],
                },
                [prompts.Source(1, seq)],
            )
        )
        for i in ids:
            seq += 1
            items.append(
                prompts.Built(
                    {"role": "tool", "tool_call_id": i, "content": draw(WORDS)},
                    [prompts.Source(1, seq)],
                )
            )
    return items


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=prompt_items(), limit=st.integers(1, 400))
def test_truncation_never_returns_a_prompt_over_the_limit(items, limit):
    kept, dropped = prompts.truncate(items, model=MODEL, max_tokens=limit)
    messages = [i.message for i in kept]
    assert prompts.count(MODEL, messages) <= limit
    validate_chat(messages)
    if prompts.count(MODEL, [i.message for i in items]) <= limit:
        assert kept == items and dropped == []
    else:
        assert dropped


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    strategy=st.sampled_from(prompts.STRATEGIES),
    limit=st.integers(1, 200),
    model=st.sampled_from(["gpt-4o", "gpt-3.5-turbo", "claude-3-5-haiku-latest"]),
)
def test_a_stored_sessions_prompt_is_never_over_the_limit(project, strategy, limit, model):
    session = AgentSession.objects.filter(external_id="prop").first() or tool_session(
        project, "prop"
    )
    p = prompts.build_prompt(session, strategy, model=model, max_tokens=limit)
    validate_chat(p.messages)
    assert p.token_count <= limit
    assert p.token_count == prompts.count(model, p.messages)
