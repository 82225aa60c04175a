"""Reaching any event of a session: its own id as an address, `?at=`, `?find=`, the jumps to
the next or previous error or hit, the earlier pages of the transcript, the header's paste box."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from sessions_app.inputs import EventInput
from sessions_app.models import AgentSession, Membership
from sessions_app.services.events import events_append
from sessions_app.services.sessions import session_upsert
from tests.factories import MembershipFactory, UserFactory

from .conftest import htmx, make_session

pytestmark = pytest.mark.django_db

ERRORS = (40, 41, 170, 260)
# Reading the hits of a search inside a session: their seqs, then their rows; on PostgreSQL a
# probe of the first events in seq order comes first (one hit in 25 does not fill it).
HIT_QUERIES = 3 if connection.vendor == "postgresql" else 2


def long_session(project, external_id: str = "long", size: int = 300) -> AgentSession:
    """A session of `size` messages; those in ERRORS are errors, every 25th says "needle"."""
    session_upsert(project=project, external_id=external_id, fields={})
    start = timezone.now() - timedelta(hours=2)
    events = [
        EventInput(
            external_id=f"{external_id}-{n}",
            source="user" if n % 2 else "llm",
            role="user" if n % 2 else "assistant",
            content=f"message {n}" + (" with a needle in it" if n % 25 == 0 else ""),
            is_error=n in ERRORS,
            timestamp=start + timedelta(seconds=n),
        )
        for n in range(1, size + 1)
    ]
    events_append(project=project, session_external_id=external_id, events=events)
    return AgentSession.objects.get(project=project, external_id=external_id)


def detail(session: AgentSession, name: str = "dashboard:session_detail") -> str:
    return reverse(name, args=[session.project.slug, session.pk])


def jump(session: AgentSession) -> str:
    return reverse("dashboard:session_jump", args=[session.project.slug, session.pk])


def seqs(response) -> list[int]:
    return [item.event.seq for item in response.context["items"]]


# -- /p/<project>/s/<session id> -------------------------------------------------------------


def test_a_session_opens_by_its_own_id_keeping_at_and_find(client, viewer, project):
    session = long_session(project, "run-7")
    client.force_login(viewer)
    response = client.get("/p/acme/s/run-7?at=120&find=needle")
    assert response.status_code == 302
    assert response["Location"] == f"{detail(session)}?at=120&find=needle#ev-120"
    assert client.get("/p/acme/s/run-7")["Location"] == detail(session)


def test_an_id_holding_slashes_sent_as_percent_2f_opens_its_session(client, viewer, project):
    session = make_session(project, "tenant/a/conv 1")
    client.force_login(viewer)
    response = client.get("/p/acme/s/tenant%2Fa%2Fconv%201")
    assert response.status_code == 302 and response["Location"] == detail(session)
    # The same id reached through the reversed URL.
    url = reverse("dashboard:session_by_id", args=["acme", "tenant/a/conv 1"])
    assert client.get(url)["Location"] == detail(session)


def test_a_rebuilt_path_marks_encoded_slashes_and_the_view_restores_them(client, viewer, project):
    session = make_session(project, "a/b")
    client.force_login(viewer)
    # What the API hardening's WSGI wrapper hands the pages when it kept %2F inside a segment.
    response = client.get("/p/acme/s/a%00b", **{"sessionscope.encoded_slashes": True})
    assert response["Location"] == detail(session)


def test_an_unknown_id_is_404(client, viewer, project):
    client.force_login(viewer)
    assert client.get("/p/acme/s/nope").status_code == 404


def test_another_projects_member_cannot_open_a_session_by_id(client, outsider, project):
    make_session(project, "secret")
    client.force_login(outsider)
    assert client.get("/p/acme/s/secret").status_code == 404
    # Nor find it under their own project's slug.
    assert client.get("/p/other/s/secret").status_code == 404


def test_opening_by_id_needs_a_login(client, project):
    make_session(project, "x")
    assert client.get("/p/acme/s/x").status_code == 302
    assert "/accounts/login/" in client.get("/p/acme/s/x")["Location"]


# -- the header's paste box -------------------------------------------------------------------


def test_the_paste_box_opens_a_session_on_an_exact_id(client, viewer, project):
    session = long_session(project, "sess-42")
    client.force_login(viewer)
    url = reverse("dashboard:go_to_id", args=["acme"])
    assert client.get(url, {"id": "  sess-42 "})["Location"] == detail(session)


def test_the_paste_box_opens_an_event_id_at_that_event(client, viewer, project):
    session = long_session(project, "sess-42")
    client.force_login(viewer)
    url = reverse("dashboard:go_to_id", args=["acme"])
    assert client.get(url, {"id": "sess-42-77"})["Location"] == f"{detail(session)}?at=77#ev-77"


def test_the_paste_box_searches_the_sessions_on_anything_else(client, viewer, project):
    client.force_login(viewer)
    url = reverse("dashboard:go_to_id", args=["acme"])
    response = client.get(url, {"id": "refund policy"})
    assert response["Location"] == reverse("dashboard:session_list", args=["acme"]) + (
        "?q=refund+policy"
    )
    assert client.get(url)["Location"] == reverse("dashboard:session_list", args=["acme"])


def test_the_paste_box_is_in_the_header_of_project_pages(client, viewer, project, session):
    client.force_login(viewer)
    html = client.get(detail(session)).content.decode()
    assert 'class="idbox"' in html and reverse("dashboard:go_to_id", args=["acme"]) in html


def test_the_paste_box_of_another_project_is_404(client, outsider, project):
    make_session(project, "secret")
    client.force_login(outsider)
    assert (
        client.get(reverse("dashboard:go_to_id", args=["acme"]), {"id": "secret"}).status_code
        == 404
    )


# -- ?at= ----------------------------------------------------------------------------------------


def test_at_opens_the_transcript_around_that_event(client, viewer, project):
    session = long_session(project)
    client.force_login(viewer)
    response = client.get(detail(session), {"at": 200})
    html = response.content.decode()
    assert seqs(response)[0] == 190 and seqs(response)[-1] == 239
    assert 'data-at="200"' in html and 'id="ev-200"' in html
    # Earlier and later pages load on scroll.
    assert 'id="transcript-prev"' in html and "before_seq=190" in html
    assert 'id="transcript-more"' in html and "after_seq=239" in html


def test_at_near_the_start_has_no_earlier_page(client, viewer, project):
    session = long_session(project)
    client.force_login(viewer)
    response = client.get(detail(session), {"at": 5})
    assert seqs(response)[0] == 1
    assert 'id="transcript-prev"' not in response.content.decode()


def test_at_the_last_event_ends_the_transcript(client, viewer, project):
    session = long_session(project)
    client.force_login(viewer)
    response = client.get(detail(session), {"at": 300})
    # An active session's tail polls for new events.
    assert seqs(response)[-1] == 300 and not response.context["has_more"]
    assert "Live: new events appear here" in response.content.decode()


@pytest.mark.parametrize("value", ["abc", "-1", "²", "99999999999"])
def test_at_must_be_a_number(client, viewer, project, value):
    session = make_session(project, "s")
    client.force_login(viewer)
    assert client.get(detail(session), {"at": value}).status_code == 400


def test_the_earlier_page_partial_loads_events_before_a_seq(client, viewer, project):
    session = long_session(project)
    client.force_login(viewer)
    response = client.get(
        detail(session, "dashboard:session_events"),
        {"before_seq": 190},
        **htmx("transcript-prev"),
    )
    html = response.content.decode()
    assert "<html" not in html and 'id="transcript"' not in html
    assert seqs(response) == list(range(140, 190))
    assert 'class="tpage" data-first="140" data-last="189"' in html
    assert 'id="transcript-prev"' in html and "before_seq=140" in html


def test_the_first_earlier_page_has_no_loader_above_it(client, viewer, project):
    session = long_session(project)
    client.force_login(viewer)
    response = client.get(
        detail(session, "dashboard:session_events"), {"before_seq": 40}, **htmx("transcript-prev")
    )
    assert seqs(response) == list(range(1, 40))
    assert 'id="transcript-prev"' not in response.content.decode()


def test_the_earlier_page_partial_of_another_project_is_404(client, outsider, project):
    session = long_session(project)
    client.force_login(outsider)
    response = client.get(
        detail(session, "dashboard:session_events"), {"before_seq": 40}, **htmx("transcript-prev")
    )
    assert response.status_code == 404


# -- errors ------------------------------------------------------------------------------------


def test_the_page_links_to_its_first_error(client, viewer, project):
    session = long_session(project)
    client.force_login(viewer)
    html = client.get(detail(session)).content.decode()
    assert f"{jump(session)}?to=next-error&amp;from=0" in html and "First error" in html
    assert client.get(jump(session), {"to": "next-error", "from": 0})["Location"] == (
        f"{detail(session)}?at=40#ev-40"
    )


def test_each_error_links_to_the_next(client, viewer, project):
    session = long_session(project)
    client.force_login(viewer)
    html = client.get(detail(session), {"at": 41}).content.decode()
    assert f"{jump(session)}?to=next-error&amp;from=41" in html
    assert client.get(jump(session), {"to": "next-error", "from": 41})["Location"].endswith(
        "?at=170#ev-170"
    )
    assert client.get(jump(session), {"to": "prev-error", "from": 170})["Location"].endswith(
        "?at=41#ev-41"
    )


def test_past_the_last_error_the_page_says_there_is_none(client, viewer, project):
    session = long_session(project)
    client.force_login(viewer)
    response = client.get(jump(session), {"to": "next-error", "from": 260})
    assert response["Location"] == f"{detail(session)}?at=260&none=next-error#ev-260"
    html = client.get(response["Location"]).content.decode()
    assert "No error after this point." in html


def test_a_session_without_errors_shows_no_error_links(client, viewer, project):
    session = make_session(project, "calm")
    client.force_login(viewer)
    assert "to=next-error" not in client.get(detail(session)).content.decode()


def test_error_jumps_follow_the_transcripts_removed_toggle(client, viewer, project):
    from sessions_app.services.events import event_pop_last

    session = long_session(project, size=260)
    event_pop_last(session=session)  # #260, an error, leaves the agent's conversation
    client.force_login(viewer)
    # Hidden: no jump lands on the removed error, it says there is none.
    hidden = client.get(jump(session), {"to": "next-error", "from": 170})
    assert hidden["Location"] == f"{detail(session)}?at=170&none=next-error#ev-170"
    # Shown: the removed error is a stop, and the transcript stays as it was.
    shown = client.get(jump(session), {"to": "next-error", "from": 170, "removed": "1"})
    assert shown["Location"] == f"{detail(session)}?at=260&removed=1#ev-260"
    back = client.get(jump(session), {"to": "prev-error", "from": 300, "removed": "1"})
    assert back["Location"] == f"{detail(session)}?at=260&removed=1#ev-260"
    assert client.get(jump(session), {"to": "prev-error", "from": 300})["Location"] == (
        f"{detail(session)}?at=170#ev-170"
    )


def test_the_first_error_link_keeps_removed_events_shown(client, viewer, project):
    from sessions_app.services.events import events_clear

    session = long_session(project, size=60)
    events_clear(session=session)  # every event, errors #40 and #41 with them, removed
    client.force_login(viewer)
    html = client.get(detail(session), {"removed": "1"}).content.decode()
    assert f"{jump(session)}?to=next-error&amp;from=0&amp;removed=1" in html
    assert f"{jump(session)}?to=prev-error&amp;from=1&amp;removed=1" in html
    first = client.get(jump(session), {"to": "next-error", "from": 0, "removed": "1"})
    assert first["Location"] == f"{detail(session)}?at=40&removed=1#ev-40"
    html = client.get(detail(session)).content.decode()
    assert "removed=1" not in html.split('data-nav="next-error"')[0].rsplit("href=", 1)[1]
    none = client.get(jump(session), {"to": "next-error", "from": 0})
    assert none["Location"] == f"{detail(session)}?none=next-error"


@pytest.mark.parametrize(
    "query", [{"to": "sideways"}, {"to": "next-hit"}, {"to": "next-error", "from": "x"}]
)
def test_a_bad_jump_is_400(client, viewer, project, query):
    session = long_session(project, size=10)
    client.force_login(viewer)
    assert client.get(jump(session), query).status_code == 400


def test_another_projects_member_cannot_jump(client, outsider, project):
    session = long_session(project, size=50)
    client.force_login(outsider)
    assert client.get(jump(session), {"to": "next-error"}).status_code == 404


# -- ?find= ------------------------------------------------------------------------------------


def test_find_lists_the_hits_with_the_words_highlighted(client, viewer, project):
    session = long_session(project)
    client.force_login(viewer)
    response = client.get(detail(session), {"find": "needle"})
    html = response.content.decode()
    assert [hit.seq for hit, _ in response.context["hits"]] == list(range(25, 301, 25))
    assert "<mark>needle</mark>" in html
    assert f'{detail(session)}?find=needle&amp;at=25#ev-25" data-hit="25"' in html


def test_find_results_partial_is_the_list_alone(client, viewer, project):
    session = long_session(project)
    client.force_login(viewer)
    response = client.get(detail(session), {"find": "needle"}, **htmx("find-results"))
    html = response.content.decode()
    assert "<html" not in html and 'id="transcript"' not in html
    assert html.strip().startswith('<section id="find-results"') and "#300" in html


def test_find_with_no_hit_says_so(client, viewer, project):
    session = long_session(project, size=20)
    client.force_login(viewer)
    html = client.get(detail(session), {"find": "haystack"}, **htmx("find-results")).content
    assert "No event holds “haystack”." in html.decode()


def test_find_text_is_escaped(client, viewer, project):
    session = long_session(project, size=20)
    client.force_login(viewer)
    html = client.get(detail(session), {"find": "<script>x</script>"}).content.decode()
    assert "<script>x</script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html


def test_find_pages_its_hits(client, viewer, project, monkeypatch):
    from dashboard.views import session as view

    monkeypatch.setattr(view, "HITS_PAGE", 5)
    session = long_session(project)
    client.force_login(viewer)
    first = client.get(detail(session), {"find": "needle"}, **htmx("find-results"))
    assert "find_after=125" in first.content.decode()
    second = client.get(
        detail(session), {"find": "needle", "find_after": 125}, **htmx("find-results")
    ).content.decode()
    assert re.findall(r'data-hit="(\d+)"', second) == ["150", "175", "200", "225", "250"]


def test_next_and_previous_hit(client, viewer, project):
    session = long_session(project)
    client.force_login(viewer)
    to_next = client.get(jump(session), {"to": "next-hit", "from": 30, "find": "needle"})
    assert to_next["Location"] == f"{detail(session)}?at=50&find=needle#ev-50"
    to_prev = client.get(jump(session), {"to": "prev-hit", "from": 30, "find": "needle"})
    assert to_prev["Location"].endswith("?at=25&find=needle#ev-25")


def test_find_lists_hits_in_removed_events_only_when_the_transcript_shows_them(
    client, viewer, project
):
    from sessions_app.services.events import event_pop_last

    session = long_session(project, size=50)
    event_pop_last(session=session)  # #50, a needle, leaves the agent's conversation
    client.force_login(viewer)
    hidden = client.get(detail(session), {"find": "needle"})
    assert [hit.seq for hit, _ in hidden.context["hits"]] == [25]
    shown = client.get(detail(session), {"find": "needle", "removed": "1"})
    assert [hit.seq for hit, _ in shown.context["hits"]] == [25, 50]
    assert "removed=1" in shown.content.decode().split('data-hit="50"')[0].rsplit("href=", 1)[1]
    to_next = client.get(jump(session), {"to": "next-hit", "from": 30, "find": "needle"})
    assert "none=next-hit" in to_next["Location"]
    to_next = client.get(
        jump(session), {"to": "next-hit", "from": 30, "find": "needle", "removed": "1"}
    )
    assert to_next["Location"] == f"{detail(session)}?at=50&find=needle&removed=1#ev-50"


def test_find_of_another_project_is_404(client, outsider, project):
    session = long_session(project, size=20)
    client.force_login(outsider)
    response = client.get(detail(session), {"find": "needle"}, **htmx("find-results"))
    assert response.status_code == 404


# -- shortcuts and the window -----------------------------------------------------------------


def test_the_page_lists_its_shortcuts_for_the_help_overlay(client, viewer, project, session):
    import html as html_lib
    import json

    client.force_login(viewer)
    html = client.get(detail(session)).content.decode()
    start = html.index('data-shortcuts="') + len('data-shortcuts="')
    shortcuts = json.loads(html_lib.unescape(html[start : html.index('"', start)]))
    assert {"key": "e", "help": "Next error"} in shortcuts
    assert {s["key"] for s in shortcuts} >= {"j", "k", "e", "/"}


def test_every_page_of_events_is_a_tpage_the_window_can_drop(client, viewer, project):
    session = long_session(project)
    client.force_login(viewer)
    html = client.get(detail(session)).content.decode()
    assert 'class="tpage" data-first="1" data-last="50"' in html


# -- query counts ------------------------------------------------------------------------------


def test_page_at_an_event_query_count(client, viewer, project, django_assert_num_queries):
    session = long_session(project)
    client.force_login(viewer)
    client.get(detail(session), {"at": 200})
    # session row, user, project, role, session, events page, children page, runs, branches,
    # switcher, turn timeline, the page's event comments and scores
    with django_assert_num_queries(13):
        client.get(detail(session), {"at": 200})


def test_page_with_find_query_count(client, viewer, project, django_assert_num_queries):
    session = long_session(project)
    client.force_login(viewer)
    client.get(detail(session), {"find": "needle"})
    # as above, and the hits: their seqs (PostgreSQL: a bounded probe in seq order first), rows
    with django_assert_num_queries(13 + HIT_QUERIES):
        client.get(detail(session), {"find": "needle"})


def test_find_partial_query_count(client, viewer, project, django_assert_num_queries):
    session = long_session(project)
    client.force_login(viewer)
    client.get(detail(session))
    # session row, user, project, role, session, the hits' seqs and rows
    with django_assert_num_queries(5 + HIT_QUERIES):
        client.get(detail(session), {"find": "needle"}, **htmx("find-results"))


def test_earlier_page_query_count(client, viewer, project, django_assert_num_queries):
    session = long_session(project)
    client.force_login(viewer)
    client.get(detail(session))
    # session row, user, project, role, session, the events page, its events' comments and scores
    with django_assert_num_queries(8):
        client.get(
            detail(session, "dashboard:session_events"),
            {"before_seq": 190},
            **htmx("transcript-prev"),
        )


def test_jump_query_count(client, viewer, project, django_assert_num_queries):
    session = long_session(project)
    client.force_login(viewer)
    client.get(detail(session))
    # session row, user, project, role, session, the next error
    with django_assert_num_queries(6):
        client.get(jump(session), {"to": "next-error", "from": 41})


def test_open_by_id_query_count(client, viewer, project, django_assert_num_queries):
    long_session(project, "by-id", size=5)
    client.force_login(viewer)
    # session row, user, project, role, the session's pk
    with django_assert_num_queries(5):
        client.get("/p/acme/s/by-id")


def test_a_viewer_may_use_every_navigation_page(client, project):
    # Viewer is the lowest role: no navigation page asks for more (no 403 to test).
    user = MembershipFactory(
        project=project, role=Membership.Role.VIEWER, user=UserFactory(username="v2")
    ).user
    session = long_session(project, size=60)
    client.force_login(user)
    assert client.get(jump(session), {"to": "next-error"}).status_code == 302
    assert client.get(detail(session), {"at": 45, "find": "needle"}).status_code == 200
