"""The prompt comparison page: columns per strategy, links to events, differences marked."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sessions_app.inputs import EventInput
from sessions_app.services.events import events_append

from .conftest import htmx, make_session

pytestmark = pytest.mark.django_db


def url(session, **params) -> str:
    base = reverse("dashboard:session_compare", args=[session.project.slug, session.pk])
    if params:
        from urllib.parse import urlencode

        base += "?" + urlencode(params, doseq=True)
    return base


def test_full_page_shows_all_five_strategies_with_tokens_and_cost(client, viewer, session):
    client.force_login(viewer)
    response = client.get(url(session))
    html = response.content.decode()
    assert response.status_code == 200 and "<html" in html
    for label in ("Minimal", "Task focused", "Tool focused", "Conversation", "Hierarchical"):
        assert f"<h2>{label}</h2>" in html
    assert html.count('class="compare-col"') == 5
    assert 'class="tokens"' in html and "$" in html
    # Links back into the transcript, on the page that holds the event.
    assert f"/p/acme/sessions/{session.pk}/?after_seq=0#ev-1" in html


def test_messages_only_some_strategies_select_are_marked(client, viewer, session):
    client.force_login(viewer)
    html = client.get(url(session, strategies=["minimal", "tool_focused"])).content.decode()
    assert html.count('class="compare-col"') == 2
    # Minimal starts from the first question, tool focused from the latest one.
    assert "question 0 from s-main" in html and "question 1 from s-main" in html
    assert "only here" in html


def test_the_token_limit_is_applied_and_cuts_are_listed(client, viewer, session):
    client.force_login(viewer)
    html = client.get(url(session, strategies=["conversation"], max_tokens=30)).content.decode()
    assert "Over the limit of 30" in html


def test_an_unknown_model_shows_an_unknown_cost(client, viewer, session):
    client.force_login(viewer)
    html = client.get(url(session, model="house-llm-7b", strategies=["minimal"])).content.decode()
    assert "unknown" in html and "house-llm-7b" in html


def test_the_columns_partial_for_htmx(client, viewer, session):
    client.force_login(viewer)
    response = client.get(url(session, strategies=["minimal"]), **htmx("compare-columns"))
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith('<div id="compare-columns"')


def test_another_projects_user_gets_404(client, outsider, session):
    client.force_login(outsider)
    assert client.get(url(session)).status_code == 404


def test_anonymous_users_are_sent_to_login(client, session):
    response = client.get(url(session))
    assert response.status_code == 302 and "/login" in response["Location"]


def test_a_session_of_thousands_of_events_costs_a_fixed_number_of_queries(
    client, viewer, project, django_assert_max_num_queries
):
    big = make_session(project, "big", turns=2)
    events_append(
        project=project,
        session_external_id="big",
        events=[
            EventInput(
                external_id=f"bulk-{i}",
                source="user" if i % 2 == 0 else "llm",
                role="user" if i % 2 == 0 else "assistant",
                content=f"message {i}",
            )
            for i in range(3000)
        ],
    )
    client.force_login(viewer)
    with django_assert_max_num_queries(25):
        response = client.get(url(big))
    assert response.status_code == 200
    assert "message 2999" in response.content.decode()


def test_the_model_defaults_to_the_one_the_session_used(client, viewer, session):
    client.force_login(viewer)
    response = client.get(url(session))
    assert response.context["model"] == "gpt-4o-mini"
    assert '<option value="gpt-4o-mini" selected>' in response.content.decode()


def test_a_session_without_usage_falls_back_to_the_default_model(client, viewer, project):
    quiet = make_session(project, "quiet", turns=0)
    events_append(
        project=project,
        session_external_id="quiet",
        events=[EventInput(external_id="q-1", source="user", role="user", content="hello")],
    )
    client.force_login(viewer)
    assert client.get(url(quiet)).context["model"] == "gpt-4o"


def test_a_text_diff_between_two_strategies_shows_removed_and_added_lines(client, viewer, session):
    client.force_login(viewer)
    response = client.get(
        url(session, strategies=["minimal"], diff_a="minimal", diff_b="tool_focused")
    )
    html = response.content.decode()
    diff = response.context["diff"]
    assert (diff.left, diff.right) == ("minimal", "tool_focused")
    assert diff.removed + diff.added > 0
    assert "Text diff: Minimal → Tool focused" in html
    assert 'class="del"' in html or 'class="ins"' in html
    # The diff's strategies are built even when only one column is shown.
    assert html.count('class="compare-col"') == 1


def test_the_diff_is_in_the_columns_partial(client, viewer, session):
    client.force_login(viewer)
    response = client.get(
        url(session, diff_a="conversation", diff_b="hierarchical"), **htmx("compare-columns")
    )
    assert 'class="prompt-diff"' in response.content.decode()


def test_the_same_strategy_on_both_sides_shows_no_diff(client, viewer, session):
    client.force_login(viewer)
    response = client.get(url(session, diff_a="minimal", diff_b="minimal"))
    assert response.context["diff"] is None
    assert 'class="prompt-diff"' not in response.content.decode()
