"""Branches over the API: create one from a user turn, write to it, read it, list them."""

from __future__ import annotations


def post(api, events, session="b"):
    return api.post(f"/sessions/{session}/events", {"events": events})


def user(eid, text, **kw):
    return {"id": eid, "format": "openai_chat", "item": {"role": "user", "content": text}, **kw}


def reply(eid, text, **kw):
    return {
        "id": eid,
        "format": "openai_chat",
        "item": {"role": "assistant", "content": text},
        **kw,
    }


def two_turns(api):
    post(api, [user("u1", "hi"), reply("a1", "hello"), user("u2", "weather?"), reply("a2", "sun")])


def items(api, **params):
    got = api.get("/sessions/b/events", format="openai_chat", **params).json()["items"]
    return [i["content"] for i in got]


def test_a_branch_from_turn_two_shares_turn_one_and_has_its_own_items(api):
    two_turns(api)
    created = api.post("/sessions/b/branches", {"name": "retry", "from_turn": 2})
    assert created.status_code == 201
    assert created.json()["parent"] == "main"
    assert created.json()["fork_seq"] == 2
    post(api, [user("r2", "weather in Rome?", branch="retry"), reply("r3", "rain", branch="retry")])
    assert items(api, branch="retry") == ["hi", "hello", "weather in Rome?", "rain"]
    assert items(api, branch="main") == ["hi", "hello", "weather?", "sun"]


def test_branches_are_listed_main_first_with_their_items_and_turns(api):
    two_turns(api)
    api.post("/sessions/b/branches", {"name": "retry", "from_turn": 2})
    post(api, [user("r2", "again", branch="retry")])
    listed = api.get("/sessions/b/branches").json()["items"]
    assert [(b["name"], b["message_count"], b["user_turns"]) for b in listed] == [
        ("main", 4, 2),
        ("retry", 3, 2),
    ]


def test_a_branch_of_a_branch_reads_through_both_forks(api):
    two_turns(api)
    api.post("/sessions/b/branches", {"name": "one", "from_turn": 2})
    post(api, [user("o2", "two?", branch="one"), reply("o3", "two!", branch="one")])
    post(api, [user("o4", "three?", branch="one")])
    made = api.post("/sessions/b/branches", {"name": "two", "parent": "one", "from_turn": 3})
    assert made.status_code == 201
    post(api, [user("t3", "other third", branch="two")])
    assert items(api, branch="two") == ["hi", "hello", "two?", "two!", "other third"]


def test_a_retry_is_200_a_reused_name_409_and_a_missing_turn_422(api):
    two_turns(api)
    assert api.post("/sessions/b/branches", {"name": "x", "from_turn": 1}).status_code == 201
    retry = api.post("/sessions/b/branches", {"name": "x", "from_turn": 1})
    assert retry.status_code == 200
    assert retry.json()["name"] == "x"
    again = api.post("/sessions/b/branches", {"name": "x", "from_turn": 2})
    assert again.status_code == 409
    assert again.json()["field"] == "name"
    missing = api.post("/sessions/b/branches", {"name": "y", "from_turn": 9})
    assert missing.status_code == 422
    assert missing.json()["field"] == "from_turn"
    unknown_parent = api.post("/sessions/b/branches", {"name": "z", "parent": "no", "from_turn": 1})
    assert unknown_parent.status_code == 422
    assert api.post("/sessions/b/branches", {"name": "main", "from_turn": 1}).status_code == 409


def test_reading_an_unknown_branch_is_404(api):
    two_turns(api)
    response = api.get("/sessions/b/events", branch="nope")
    assert response.status_code == 404
    assert response.json()["field"] == "branch"


def test_another_projects_key_cannot_see_or_make_branches(api, other_api):
    two_turns(api)
    assert other_api.get("/sessions/b/branches").status_code == 404
    assert other_api.post("/sessions/b/branches", {"name": "x", "from_turn": 1}).status_code == 404


def test_without_a_key_branches_are_401(api):
    from .conftest import ApiClient

    two_turns(api)
    assert ApiClient(None).get("/sessions/b/branches").status_code == 401


# -- writing to a branch that is not there ----------------------------------------------------


