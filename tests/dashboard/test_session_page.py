"""The session page: header, transcript pages, tree panel, runs, payloads, live tail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sessions_app.inputs import EventInput
from sessions_app.models import AgentSession
from sessions_app.services.events import events_append
from sessions_app.services.runs import run_create

from .conftest import htmx, make_session

pytestmark = pytest.mark.django_db


def page_url(session, name="dashboard:session_detail") -> str:
    return reverse(name, args=[session.project.slug, session.pk])


def test_full_page_shows_header_transcript_and_runs(client, viewer, session):
    from sessions_app.services.runs import run_update

    run = run_create(session=session, external_id="run-1", status="running")[0]
    run_update(run=run, status="failed", reason="tool budget")
    client.force_login(viewer)
    response = client.get(page_url(session))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html and 'id="transcript"' in html
    assert "question 0 from s-main" in html and "answer 1" in html
    assert 'class="toolcall' in html and "lookup" in html and "found 1 row" in html
    assert "gpt-4o-mini" in html and "tool budget" in html
    assert "env" in html and "prod" in html  # metadata shown in the header


def test_tool_results_are_nested_under_their_call(client, viewer, session):
    client.force_login(viewer)
    html = client.get(page_url(session)).content.decode()
    call = html.index('id="ev-3"')
    result = html.index('id="ev-4"')
    # The call's own payload button closes its body, after the results nested in it.
    call_payload = html.index('hx-target="#payload-3"', call)
    assert call < result < call_payload


def test_breadcrumbs_and_subtree_rollups(client, viewer, project):
    make_session(project, "root-1", agent_name="planner")
    child = make_session(project, "child-1", parent="root-1", agent_name="worker")
    grandchild = make_session(project, "gc-1", parent="child-1")
    client.force_login(viewer)
    html = client.get(page_url(grandchild)).content.decode()
    assert html.index("question 0 from root-1") < html.index("question 0 from child-1")
    html = client.get(page_url(AgentSession.objects.get(external_id="root-1"))).content.decode()
    assert "Whole subtree · 3 sessions" in html
    assert f'id="children-{child.parent_id}"' in html and "question 0 from child-1" in html


def test_the_subtree_duration_runs_from_its_earliest_start(client, viewer, project):
    """A sub-agent's events may be older than its parent's first (clocks, late reporting)."""
    at = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    root = make_session(project, "p", start=at)
    make_session(project, "c", parent="p", start=at - timedelta(hours=1))
    client.force_login(viewer)
    html = client.get(page_url(root)).content.decode()
    subtree = html[html.index("Whole subtree") :]
    assert "<dt>Duration</dt><dd>1h 00m</dd>" in subtree, subtree[:800]


def test_transcript_more_partial_pages_by_seq(client, viewer, project):
    long = make_session(project, "long", turns=30)  # 120 events
    client.force_login(viewer)
    first = client.get(page_url(long))
    assert first.context["items"][0].event.seq == 1
    assert first.context["has_more"] and first.context["last_seq"] == 50
    response = client.get(
        f"{page_url(long, 'dashboard:session_events')}?after_seq=50", **htmx("transcript-more")
    )
    html = response.content.decode()
    assert "<html" not in html and 'id="transcript"' not in html
    assert 'id="ev-51"' in html and 'id="ev-50"' not in html
    assert 'hx-trigger="revealed"' in html and "after_seq=100" in html
    last = client.get(
        f"{page_url(long, 'dashboard:session_events')}?after_seq=100", **htmx("transcript-more")
    )
    assert 'id="ev-120"' in last.content.decode() and not last.context["has_more"]


def test_the_transcript_without_htmx_is_the_whole_page_from_that_seq(client, viewer, session):
    client.force_login(viewer)
    response = client.get(f"{page_url(session, 'dashboard:session_events')}?after_seq=4")
    html = response.content.decode()
    assert "<html" in html and 'id="ev-5"' in html and 'id="ev-4"' not in html


def test_transcript_partial_filters_by_run(client, viewer, project):
    from sessions_app.inputs import EventInput
    from sessions_app.services.events import events_append

    s = make_session(project, "runs", turns=0)
    run = run_create(session=s, external_id="r-a")[0]
    run_create(session=s, external_id="r-b")
    events_append(
        project=project,
        session_external_id="runs",
        events=[
            EventInput(
                external_id="e1", source="user", role="user", content="in a", run_external_id="r-a"
            ),
            EventInput(
                external_id="e2", source="user", role="user", content="in b", run_external_id="r-b"
            ),
        ],
    )
    client.force_login(viewer)
    response = client.get(
        f"{page_url(s, 'dashboard:session_events')}?run={run.pk}", **htmx("transcript")
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="transcript"')
    assert "in a" in html and "in b" not in html


def test_a_run_of_another_session_is_404(client, viewer, project, session):
    other = make_session(project, "x", turns=0)
    run = run_create(session=other, external_id="r-x")[0]
    client.force_login(viewer)
    assert client.get(f"{page_url(session)}?run={run.pk}").status_code == 404
    assert client.get(f"{page_url(session)}?after_seq=abc").status_code == 400
    assert client.get(f"{page_url(session)}?after_seq=-1").status_code == 400
    assert client.get(f"{page_url(session)}?after_seq=%C2%B2").status_code == 400
    assert client.get(f"{page_url(session)}?run=99999999999999").status_code == 400


def test_active_session_polls_for_new_events_and_a_completed_one_does_not(client, viewer, session):
    client.force_login(viewer)
    assert 'hx-trigger="every 5s"' in client.get(page_url(session)).content.decode()
    AgentSession.objects.filter(pk=session.pk).update(status="completed")
    html = client.get(page_url(session)).content.decode()
    assert 'hx-trigger="every 5s"' not in html and "End of transcript" in html


def test_polling_returns_only_new_events(client, viewer, session):
    from sessions_app.inputs import EventInput
    from sessions_app.services.events import events_append

    client.force_login(viewer)
    events_append(
        project=session.project,
        session_external_id="s-main",
        events=[
            EventInput(external_id="late", source="user", role="user", content="a late question")
        ],
    )
    response = client.get(
        f"{page_url(session, 'dashboard:session_events')}?after_seq=8", **htmx("transcript-more")
    )
    html = response.content.decode()
    assert "a late question" in html and 'id="ev-8"' not in html
    assert "after_seq=9" in html  # the next poll asks for what comes after


def test_the_transcript_does_not_load_payloads(client, viewer, session):
    client.force_login(viewer)
    with CaptureQueriesContext(connection) as queries:
        client.get(page_url(session), **htmx("transcript"))
    event_queries = [q["sql"] for q in queries if 'FROM "sessions_app_event"' in q["sql"]]
    assert event_queries and all('"payload"' not in sql for sql in event_queries)


def test_payload_loads_on_click(client, viewer, session):
    client.force_login(viewer)
    response = client.get(reverse("dashboard:event_payload", args=["acme", session.pk, 3]))
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "&quot;arguments&quot;" in html and "&quot;order&quot;: 42" in html


def test_children_fragment_pages_by_creation(client, viewer, project):
    make_session(project, "parent", turns=0)
    for i in range(3):
        make_session(project, f"kid-{i}", parent="parent", turns=1)
    make_session(project, "grandkid", parent="kid-0", turns=1)
    parent = AgentSession.objects.get(external_id="parent")
    client.force_login(viewer)
    response = client.get(reverse("dashboard:session_children", args=["acme", parent.pk]))
    kids = response.context["children"]
    assert [k.external_id for k in kids] == ["kid-0", "kid-1", "kid-2"]
    assert kids[0].sub_sessions == 2 and kids[0].sub_events == 8 and kids[1].sub_sessions == 1
    assert 'hx-get="/p/acme/sessions/' in response.content.decode()  # kid-0 expands lazily


def test_tree_page_shows_root_with_totals(client, viewer, project):
    make_session(project, "t-root", turns=1)
    leaf = make_session(project, "t-leaf", parent="t-root", turns=2)
    client.force_login(viewer)
    response = client.get(page_url(leaf, "dashboard:session_tree"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "2 sessions · 12 events" in html and "question 0 from t-root" in html
    assert 'class="node current"' in html


@pytest.mark.parametrize(
    "name",
    [
        "dashboard:session_detail",
        "dashboard:session_tree",
        "dashboard:session_children",
        "dashboard:session_events",
    ],
)
def test_another_projects_member_gets_404(client, outsider, session, name):
    client.force_login(outsider)
    assert client.get(page_url(session, name)).status_code == 404


def test_a_session_of_another_project_under_my_slug_is_404(
    client, outsider, session, other_project
):
    client.force_login(outsider)
    url = reverse("dashboard:session_detail", args=[other_project.slug, session.pk])
    assert client.get(url).status_code == 404


def test_agent_text_is_escaped(client, viewer, project):
    from sessions_app.inputs import EventInput
    from sessions_app.services.events import events_append

    make_session(
        project,
        "xss",
        turns=0,
        title="<img src=x onerror=alert(1)>",
        metadata={"<b>k</b>": "<script>alert(2)</script>"},
    )
    events_append(
        project=project,
        session_external_id="xss",
        events=[
            EventInput(
                external_id="x1", source="user", role="user", content="<script>alert(3)</script>"
            ),
            EventInput(
                external_id="x2",
                source="llm",
                type="tool_call",
                name="<i>t</i>",
                tool_call_id="c",
                content='{"u": "javascript:alert(4)"}',
            ),
        ],
    )
    client.force_login(viewer)
    html = client.get(page_url(AgentSession.objects.get(external_id="xss"))).content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>k</b>" not in html
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in html and "&lt;i&gt;t&lt;/i&gt;" in html
    assert 'href="javascript:' not in html


def test_session_page_query_count(client, viewer, project, django_assert_num_queries):
    make_session(project, "q-root", turns=3)
    for i in range(3):
        make_session(project, f"q-kid-{i}", parent="q-root")
    session = AgentSession.objects.get(external_id="q-root")
    run_create(session=session, external_id="q-run")
    client.force_login(viewer)
    client.get(page_url(session))
    # session row, user, project, role, session, events page, the results of its tool calls
    # past the page, subtree totals, children page (with their subtree totals), runs,
    # branches, turn timeline, switcher, the page's event comments and scores; a root has no
    # ancestors to load
    with django_assert_num_queries(15):
        client.get(page_url(session))


def test_transcript_partial_query_count(client, viewer, session, django_assert_num_queries):
    client.force_login(viewer)
    client.get(page_url(session))
    # session row, user, project, role, session, events page (usage, summary and each
    # result's call joined), the results of its tool calls past the page, the page's event
    # comments and scores
    with django_assert_num_queries(9):
        client.get(
            f"{page_url(session, 'dashboard:session_events')}?after_seq=2",
            **htmx("transcript-more"),
        )


def test_tree_page_query_count(client, viewer, project, django_assert_num_queries):
    make_session(project, "qt-root", turns=1)
    for i in range(4):
        make_session(project, f"qt-kid-{i}", parent="qt-root")
    session = AgentSession.objects.get(external_id="qt-root")
    client.force_login(viewer)
    client.get(page_url(session, "dashboard:session_tree"))
    # session row, user, project, role, session, children with subtree totals, totals, switcher
    with django_assert_num_queries(8):
        client.get(page_url(session, "dashboard:session_tree"))


def test_children_and_payload_query_counts(client, viewer, project, django_assert_num_queries):
    make_session(project, "c-root", turns=1)
    for i in range(3):
        make_session(project, f"c-kid-{i}", parent="c-root")
    root = AgentSession.objects.get(external_id="c-root")
    client.force_login(viewer)
    client.get(page_url(root))
    # session row, user, project, role, session, children with their subtree totals
    with django_assert_num_queries(6):
        client.get(page_url(root, "dashboard:session_children"))
    # session row, user, project, role, session, the event with its usage
    with django_assert_num_queries(6):
        client.get(reverse("dashboard:event_payload", args=["acme", root.pk, 2]))


def test_children_page_by_keyset_then_more_link(client, viewer, project):
    from sessions_app.selectors.sessions import session_children_page

    make_session(project, "many", turns=0)
    for i in range(5):
        make_session(project, f"many-{i}", parent="many", turns=0)
    parent = AgentSession.objects.get(external_id="many")
    first, after = session_children_page(parent, limit=2)
    second, after2 = session_children_page(parent, after=after, limit=2)
    third, after3 = session_children_page(parent, after=after2, limit=2)
    names = [c.external_id for c in first + second + third]
    assert names == [f"many-{i}" for i in range(5)] and after3 is None
    client.force_login(viewer)
    url = reverse("dashboard:session_children", args=["acme", parent.pk])
    response = client.get(f"{url}?after={after}")
    shown = [c.external_id for c in response.context["children"]]
    assert shown == ["many-2", "many-3", "many-4"]


def append_unpriced_answer(project, external_id: str) -> None:
    """An assistant message whose model has no price anywhere: cost 0, source unknown."""
    from sessions_app.inputs import UsageInput

    events_append(
        project=project,
        session_external_id=external_id,
        events=[
            EventInput(
                external_id=f"{external_id}-mystery",
                source="llm",
                role="assistant",
                content="an answer from an unknown model",
                usage=UsageInput(model="mystery-model", prompt_tokens=40, completion_tokens=10),
            )
        ],
    )


def test_an_unpriced_session_page_says_price_unknown_as_the_list_does(client, viewer, project):
    make_session(project, "u-root", turns=0)
    append_unpriced_answer(project, "u-root")
    make_session(project, "u-kid", parent="u-root", turns=0)
    append_unpriced_answer(project, "u-kid")
    client.force_login(viewer)
    root = AgentSession.objects.get(external_id="u-root")
    html = client.get(page_url(root)).content.decode()
    cost = html.split("<dt>Cost</dt>")
    assert len(cost) == 3  # this session and its subtree
    assert all("price unknown" in c[:200] and "$0" not in c[:60] for c in cost[1:])


def test_the_tree_page_says_price_unknown_for_unpriced_nodes(client, viewer, project):
    make_session(project, "u-root", turns=0)
    append_unpriced_answer(project, "u-root")
    make_session(project, "u-kid", parent="u-root", turns=1)
    make_session(project, "u-leaf", parent="u-root", turns=0)
    append_unpriced_answer(project, "u-leaf")
    client.force_login(viewer)
    root = AgentSession.objects.get(external_id="u-root")
    html = client.get(page_url(root, "dashboard:session_tree")).content.decode()
    root_row = html.split('class="node-row"')[1]
    # The root's own cost is unknown; its tree's is partly priced, shown as a figure (a subtree
    # is only checked for unpriced usage when its cost is $0, see _subtree_coverage).
    assert root_row.count("price unknown") == 1 and "$0.0100" in root_row
    kid_row = next(r for r in html.split('class="node-row"') if "u-kid" in r)
    assert "price unknown" not in kid_row and "$0.0100" in kid_row
    leaf_row = next(r for r in html.split('class="node-row"')[2:] if "u-leaf" in r)
    assert leaf_row.count("price unknown") == 2  # its cost and its subtree's


def test_a_session_with_priced_usage_keeps_its_figure(client, viewer, session):
    client.force_login(viewer)
    html = client.get(page_url(session)).content.decode()
    assert "<dt>Cost</dt><dd>$0.0200</dd>" in html and "price unknown" not in html


def test_a_child_whose_whole_subtree_is_unpriced_says_so_in_the_tree(client, viewer, project):
    make_session(project, "p-root", turns=1)
    make_session(project, "p-kid", parent="p-root", turns=0)
    append_unpriced_answer(project, "p-kid")
    make_session(project, "p-grandkid", parent="p-kid", turns=0)
    append_unpriced_answer(project, "p-grandkid")
    client.force_login(viewer)
    root = AgentSession.objects.get(external_id="p-root")
    html = client.get(page_url(root, "dashboard:session_tree")).content.decode()
    kid_row = next(r for r in html.split('class="node-row"')[2:] if "p-kid" in r)
    assert kid_row.count("price unknown") == 2  # its own cost and its subtree's
    assert "$0<" not in kid_row
