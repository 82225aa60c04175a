"""Keyset pagination, one implementation for every list (sessions on the pages and in the API,
a session's children): opaque cursors holding the sort key and id of the last row shown."""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from django.db.models import Model, Q, QuerySet

M = TypeVar("M", bound=Model)

# Columns whose cursor value is a moment or an amount; every other sort column is an integer.
DATETIME_COLUMNS = frozenset({"last_event_at", "created_at"})
DECIMAL_COLUMNS = frozenset({"cost_usd"})
# A session's score (selectors/review.score_sort, paged by keyset_page_parts): a float or a
# label, and null in a cursor for a session without one, which sorts last either way.
FLOAT_COLUMNS = frozenset({"score_sort"})
TEXT_COLUMNS = frozenset({"score_label"})
NULLABLE_COLUMNS = FLOAT_COLUMNS | TEXT_COLUMNS
MAX_BIGINT = 2**63


@dataclass
class KeysetPage(Generic[M]):
    """One page of rows and the cursors of the next and previous pages, if any."""

    items: list[M]
    next_cursor: str | None
    prev_cursor: str | None = None


def encode_cursor(value: Any, pk: int) -> str:
    """An opaque cursor for the row after (value, pk) in the current sort."""
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps([str(value) if value is not None else None, pk])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, column: str) -> tuple[Any, int] | None:
    """(value, pk) from a cursor, or None when it is malformed or forged."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if raw is None and column in NULLABLE_COLUMNS:
            value: Any = None
        elif column in FLOAT_COLUMNS:
            value = float(raw)
            if not math.isfinite(value):
                return None
        elif column in TEXT_COLUMNS:
            if not isinstance(raw, str):
                return None
            value = raw
        elif column in DATETIME_COLUMNS:
            value = datetime.fromisoformat(raw)
            if value.tzinfo is None:
                return None
        elif column in DECIMAL_COLUMNS:
            value = Decimal(raw)
            if not value.is_finite():
                return None
        else:
            value = int(raw)
        pk = int(pk)
        # A forged cursor must not reach the database with a value its columns cannot hold.
        if (isinstance(value, int) and not 0 <= value < MAX_BIGINT) or not 0 <= pk < MAX_BIGINT:
            return None
        return value, pk
    except (
        ValueError,
        TypeError,
        ArithmeticError,
        binascii.Error,
        UnicodeDecodeError,
        json.JSONDecodeError,
    ):
        return None


def keyset_page(
    qs: QuerySet[M],
    *,
    column: str,
    descending: bool,
    after: tuple[Any, int] | None,
    limit: int,
    before: tuple[Any, int] | None = None,
) -> KeysetPage[M]:
    """The `limit` rows of `qs` after the position `after` (or just before `before`) in
    (column, pk) order: one indexed range scan (never OFFSET), one row more than shown to know
    whether a page lies beyond. A previous page is offered from any page but the first; the
    page before `before` is read backwards over the same index and put back in order."""
    backwards = before is not None
    position = before if backwards else after
    # Walking backwards is walking forwards in the opposite direction.
    forward = descending != backwards
    qs = _ordered_past(qs, column, forward=forward, at=position)
    items = list(qs[: limit + 1])
    return _page(items, column=column, limit=limit, backwards=backwards, after=after)


def keyset_page_parts(
    scored: QuerySet[M],
    unscored: QuerySet[M],
    *,
    column: str,
    descending: bool,
    after: tuple[Any, int] | None,
    limit: int,
    before: tuple[Any, int] | None = None,
) -> KeysetPage[M]:
    """A page of a list sorted by a nullable key read in two parts, each an index range scan:
    the rows with a value (`scored`, by (column, pk)), then those without (`unscored`, by pk
    in the list's direction), so nulls come last either way. A cursor with a null value
    lies in the second part; a page that ends the first part continues into the second."""
    backwards = before is not None
    position = before if backwards else after
    forward = descending != backwards
    parts = [(scored, True), (unscored, False)]
    if backwards:
        parts.reverse()
    if position is not None:
        # Start in the part holding the position.
        parts = parts[[has for _, has in parts].index(position[0] is not None) :]
    items: list[M] = []
    at = position
    for qs, has in parts:
        if has:
            qs = _ordered_past(qs, column, forward=forward, at=at)
        else:
            op = "lt" if forward else "gt"
            qs = qs.order_by("-pk" if forward else "pk")
            if at is not None:
                qs = qs.filter(**{f"pk__{op}": at[1]})
        items += list(qs[: limit + 1 - len(items)])
        if len(items) > limit:
            break
        at = None
    return _page(items, column=column, limit=limit, backwards=backwards, after=after)


def _ordered_past(
    qs: QuerySet[M], column: str, *, forward: bool, at: tuple[Any, int] | None
) -> QuerySet[M]:
    """`qs` in (column, pk) order (descending when `forward`), past `at` if given."""
    op = "lt" if forward else "gt"
    if at is not None:
        value, pk = at
        # The redundant bound is the index's range start: a deep page does not scan (and
        # join) every row before it.
        qs = qs.filter(
            Q(**{f"{column}__{op}e": value}),
            Q(**{f"{column}__{op}": value}) | Q(**{column: value, f"pk__{op}": pk}),
        )
    return qs.order_by(*([f"-{column}", "-pk"] if forward else [column, "pk"]))


def _page(
    items: list[M], *, column: str, limit: int, backwards: bool, after: tuple[Any, int] | None
) -> KeysetPage[M]:
    """The page of the `limit` first of `items` (read in walking order, one more than shown
    when a page lies beyond) with its cursors."""
    more = len(items) > limit
    items = items[:limit]
    if backwards:
        items.reverse()
    next_cursor = prev_cursor = None
    if items:
        first, last = items[0], items[-1]
        # Coming back from a later page, that page is still there.
        if more or backwards:
            next_cursor = encode_cursor(getattr(last, column), last.pk)
        if (backwards and more) or (not backwards and after is not None):
            prev_cursor = encode_cursor(getattr(first, column), first.pk)
    return KeysetPage(items=items, next_cursor=next_cursor, prev_cursor=prev_cursor)