def stored_ids(session="b"):
    from sessions_app.models import Event

    return set(
        Event.objects.filter(session__external_id=session).values_list("external_id", flat=True)
    )


def test_events_to_a_branch_the_session_does_not_have_are_a_422_and_nothing_is_stored(api):
    two_turns(api)
    before = stored_ids()
    refused = post(api, [user("u3", "more"), user("t1", "typo", branch="retyr")])
    assert refused.status_code == 422
    assert refused.json()["code"] == "invalid"
    assert refused.json()["field"] == "branch"
    assert "retyr" in refused.json()["detail"]
    assert stored_ids() == before  # not even the event on main: all or nothing


def test_a_new_session_s_first_events_on_a_branch_create_nothing(api):
    from sessions_app.models import AgentSession

    refused = post(api, [user("n1", "hi", branch="retry")], session="fresh")
    assert refused.status_code == 422
    assert refused.json()["field"] == "branch"
    assert not AgentSession.objects.filter(external_id="fresh").exists()


def test_events_to_a_deleted_branch_are_a_409_naming_the_branch(api):
    two_turns(api)
    api.post("/sessions/b/branches", {"name": "retry", "from_turn": 2})
    post(api, [user("r2", "Rome?", branch="retry")])
    api.delete("/sessions/b/branches/retry")
    before = stored_ids()
    refused = post(api, [user("r3", "still there?", branch="retry")])
    assert refused.status_code == 409
    assert refused.json()["code"] == "branch_deleted"
    assert refused.json()["field"] == "branch"
    assert "retry" in refused.json()["detail"]
    assert stored_ids() == before


def test_a_retry_of_events_stored_on_a_branch_is_still_a_duplicate(api):
    two_turns(api)
    api.post("/sessions/b/branches", {"name": "one", "from_turn": 2})
    batch = [user("o2", "two?", branch="one")]
    assert post(api, batch).status_code == 201
    again = post(api, batch)
    assert again.status_code == 200
    assert again.json()["results"][0]["status"] == "duplicate"


def test_a_summarized_session_keeps_taking_events_on_its_branches(api, project):
    # Once summarized, main's new events go to the newest segment; the branches are still the
    # session's own (the segment has no branch rows), and so are their events: a branch is
    # not segmented, its reads find them (test_branches_summarized.py has more).
    from sessions_app.models import AgentSession
    from sessions_app.services.sessions import session_continue_in, session_upsert

    two_turns(api)
    api.post("/sessions/b/branches", {"name": "retry", "from_turn": 2})
    session = AgentSession.objects.get(external_id="b")
    segment, _ = session_upsert(
        project=project,
        external_id="b~s1",
        fields={"title": "b (continued, part 2)"},
        parent_external_id="b",
        kind=AgentSession.Kind.SEGMENT,
    )
    session_continue_in(session=session, segment=segment)
    stored = post(api, [user("r2", "Rome?", branch="retry")])
    assert stored.status_code == 201, stored.json()
    assert AgentSession.objects.get(events__external_id="r2") == session
    # Addressed by the segment's own id, the conversation's branches are found too.
    assert post(api, [user("r3", "Paris?", branch="retry")], session="b~s1").status_code == 201
    assert AgentSession.objects.get(events__external_id="r3") == session
    assert items(api, branch="retry") == ["hi", "hello", "Rome?", "Paris?"]
    assert post(api, [user("r4", "?", branch="nope")]).json()["field"] == "branch"


def test_an_ingest_item_to_an_unknown_branch_fails_alone(api):
    two_turns(api)
    answer = api.post(
        "/ingest",
        {
            "items": [
                {"op": "events", "session_id": "b", "events": [user("i1", "ok")]},
                {"op": "events", "session_id": "b", "events": [user("i2", "no", branch="x")]},
            ]
        },
    )
    assert answer.status_code == 207
    first, second = answer.json()["results"]
    assert first["status"] == 201
    assert second["status"] == 422
    assert second["body"]["field"] == "items.1.branch"
    assert "i1" in stored_ids() and "i2" not in stored_ids()


# -- deleting a branch (the SDK's delete_branch) ----------------------------------------------


