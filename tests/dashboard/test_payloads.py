"""Payloads for reading: the JSON viewer, Markdown through nh3, and the lazily loaded values."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from dashboard.templatetags.payloads import (
    NODE_BUDGET,
    json_text_view,
    json_view,
    markdown,
)
from sessions_app.inputs import EventInput
from sessions_app.models import AgentSession
from sessions_app.services.events import events_append
from sessions_app.services.sessions import session_upsert

from .conftest import htmx, make_session

pytestmark = pytest.mark.django_db


def test_the_viewer_nests_objects_and_arrays_in_details_with_counts():
    html = str(json_view({"order": {"id": 42, "items": ["a", "b"], "paid": True, "note": None}}))
    assert html.startswith('<div class="jv">')
    assert html.count("<details") == 3
    assert '<span class="jv-key">items</span>' in html and "2 items" in html and "1 key" in html
    assert '<span class="jv-val jv-num">42</span>' in html
    assert '<span class="jv-val jv-bool">true</span>' in html
    assert '<span class="jv-val jv-null">null</span>' in html


def test_the_viewer_escapes_keys_and_values():
    html = str(json_view({"<b>k</b>": "<script>alert(1)</script>"}))
    assert "<script>" not in html and "<b>k</b>" not in html
    assert "&lt;script&gt;" in html and "&lt;b&gt;k&lt;/b&gt;" in html


def test_each_value_has_a_copy_button_with_its_json():
    html = str(json_view({"a": [1, 2], "s": 'say "hi"'}))
    assert 'data-copy-text="[1, 2]"' in html
    assert 'data-copy-text="say &quot;hi&quot;"' in html


def test_deep_containers_start_closed_and_shallow_ones_open():
    html = str(json_view({"a": {"b": {"c": {"d": 1}}}}))
    assert html.count("<details") == 4
    assert html.count('<details class="jv-node" open>') == 2


def test_a_huge_value_is_cut_at_the_node_budget_and_says_so():
    html = str(json_view(list(range(NODE_BUDGET * 3))))
    assert html.count('class="jv-leaf"') < NODE_BUDGET
    assert "more not shown: see the raw text" in html


def test_a_long_string_folds_behind_its_start():
    html = str(json_view({"text": "x" * 1000}))
    assert 'class="jv-leaf jv-longstr"' in html and "1000 chars" in html


def test_text_holding_json_gets_the_viewer_and_other_text_does_not():
    assert str(json_text_view('{"query": "weather"}')).startswith('<div class="jv">')
    assert json_text_view("found 1 row") == ""
    assert json_text_view("{not json") == ""
    assert json_text_view(None) == ""


def test_markdown_is_rendered_only_when_the_text_uses_it():
    assert markdown("just a plain sentence.") == ""
    html = str(markdown("# Plan\n\n- **one**\n- `two`\n\n```\ncode\n```"))
    assert "<h1>Plan</h1>" in html and "<strong>one</strong>" in html
    assert "<code>two</code>" in html and "<pre><code>code" in html


def test_markdown_drops_scripts_images_handlers_and_javascript_links():
    html = str(
        markdown(
            "**x** <script>alert(1)</script> ![t](https://evil.example/t.png)"
            ' <a href="#" onclick="alert(2)">a</a> [b](javascript:alert(3))'
            ' <img src="https://evil.example/p.gif">'
        )
    )
    assert "<strong>x</strong>" in html
    # raw HTML shows as text, escaped, rather than disappearing
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html and "t.png" not in html
    assert '<a href="#" onclick' not in html and 'href="javascript:' not in html


def test_markdown_links_get_a_safe_rel():
    html = str(markdown("see [docs](https://example.com/docs)"))
    assert 'href="https://example.com/docs"' in html and "noopener" in html


def _url(name: str, session: AgentSession, *extra) -> str:
    return reverse(f"dashboard:{name}", args=[session.project.slug, session.pk, *extra])


def test_the_session_page_offers_the_state_lazily(client, viewer, project):
    session_upsert(project=project, external_id="st", fields={"state": {"cart": ["sku-1"]}})
    session = AgentSession.objects.get(external_id="st")
    client.force_login(viewer)
    html = client.get(_url("session_detail", session)).content.decode()
    assert 'class="state-box"' in html and _url("session_state", session) in html
    assert "sku-1" not in html  # loaded when opened


def test_the_state_view_shows_the_state_in_the_viewer(client, viewer, project):
    session_upsert(project=project, external_id="st", fields={"state": {"cart": ["sku-1"]}})
    session = AgentSession.objects.get(external_id="st")
    client.force_login(viewer)
    response = client.get(_url("session_state", session), **htmx("session-state"))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<span class="jv-key">cart</span>' in html and "sku-1" in html
    assert 'data-toggle-view="#session-state-value"' in html and "<html" not in html


def test_an_empty_state_says_so(client, viewer, session):
    client.force_login(viewer)
    assert "The state is empty." in client.get(_url("session_state", session)).content.decode()


def test_another_projects_user_gets_404_for_the_state_and_contents(client, outsider, session):
    client.force_login(outsider)
    assert client.get(_url("session_state", session)).status_code == 404
    assert client.get(_url("event_content", session, 3)).status_code == 404


def test_state_and_content_need_a_login(client, session):
    assert client.get(_url("session_state", session)).status_code == 302
    assert client.get(_url("event_content", session, 3)).status_code == 302


def test_an_unknown_seq_is_404(client, viewer, session):
    client.force_login(viewer)
    assert client.get(_url("event_content", session, 999)).status_code == 404


def test_a_long_tool_result_loads_on_open_as_a_json_tree(client, viewer, project):
    make_session(project, "long", turns=0)
    big = {"rows": [{"id": n, "name": f"row {n}"} for n in range(120)]}

    events_append(
        project=project,
        session_external_id="long",
        events=[
            EventInput(external_id="r", source="tool", type="tool_result", content=json.dumps(big))
        ],
    )
    session = AgentSession.objects.get(external_id="long")
    client.force_login(viewer)
    page = client.get(_url("session_detail", session)).content.decode()
    assert 'class="long lazy"' in page and _url("event_content", session, 1) in page
    assert "row 119" not in page  # not in the page until opened
    html = client.get(_url("event_content", session, 1)).content.decode()
    assert "120 items" in html and "row 119" in html and 'id="content-1-raw"' in html


def test_short_tool_arguments_show_as_a_tree_with_copy_and_raw(client, viewer, session):
    client.force_login(viewer)
    html = client.get(_url("session_detail", session)).content.decode()
    assert 'id="args-3"' in html and '<span class="jv-key">order</span>' in html
    assert 'data-copy="#args-3-raw"' in html and 'data-toggle-view="#args-3"' in html
    # plain text results keep a copy button too
    assert 'data-copy="#result-4-raw"' in html


def test_messages_have_copy_and_markdown_a_raw_toggle(client, viewer, project):
    make_session(project, "md", turns=0)
    events_append(
        project=project,
        session_external_id="md",
        events=[
            EventInput(
                external_id="a", source="llm", role="assistant", content="## Steps\n\n1. **check**"
            ),
            EventInput(external_id="b", source="user", role="user", content="plain words"),
        ],
    )
    client.force_login(viewer)
    html = client.get(_url("session_detail", AgentSession.objects.get(external_id="md")))
    text = html.content.decode()
    assert "<h2>Steps</h2>" in text and "<strong>check</strong>" in text
    assert 'data-toggle-view="#ev-1"' in text and 'id="src-1" data-view="raw" hidden' in text
    assert 'data-copy="#src-2"' in text and 'data-toggle-view="#ev-2"' not in text


def test_the_payload_box_shows_payload_and_metadata_as_trees(client, viewer, session):
    client.force_login(viewer)
    html = client.get(_url("event_payload", session, 3)).content.decode()
    assert 'id="payload-3-value"' in html and '<span class="jv-key">arguments</span>' in html
    assert 'data-copy="#event-id-3"' in html and " UTC</time>" in html


def test_state_and_content_query_counts(client, viewer, session, django_assert_num_queries):
    client.force_login(viewer)
    client.get(_url("session_state", session))
    # session row, user, project, role, the session's state
    with django_assert_num_queries(5):
        client.get(_url("session_state", session))
    # session row, user, project, role, the event's content
    with django_assert_num_queries(5):
        client.get(_url("event_content", session, 3))
