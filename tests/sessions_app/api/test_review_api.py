"""The review API: scores (idempotent, checked against their config) and comments."""

from __future__ import annotations

import pytest

from sessions_app.models import DataType, ReviewEvent, Score, ScoreConfig
from tests.dashboard.conftest import make_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def sess(project):
    return make_session(project, "s-1", turns=1)


@pytest.fixture
def helpful(project):
    return ScoreConfig.objects.create(
        project=project, name="helpfulness", data_type=DataType.NUMERIC, min_value=1, max_value=5
    )


def test_a_program_posts_a_score_and_reads_it_back(api, sess, helpful):
    r = api.post("/scores", {"session_id": "s-1", "name": "helpfulness", "value": 4})
    assert r.status_code == 201
    body = r.json()
    assert body["value"] == 4 and body["data_type"] == "numeric" and body["author"] == "tests"
    items = api.get("/sessions/s-1/scores").json()["items"]
    assert [(i["name"], i["value"], i["source"]) for i in items] == [("helpfulness", 4, "api")]


def test_a_score_on_an_event_names_the_event(api, sess):
    r = api.post(
        "/scores", {"session_id": "s-1", "event_id": "s-1-0-a", "name": "ok", "value": True}
    )
    assert r.status_code == 201
    assert r.json()["event_id"] == "s-1-0-a" and r.json()["data_type"] == "boolean"
    assert api.get("/sessions/s-1/scores").json()["items"][0]["event_id"] == "s-1-0-a"


