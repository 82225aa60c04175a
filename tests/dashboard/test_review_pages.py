"""The review panel of a session, its actions, and the score configs page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sessions_app.models import Comment, DataType, Membership, Score, ScoreConfig
from tests.factories import MembershipFactory, UserFactory

from .conftest import htmx

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"dashboard:{name}", args=args)


@pytest.fixture
def helpful(project):
    return ScoreConfig.objects.create(
        project=project, name="helpfulness", data_type=DataType.NUMERIC, min_value=1, max_value=5
    )


def test_the_session_page_loads_the_review_panel_lazily(client, editor, session):
    client.force_login(editor)
    page = client.get(url("session_detail", "acme", session.pk))
    assert url("review_panel", "acme", session.pk) in page.content.decode()


def test_the_review_panel_is_a_page_and_a_partial(client, editor, session, helpful):
    client.force_login(editor)
    whole = client.get(url("review_panel", "acme", session.pk))
    part = client.get(url("review_panel", "acme", session.pk), **htmx("review-panel"))
    assert whole.status_code == part.status_code == 200
    assert "<html" in whole.content.decode() and "<html" not in part.content.decode()
    assert 'id="review-panel"' in part.content.decode()


def test_the_review_panels_queries_are_pinned(client, editor, session, django_assert_num_queries):
    client.force_login(editor)
    client.get(url("review_panel", "acme", session.pk), **htmx("review-panel"))
    # session, user, membership, project, session row, scores, comments, history, configs,
    # queue items, queues
    with django_assert_num_queries(11):
        client.get(url("review_panel", "acme", session.pk), **htmx("review-panel"))


def test_another_projects_user_gets_404s(client, outsider, session):
    client.force_login(outsider)
    assert client.get(url("review_panel", "acme", session.pk)).status_code == 404
    assert client.post(url("comment_new", "acme", session.pk), {"text": "x"}).status_code == 404
    assert client.get(url("score_configs", "acme")).status_code == 404
    assert client.get(url("queue_list", "acme")).status_code == 404


def test_an_editor_comments_on_the_session_and_on_an_event(client, editor, session):
    client.force_login(editor)
    r = client.post(
        url("comment_new", "acme", session.pk), {"text": "Nice"}, **htmx("review-panel")
    )
    assert r.status_code == 200 and "Nice" in r.content.decode()
    r = client.post(url("comment_new", "acme", session.pk), {"text": "This one", "event": 2})
    assert r.status_code == 302
    comments = list(Comment.objects.order_by("id"))
    assert [(c.text, c.event.seq if c.event else None, c.author_name) for c in comments] == [
        ("Nice", None, "editor"),
        ("This one", 2, "editor"),
    ]


def test_a_comment_on_a_missing_event_is_a_404(client, editor, session):
    client.force_login(editor)
    r = client.post(url("comment_new", "acme", session.pk), {"text": "x", "event": 999})
    assert r.status_code == 404


def test_an_empty_comment_is_a_400_with_the_form_error(client, editor, session):
    client.force_login(editor)
    r = client.post(url("comment_new", "acme", session.pk), {"text": ""}, **htmx("review-panel"))
    assert r.status_code == 400 and "error-box" in r.content.decode()


def test_a_viewer_may_not_comment_unless_the_project_lets_viewers_review(
    client, viewer, session, project
):
    client.force_login(viewer)
    assert client.post(url("comment_new", "acme", session.pk), {"text": "x"}).status_code == 403
    assert client.get(url("review_panel", "acme", session.pk)).status_code == 200
    project.viewers_may_review = True
    project.save()
    assert client.post(url("comment_new", "acme", session.pk), {"text": "x"}).status_code == 302


def test_only_the_author_edits_and_an_admin_may_delete(client, editor, admin_user, session):
    client.force_login(editor)
    client.post(url("comment_new", "acme", session.pk), {"text": "mine"})
    comment = Comment.objects.get()
    r = client.post(url("comment_change", "acme", session.pk, comment.pk), {"text": "changed"})
    assert r.status_code == 302
    other = MembershipFactory(
        project=session.project, role=Membership.Role.EDITOR, user=UserFactory(username="ed2")
    ).user
    client.force_login(other)
    r = client.post(url("comment_change", "acme", session.pk, comment.pk), {"text": "hijack"})
    assert r.status_code == 403
    r = client.post(url("comment_change", "acme", session.pk, comment.pk), {"delete": "1"})
    assert r.status_code == 403
    client.force_login(admin_user)
    r = client.post(url("comment_change", "acme", session.pk, comment.pk), {"delete": "1"})
    assert r.status_code == 302 and not Comment.objects.exists()


def test_an_editor_scores_the_session_by_config_and_ad_hoc(client, editor, session, helpful):
    client.force_login(editor)
    r = client.post(
        url("score_new", "acme", session.pk),
        {"name": "helpfulness", "value": "4"},
        **htmx("review-panel"),
    )
    assert r.status_code == 200
    client.post(url("score_new", "acme", session.pk), {"name": "solved", "value": "true"})
    assert sorted((s.name, s.value, s.author_name) for s in Score.objects.all()) == [
        ("helpfulness", 4.0, "editor"),
        ("solved", True, "editor"),
    ]


def test_a_score_out_of_range_is_a_422_on_the_form(client, editor, session, helpful):
    client.force_login(editor)
    r = client.post(
        url("score_new", "acme", session.pk),
        {"name": "helpfulness", "value": "9"},
        **htmx("review-panel"),
    )
    assert r.status_code == 422 and "at most 5" in r.content.decode()
    assert not Score.objects.exists()


def test_the_history_lists_review_marks_scores_and_comments(client, editor, session, helpful):
    client.force_login(editor)
    client.post(url("session_review", "acme", session.pk), {"review_status": "flagged"})
    client.post(url("score_new", "acme", session.pk), {"name": "helpfulness", "value": "2"})
    client.post(url("comment_new", "acme", session.pk), {"text": "hmm"})
    body = client.get(url("review_panel", "acme", session.pk), **htmx("review-panel")).content
    text = body.decode()
    assert "set the review to flagged" in text
    assert "scored helpfulness = 2" in text
    assert "commented: hmm" in text


def test_editors_add_score_configs_and_viewers_only_read_them(client, editor, viewer):
    client.force_login(editor)
    r = client.post(
        url("score_configs", "acme"),
        {"name": "tone", "data_type": "categorical", "categories": "kind, rude"},
    )
    assert r.status_code == 302
    assert ScoreConfig.objects.get().categories == ["kind", "rude"]
    r = client.post(url("score_configs", "acme"), {"name": "tone", "data_type": "boolean"})
    assert r.status_code == 422
    client.force_login(viewer)
    assert client.get(url("score_configs", "acme")).status_code == 200
    r = client.post(url("score_configs", "acme"), {"name": "x", "data_type": "boolean"})
    assert r.status_code == 403


def test_the_score_configs_page_has_its_partial(client, editor):
    client.force_login(editor)
    r = client.get(url("score_configs", "acme"), **htmx("score-configs"))
    assert r.status_code == 200 and "<html" not in r.content.decode()


def test_only_admins_let_viewers_review(client, editor, admin_user, project):
    client.force_login(editor)
    assert client.post(url("viewers_may_review", "acme"), {"allowed": "1"}).status_code == 403
    client.force_login(admin_user)
    assert client.post(url("viewers_may_review", "acme"), {"allowed": "1"}).status_code == 302
    project.refresh_from_db()
    assert project.viewers_may_review


def test_comments_and_scores_on_an_event_show_in_its_card(client, editor, session, helpful):
    client.force_login(editor)
    client.post(url("comment_new", "acme", session.pk), {"text": "wrong tool", "event": 2})
    client.post(
        url("score_new", "acme", session.pk), {"name": "helpfulness", "value": "3", "event": 2}
    )
    html = client.get(url("session_detail", "acme", session.pk)).content.decode()
    card = html[html.index('id="ev-2"') :]
    card = card[: card.index("</article>")]
    assert "wrong tool" in card and "helpfulness = 3" in card


def test_scores_from_the_panel_set_the_list_s_value(client, editor, session, helpful):
    from sessions_app.models import SessionScore

    client.force_login(editor)
    for value in ("3", "4"):
        client.post(
            url("score_new", "acme", session.pk),
            {"name": "helpfulness", "value": value, "event": 2},
        )
    row = SessionScore.objects.get(session=session, name="helpfulness")
    assert (row.event_count, row.display) == (2, "3.5")
    client.post(url("score_new", "acme", session.pk), {"name": "helpfulness", "value": "2"})
    client.post(url("score_new", "acme", session.pk), {"name": "solved", "value": "false"})
    values = {r.name: r.display for r in SessionScore.objects.filter(session=session)}
    assert values == {"helpfulness": "2", "solved": "false"}
