"""A NUL character in any text a dashboard page reads from its address (a path id, the paste
box, search and filters) is what PostgreSQL cannot compare with: it gets a 404 or the page with
the value refused, never a 500, on both databases."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from .conftest import make_session

pytestmark = pytest.mark.django_db

NUL = "a\x00b"


@pytest.fixture
def sess(project):
    return make_session(project, "s-1", turns=1, agent_name="support", user_ref="alice")


@pytest.fixture
def browser(viewer) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(viewer)
    return client


def test_a_session_address_holding_a_nul_is_a_404(browser, project, sess):
    response = browser.get(f"/p/{project.slug}/s/a%00b")
    assert response.status_code == 404
    response = browser.get(f"/p/{project.slug}/s/s-1%00")
    assert response.status_code == 404
    # Nor do bytes that are not UTF-8 name a session (config/handlers.py NOT_UTF8).
    assert browser.get(f"/p/{project.slug}/s/s-1%FF").status_code == 404


def test_the_paste_box_takes_a_nul_as_no_id(browser, project, sess):
    go = reverse("dashboard:go_to_id", args=[project.slug])
    for text in (NUL, "s-1\x00", "s-1-0-a\x00"):
        response = browser.get(go, {"id": text})
        # Neither a session's nor an event's id: the list's search, which refuses it.
        assert response.status_code == 302
        assert response["Location"].startswith(f"/p/{project.slug}/sessions/?q=")
        assert browser.get(response["Location"]).status_code == 200


def test_other_path_texts_holding_a_nul_are_no_500(browser, project, sess):
    for path in (
        "/share/a%00b/",
        f"/p/{project.slug}/s/{sess.pk}/export.j%00son",
        f"/p/{project.slug}/s/{sess.pk}/jump/?to=prev-hit&from=3&find=a%00b",
    ):
        assert browser.get(path).status_code < 500, path


PAGES = [
    (
        "dashboard:session_list",
        {},
        [
            "q",
            "agent",
            "user",
            "model",
            "meta",
            "score",
            "score_value",
            "sort",
            "cursor",
            "before",
            "status",
            "kind",
            "review",
            "from",
            "to",
            "tag",
        ],
    ),
    ("dashboard:costs", {}, ["model", "agent", "user", "from", "to", "breakdown"]),
    ("dashboard:reprice", {}, ["target", "model", "agent", "user"]),
    ("dashboard:prices", {}, ["q"]),
    ("dashboard:budgets", {}, ["q"]),
    ("dashboard:score_configs", {}, ["q"]),
    ("dashboard:queue_list", {}, ["q"]),
    ("dashboard:share_links", {}, ["q"]),
    ("dashboard:project_home", {}, ["q"]),
    ("dashboard:session_detail", {"pk": True}, ["find", "branch", "at", "run", "after_seq"]),
    ("dashboard:session_jump", {"pk": True}, ["find", "to", "from"]),
    ("dashboard:session_compare", {"pk": True}, ["model", "strategies", "diff_a", "history"]),
    ("dashboard:session_tree", {"pk": True}, ["q"]),
    ("dashboard:session_children", {"pk": True}, ["after", "q"]),
    ("dashboard:session_summaries", {"pk": True}, ["q"]),
]


@pytest.mark.parametrize(("name", "kwargs", "params"), PAGES, ids=[p[0] for p in PAGES])
def test_a_nul_in_a_page_s_query_is_never_a_500(browser, project, sess, name, kwargs, params):
    args = [project.slug, sess.pk] if kwargs.get("pk") else [project.slug]
    url = reverse(name, args=args)
    failed = []
    for param in params:
        extra = {"to": "next-hit"} if name == "dashboard:session_jump" and param == "find" else {}
        response = browser.get(url, {**extra, param: NUL})
        if response.status_code >= 500:
            failed.append(param)
    assert not failed