def test_a_deleted_branch_leaves_the_list_and_the_reads_and_its_name_stays_taken(api):
    two_turns(api)
    api.post("/sessions/b/branches", {"name": "retry", "from_turn": 2})
    post(api, [user("r2", "Rome?", branch="retry"), reply("r3", "rain", branch="retry")])
    deleted = api.delete("/sessions/b/branches/retry")
    assert deleted.status_code == 200
    assert deleted.json() == {"deleted": 2}
    listed = api.get("/sessions/b/branches").json()["items"]
    assert [b["name"] for b in listed] == ["main"]
    assert api.get("/sessions/b/events", branch="retry").status_code == 404
    assert items(api, branch="main") == ["hi", "hello", "weather?", "sun"]
    reused = api.post("/sessions/b/branches", {"name": "retry", "from_turn": 2})
    assert reused.status_code == 409
    again = api.delete("/sessions/b/branches/retry")
    assert again.status_code == 404
    assert again.json()["field"] == "name"


def test_a_deleted_branchs_events_stay_in_the_record_marked_removed(api):
    two_turns(api)
    api.post("/sessions/b/branches", {"name": "retry", "from_turn": 2})
    post(api, [user("r2", "Rome?", branch="retry")])
    api.delete("/sessions/b/branches/retry")
    record = api.get("/sessions/b/events", include_removed="true").json()["items"]
    removed = [(e["content"], e["branch"], e["removed_by"]) for e in record if e["removed_at"]]
    assert removed == [("Rome?", "retry", "delete_branch")]
    assert api.get("/sessions/b").json()["event_count"] == 5


def test_a_branch_forked_from_a_deleted_branch_keeps_reading_what_it_shared(api):
    two_turns(api)
    api.post("/sessions/b/branches", {"name": "one", "from_turn": 2})
    post(api, [user("o2", "two?", branch="one"), reply("o3", "two!", branch="one")])
    post(api, [user("o4", "three?", branch="one"), reply("o5", "three!", branch="one")])
    api.post("/sessions/b/branches", {"name": "two", "parent": "one", "from_turn": 3})
    assert api.delete("/sessions/b/branches/one").json() == {"deleted": 2}
    assert items(api, branch="two") == ["hi", "hello", "two?", "two!"]


def test_main_cannot_be_deleted_and_an_unknown_branch_is_404(api):
    two_turns(api)
    main = api.delete("/sessions/b/branches/main")
    assert main.status_code == 422
    assert main.json()["field"] == "name"
    assert api.delete("/sessions/b/branches/nope").status_code == 404


def test_another_projects_key_cannot_delete_a_branch(api, other_api):
    two_turns(api)
    api.post("/sessions/b/branches", {"name": "x", "from_turn": 1})
    assert other_api.delete("/sessions/b/branches/x").status_code == 404
    assert [b["name"] for b in api.get("/sessions/b/branches").json()["items"]] == ["main", "x"]


LAST_ON_RETRY = "/sessions/b/events/last?format=openai_chat&branch=retry"


def test_a_branch_whose_own_items_are_gone_pops_the_latest_it_shares(api):
    two_turns(api)
    api.post("/sessions/b/branches", {"name": "retry", "from_turn": 2})
    popped = api.delete(LAST_ON_RETRY)
    assert popped.json()["item"]["content"] == "hello"
    assert items(api, branch="retry") == ["hi"]
    assert items(api, branch="main") == ["hi", "hello", "weather?", "sun"]
    api.delete(LAST_ON_RETRY)
    assert items(api, branch="retry") == []
    empty = api.delete(LAST_ON_RETRY)
    assert empty.json()["item"] is None


def test_a_shared_item_is_not_popped_from_under_a_branch_forked_from_it(api):
    two_turns(api)
    api.post("/sessions/b/branches", {"name": "retry", "from_turn": 2})
    post(api, [user("r2", "Rome?", branch="retry")])
    api.post("/sessions/b/branches", {"name": "deeper", "parent": "retry", "from_turn": 2})
    api.delete(LAST_ON_RETRY)  # retry's own item
    assert api.delete(LAST_ON_RETRY).json()["item"] is None
    assert items(api, branch="deeper") == ["hi", "hello"]
    assert items(api, branch="retry") == ["hi", "hello"]
