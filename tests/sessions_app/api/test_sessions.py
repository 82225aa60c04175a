"""Sessions: upsert, get with rollups, list with filters and cursors, delete the subtree."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sessions_app.models import AgentSession, Event

pytestmark = pytest.mark.django_db


def test_put_creates_then_updates_only_the_fields_sent(api):
    created = api.put("/sessions/conv-1", {"title": "Refund", "metadata": {"env": "prod"}})
    assert created.status_code == 201
    assert created.json()["title"] == "Refund"
    updated = api.put("/sessions/conv-1", {"agent_name": "bot"})
    assert updated.status_code == 200
    body = updated.json()
    assert (body["title"], body["agent_name"], body["metadata"]) == (
        "Refund",
        "bot",
        {"env": "prod"},
    )
    assert AgentSession.objects.count() == 1


def test_put_with_a_parent_makes_a_child_and_creates_a_missing_parent(api):
    body = api.put("/sessions/sub-1", {"parent_id": "conv-1", "agent_name": "sub"}).json()
    assert (body["parent_id"], body["kind"], body["depth"]) == ("conv-1", "child", 1)
    parent = api.get("/sessions/conv-1").json()
    assert parent["children_count"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"titel": "typo"}, "titel"),
        ({"status": "sleeping"}, "status"),
        ({"metadata": []}, "metadata"),
        ({"kind": "segment"}, "kind"),
        ({"title": 5}, "title"),
        ({"title": "x" * 501}, "title"),
    ],
)
def test_put_rejects_bad_input_naming_the_field_and_writes_nothing(api, body, field):
    response = api.put("/sessions/conv-1", body)
    assert response.status_code == 422
    data = response.json()
    fields = (
        [d["field"] for d in data["detail"]]
        if isinstance(data["detail"], list)
        else [data["field"]]
    )
    assert field in fields
    assert not AgentSession.objects.exists()


def test_get_shows_rollups(api):
    api.post(
        "/sessions/conv-1/events",
        {
            "events": [
                {"id": "e1", "source": "user", "message": "hello"},
                {
                    "id": "e2",
                    "source": "llm",
                    "message": "hi",
                    "token_usage": {
                        "model": "x",
                        "prompt_tokens": 5,
                        "completion_tokens": 2,
                        "cost_usd": "0.01",
                    },
                },
                {"id": "e3", "source": "system", "type": "error", "message": "boom"},
            ]
        },
    )
    body = api.get("/sessions/conv-1").json()
    assert body["event_count"] == 3
    assert body["last_seq"] == 3
    assert (body["prompt_tokens"], body["completion_tokens"], body["total_tokens"]) == (5, 2, 7)
    assert body["cost_usd"] == "0.01"
    assert body["error_count"] == 1
    assert body["preview"] == "hello"


def test_another_projects_session_is_a_404_everywhere(api, other_api):
    api.put("/sessions/secret", {"title": "mine"})
    api.post("/sessions/secret/runs", {"id": "run-s"})
    assert other_api.get("/sessions/secret").status_code == 404
    assert other_api.get("/sessions/secret/events").status_code == 404
    assert other_api.delete("/sessions/secret").status_code == 404
    assert other_api.delete("/sessions/secret/events").status_code == 404
    assert other_api.delete("/sessions/secret/events/last").status_code == 404
    assert other_api.patch("/runs/run-s", {"status": "running"}).status_code == 404
    assert other_api.get("/sessions").json()["items"] == []
    assert api.get("/sessions/secret").json()["title"] == "mine"


def test_unknown_session_is_404_with_json(api):
    response = api.get("/sessions/nope")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_list_filters(api):
    api.put("/sessions/a", {"agent_name": "bot", "user_ref": "u1", "metadata": {"env": "prod"}})
    api.put(
        "/sessions/b",
        {"agent_name": "bot", "user_ref": "u2", "metadata": {"env": "dev"}, "status": "completed"},
    )
    api.put("/sessions/c", {"parent_id": "a", "agent_name": "sub"})

    def ids(**params):
        response = api.get("/sessions", **params)
        assert response.status_code == 200, response.json()
        return sorted(s["id"] for s in response.json()["items"])

    assert ids() == ["a", "b", "c"]
    assert ids(agent="bot") == ["a", "b"]
    assert ids(user_ref="u2") == ["b"]
    assert ids(status="completed") == ["b"]
    assert ids(kind="child") == ["c"]
    assert ids(parent="a") == ["c"]
    assert ids(**{"metadata.env": "prod"}) == ["a"]
    assert ids(**{"metadata.env": "prod", "agent": "nobody"}) == []
    AgentSession.objects.filter(external_id="a").update(
        created_at=timezone.now() - timedelta(days=3),
        last_event_at=timezone.now() - timedelta(days=2),
    )
    yesterday = (timezone.now() - timedelta(days=1)).isoformat()
    assert ids(created_before=yesterday) == ["a"]
    assert ids(created_after=yesterday) == ["b", "c"]
    assert ids(active_before=yesterday) == ["a"]
    assert ids(active_after=yesterday) == ["b", "c"]


def test_list_rejects_a_bad_metadata_key_and_a_forged_cursor(api):
    response = api.get("/sessions", **{"metadata.env__contains": "x"})
    assert response.status_code == 422
    assert response.json()["field"] == "metadata.env__contains"
    response = api.get("/sessions", cursor="not-a-cursor")
    assert response.status_code == 422
    assert response.json()["field"] == "cursor"


def test_cursor_pagination_walks_every_session_once_in_order(api):
    same_moment = timezone.now()
    for i in range(7):
        api.put(f"/sessions/s{i}", {})
    # Ties on the sort key are broken by id, so equal timestamps neither repeat nor skip.
    AgentSession.objects.filter(external_id__in=["s2", "s3", "s4"]).update(
        last_event_at=same_moment
    )
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api.get("/sessions", **params).json()
        seen.extend(s["id"] for s in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == [f"s{i}" for i in range(7)]
    assert len(seen) == 7
    expected = list(
        AgentSession.objects.order_by("-last_event_at", "-id").values_list("external_id", flat=True)
    )
    assert seen == expected


def test_list_is_one_query_per_page_after_auth(api, django_assert_max_num_queries):
    for i in range(5):
        api.put(f"/sessions/p{i}", {"parent_id": "root"})
    api.get("/sessions")  # warm last_used_at
    with django_assert_max_num_queries(2):  # the key lookup + the page
        assert len(api.get("/sessions").json()["items"]) == 6


def test_delete_removes_the_subtree_with_its_events(api):
    api.put("/sessions/child", {"parent_id": "root"})
    api.put("/sessions/grandchild", {"parent_id": "child"})
    api.post("/sessions/grandchild/events", {"id": "g1", "source": "user", "message": "x"})
    api.put("/sessions/other", {})
    response = api.delete("/sessions/child")
    assert response.status_code == 200
    assert response.json() == {"deleted": 2}
    assert sorted(AgentSession.objects.values_list("external_id", flat=True)) == ["other", "root"]
    assert not Event.objects.exists()
    assert api.get("/sessions/root").json()["children_count"] == 0
