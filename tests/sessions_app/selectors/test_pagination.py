"""The one keyset paginator: cursors round-trip, forged ones are refused, pages cover every row
once in order whichever the direction, ties on the sort key included."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from sessions_app.errors import InvalidInput
from sessions_app.models import AgentSession
from sessions_app.selectors.pagination import decode_cursor, encode_cursor, keyset_page
from sessions_app.selectors.session_list import ApiSessionFilters, api_sessions_page
from tests.factories import SessionFactory

MOMENT = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("created_at", MOMENT),
        ("last_event_at", MOMENT),
        ("cost_usd", Decimal("0.0000125")),
        ("event_count", 42),
    ],
)
def test_a_cursor_gives_back_its_sort_key_and_id(column, value):
    assert decode_cursor(encode_cursor(value, 7), column) == (value, 7)


@pytest.mark.parametrize(
    ("column", "raw"),
    [
        ("cost_usd", ["NaN", 1]),
        ("event_count", [str(2**70), 1]),
        ("created_at", ["2026-01-01T00:00:00", 1]),  # naive
        ("event_count", ["3", -5]),
        ("created_at", [None, 1]),
    ],
)
def test_forged_cursors_restart_the_list(column, raw):
    cursor = base64.urlsafe_b64encode(json.dumps(raw).encode()).decode()
    assert decode_cursor(cursor, column) is None


@pytest.mark.parametrize("cursor", ["not-a-cursor", "", "////", "e30"])
def test_garbage_is_not_a_cursor(cursor):
    assert decode_cursor(cursor, "created_at") is None


@pytest.mark.django_db
@pytest.mark.parametrize("descending", [True, False])
def test_pages_cover_every_row_once_in_order_with_ties(project, descending):
    for i in range(7):
        SessionFactory(project=project, event_count=i % 3)  # ties on the sort key
    qs = AgentSession.objects.filter(project=project)
    seen, after = [], None
    for _ in range(5):
        page = keyset_page(qs, column="event_count", descending=descending, after=after, limit=3)
        seen += page.items
        if page.next_cursor is None:
            break
        after = decode_cursor(page.next_cursor, "event_count")
    keys = [(s.event_count, s.pk) for s in seen]
    assert len(keys) == 7 and len(set(keys)) == 7
    assert keys == sorted(keys, reverse=descending)


@pytest.mark.django_db
def test_the_last_page_has_no_next_cursor(project):
    SessionFactory(project=project)
    page = keyset_page(
        AgentSession.objects.filter(project=project),
        column="created_at",
        descending=True,
        after=None,
        limit=1,
    )
    assert len(page.items) == 1 and page.next_cursor is None


@pytest.mark.django_db
def test_the_api_refuses_a_cursor_it_did_not_give_out(project):
    with pytest.raises(InvalidInput) as caught:
        api_sessions_page(project, filters=ApiSessionFilters(), metadata={}, cursor="not-a-cursor")
    assert caught.value.field == "cursor"