def test_a_retry_with_the_same_id_returns_the_stored_score(api, sess, helpful):
    body = {"id": "sc-1", "session_id": "s-1", "name": "helpfulness", "value": 3}
    first = api.post("/scores", body)
    again = api.post("/scores", body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert Score.objects.count() == 1


def test_the_same_id_with_another_body_is_a_409(api, sess, helpful):
    api.post("/scores", {"id": "sc-1", "session_id": "s-1", "name": "helpfulness", "value": 3})
    r = api.post("/scores", {"id": "sc-1", "session_id": "s-1", "name": "helpfulness", "value": 5})
    assert r.status_code == 409
    assert r.json()["code"] == "idempotency_conflict" and r.json()["field"] == "id"


@pytest.mark.parametrize("value", [9, 0, "4", True, None])
def test_a_value_that_does_not_fit_its_config_is_a_422_naming_value(api, sess, helpful, value):
    r = api.post("/scores", {"session_id": "s-1", "name": "helpfulness", "value": value})
    assert r.status_code == 422
    assert r.json()["field"] == "value" and r.json()["detail"]
    assert not Score.objects.exists()


def test_categorical_and_boolean_configs_check_their_values(api, project, sess):
    ScoreConfig.objects.create(
        project=project, name="tone", data_type=DataType.CATEGORICAL, categories=["kind", "rude"]
    )
    ScoreConfig.objects.create(project=project, name="solved", data_type=DataType.BOOLEAN)
    ok = api.post("/scores", {"session_id": "s-1", "name": "tone", "value": "kind"})
    bad = api.post("/scores", {"session_id": "s-1", "name": "tone", "value": "meh"})
    not_bool = api.post("/scores", {"session_id": "s-1", "name": "solved", "value": 1})
    assert ok.status_code == 201 and ok.json()["value"] == "kind"
    assert (bad.status_code, bad.json()["field"]) == (422, "value")
    assert (not_bool.status_code, not_bool.json()["field"]) == (422, "value")


@pytest.mark.parametrize(
    ("value", "data_type"), [(0.5, "numeric"), (False, "boolean"), ("good", "categorical")]
)
def test_a_name_without_config_is_an_ad_hoc_score_of_the_values_type(api, sess, value, data_type):
    r = api.post("/scores", {"session_id": "s-1", "name": "eval-x", "value": value})
    assert r.status_code == 201
    assert r.json()["data_type"] == data_type and r.json()["value"] == value


def test_an_ad_hoc_value_of_no_score_type_is_a_422(api, sess):
    r = api.post("/scores", {"session_id": "s-1", "name": "x", "value": [1]})
    assert (r.status_code, r.json()["field"]) == (422, "value")


def test_scores_of_unknown_sessions_and_events_are_404s(api, sess):
    r = api.post("/scores", {"session_id": "nope", "name": "x", "value": 1})
    assert r.status_code == 404
    r = api.post("/scores", {"session_id": "s-1", "event_id": "nope", "name": "x", "value": 1})
    assert (r.status_code, r.json()["field"]) == (404, "event_id")
    assert api.get("/sessions/nope/scores").status_code == 404


def test_another_projects_key_gets_404s(other_api, sess):
    assert (
        other_api.post("/scores", {"session_id": "s-1", "name": "x", "value": 1}).status_code == 404
    )
    assert other_api.get("/sessions/s-1/scores").status_code == 404
    assert other_api.post("/sessions/s-1/comments", {"text": "hi"}).status_code == 404
    assert other_api.get("/sessions/s-1/comments").status_code == 404


def test_a_missing_key_is_a_401(sess):
    from tests.sessions_app.api.conftest import ApiClient

    assert ApiClient(None).get("/sessions/s-1/comments").status_code == 401


def test_unknown_score_fields_are_a_422(api, sess):
    r = api.post("/scores", {"session_id": "s-1", "name": "x", "value": 1, "bogus": 1})
    assert r.status_code == 422


def test_a_program_comments_on_a_session_and_an_event_newest_last(api, sess):
    first = api.post("/sessions/s-1/comments", {"text": "looks fine"})
    second = api.post("/sessions/s-1/comments", {"text": "this answer", "event_id": "s-1-0-a"})
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["author"] == "tests"
    items = api.get("/sessions/s-1/comments").json()["items"]
    assert [(i["text"], i["event_id"]) for i in items] == [
        ("looks fine", None),
        ("this answer", "s-1-0-a"),
    ]


def test_an_empty_comment_is_a_422_naming_text(api, sess):
    r = api.post("/sessions/s-1/comments", {"text": "   "})
    assert (r.status_code, r.json()["field"]) == (422, "text")
    r = api.post("/sessions/s-1/comments", {})
    assert r.status_code == 422


def test_a_comment_on_an_unknown_event_is_a_404(api, sess):
    r = api.post("/sessions/s-1/comments", {"text": "x", "event_id": "nope"})
    assert (r.status_code, r.json()["field"]) == (404, "event_id")


def test_scores_and_comments_from_programs_enter_the_review_history(api, sess, helpful):
    api.post("/scores", {"session_id": "s-1", "name": "helpfulness", "value": 2})
    api.post("/sessions/s-1/comments", {"text": "too slow"})
    lines = list(ReviewEvent.objects.filter(session=sess).values_list("actor_name", "summary"))
    assert lines == [("tests", "scored helpfulness = 2"), ("tests", "commented: too slow")]


def test_api_scores_keep_the_list_s_value_of_the_session(api, sess, helpful):
    from sessions_app.models import SessionScore

    api.post(
        "/scores", {"session_id": "s-1", "event_id": "s-1-0-a", "name": "helpfulness", "value": 2}
    )
    api.post(
        "/scores", {"session_id": "s-1", "event_id": "s-1-0-a", "name": "helpfulness", "value": 5}
    )
    row = SessionScore.objects.get(session__external_id="s-1", name="helpfulness")
    assert (row.has_own, row.event_count, row.value, row.display) == (False, 2, 3.5, "3.5")
    body = {"id": "own-1", "session_id": "s-1", "name": "helpfulness", "value": 1}
    assert api.post("/scores", body).status_code == 201
    assert api.post("/scores", body).status_code == 200  # a retry changes nothing
    row.refresh_from_db()
    assert (row.has_own, row.event_count, row.value, row.display) == (True, 2, 1.0, "1")


@pytest.mark.parametrize(
    "raw",
    [
        b"1" + b"0" * 400,  # too large to convert to a float at all
        b"-" + b"9" * 4000,
        b"1e400",  # parsed as infinity
        b"1.7e308",
        b"1000000000000001",
        b"-1e16",
    ],
)
def test_a_number_outside_the_score_range_is_a_422_naming_value(api, sess, raw):
    body = b'{"session_id": "s-1", "name": "big", "value": ' + raw + b"}"
    r = api.post("/scores", raw=body)
    assert r.status_code == 422
    assert r.json()["field"] == "value" and r.json()["detail"]
    assert not Score.objects.exists()


def test_the_ends_of_the_score_range_are_accepted(api, sess):
    for value in (10**15, -(10**15), 1e15, -1e15):
        r = api.post("/scores", {"session_id": "s-1", "name": "edge", "value": value})
        assert r.status_code == 201, r.content
    assert Score.objects.count() == 4


def test_event_scores_at_the_range_s_end_sum_without_overflow(api, sess):
    from sessions_app.models import SessionScore

    body = {"session_id": "s-1", "event_id": "s-1-0-a", "name": "big2", "value": 1.7e308}
    assert api.post("/scores", body).status_code == 422
    for _ in range(3):
        assert api.post("/scores", {**body, "value": 1e15}).status_code == 201
    row = SessionScore.objects.get(session__external_id="s-1", name="big2")
    assert (row.event_count, row.event_sum, row.value) == (3, 3e15, 1e15)


def test_a_score_config_s_bounds_lie_in_the_score_range(project):
    from sessions_app.errors import InvalidInput
    from sessions_app.services.scores import score_config_save

    with pytest.raises(InvalidInput) as exc:
        score_config_save(project=project, name="x", data_type=DataType.NUMERIC, max_value=1e300)
    assert exc.value.field == "max_value"
    with pytest.raises(InvalidInput) as exc:
        score_config_save(project=project, name="x", data_type=DataType.NUMERIC, min_value=-1e16)
    assert exc.value.field == "min_value"
    assert not ScoreConfig.objects.exists()
