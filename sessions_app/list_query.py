"""The sessions list's query string, read once for every reader: the list page, saved views,
bulk actions on "all matching", share links' filters and queue rules. A rule selects what the
list shows for the same string because both read it here; a parameter the list refuses (a
number that is not finite, a day not written YYYY-MM-DD, text with a NUL character, ...) is
shown as an error on the page and left out of the filters everywhere."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django import forms
from django.http import QueryDict

from .models import AgentSession
from .selectors.costs import FIRST_DAY, LAST_DAY
from .selectors.session_list import (
    DEFAULT_SORT,
    SCORE_SORT_PREFIX,
    SESSION_SORTS,
    SessionFilters,
)

META_KEY = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
SORT_VALUES = {s for c in SESSION_SORTS for s in (c, f"-{c}")}
DAY_RANGE_MESSAGE = f"A day from {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}."


def day_in_range(day: date) -> None:
    """A day the pages' date filters accept: one whose next day Python can still hold."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise forms.ValidationError(DAY_RANGE_MESSAGE, code="out_of_range")


def query_filters(query: str) -> SessionFilters:
    """The filters of a stored query string (a queue's rule): the valid ones, as the list
    applies them; the invalid ones are left out, so a rule saved with one never fails a fill."""
    form = SessionFilterForm(QueryDict(query))
    form.is_valid()
    return form.filters()


class SessionFilterForm(forms.Form):
    """The sessions list's query string. Every field is optional; `from` and `to` are dates
    on last activity (inclusive), `spent_from` and `spent_to` dates on which the session used
    tokens (inclusive: the costs page's drill-down)."""

    agent = forms.CharField(required=False, max_length=200)
    user = forms.CharField(required=False, max_length=255)
    status = forms.ChoiceField(
        required=False,
        choices=[("", "Not archived"), *AgentSession.Status.choices, ("all", "All")],
    )
    kind = forms.ChoiceField(required=False, choices=[("", "Any kind"), *AgentSession.Kind.choices])
    model = forms.CharField(required=False, max_length=255)
    min_cost = forms.DecimalField(required=False, min_value=0, max_digits=20, decimal_places=10)
    # Exclusive, so that `min_cost`/`max_cost` is the costs page's distribution bucket
    # (low <= cost < high) and a session on a bound is listed under one bucket only.
    max_cost = forms.DecimalField(required=False, min_value=0, max_digits=20, decimal_places=10)
    has_errors = forms.BooleanField(required=False)
    meta = forms.CharField(required=False, max_length=300)
    q = forms.CharField(required=False, max_length=200)
    review = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Any review"),
            ("reviewed", "Reviewed"),
            ("flagged", "Flagged"),
            ("none", "Not reviewed"),
        ],
    )
    score = forms.CharField(required=False, max_length=100)
    score_value = forms.CharField(required=False, max_length=200)
    score_min = forms.FloatField(required=False)
    score_max = forms.FloatField(required=False)
    # A column of SESSION_SORTS or a score column (`score:<name>`), `-` first for descending.
    sort = forms.CharField(required=False, max_length=110)
    # A score sort's cursor holds its label (up to 200 characters, JSON-escaped).
    cursor = forms.CharField(required=False, max_length=2000)
    before = forms.CharField(required=False, max_length=2000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # `from` and `to` are Python keywords, so they are added here rather than declared (the
        # spent days with them, alike). Days outside 1970..9000 are field errors, as on the
        # costs page (the list adds a day).
        for name in ("from", "to", "spent_from", "spent_to"):
            self.fields[name] = forms.DateField(
                required=False, input_formats=["%Y-%m-%d"], validators=[day_in_range]
            )

    def clean_sort(self) -> str:
        sort = self.cleaned_data.get("sort", "")
        column = sort.removeprefix("-")
        name = column.removeprefix(SCORE_SORT_PREFIX)
        if (
            sort
            and sort not in SORT_VALUES
            and not (
                column.startswith(SCORE_SORT_PREFIX)
                and name.strip() == name
                and 0 < len(name) <= 100
            )
        ):
            raise forms.ValidationError("Sort by a column of the list.")
        return sort

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("min_cost"), data.get("max_cost")
        if low is not None and high is not None and high <= low:
            # Reported and ignored like any invalid field: the list is then `min_cost` alone.
            self.add_error("max_cost", "Max cost must be more than min cost.")
        return data

    def clean_meta(self) -> tuple[str, str]:
        raw = self.cleaned_data.get("meta", "")
        if not raw:
            return ("", "")
        key, sep, value = raw.partition("=")
        key = key.strip()
        # "__" would turn into a nested JSON path lookup; keys are plain names here.
        if not sep or not META_KEY.match(key) or "__" in key:
            raise forms.ValidationError("Use key=value, the key made of letters, digits, _ . -")
        return (key, value.strip())

    def filters(self) -> SessionFilters:
        """The valid filters; an invalid field is left out (its error is shown on the page)."""
        data = self.cleaned_data if self.is_bound else {}
        get = lambda name, default="": data.get(name) or default  # noqa: E731
        meta_key, meta_value = data.get("meta") or ("", "")
        return SessionFilters(
            agent=get("agent").strip(),
            user=get("user").strip(),
            status=get("status"),
            kind=get("kind"),
            model=get("model").strip(),
            date_from=data.get("from"),
            date_to=data.get("to"),
            spent_from=data.get("spent_from"),
            spent_to=data.get("spent_to"),
            min_cost=data.get("min_cost"),
            max_cost=data.get("max_cost"),
            has_errors=bool(data.get("has_errors")),
            meta_key=meta_key,
            meta_value=meta_value,
            q=get("q").strip(),
            review=get("review"),
            score=get("score").strip(),
            score_value=get("score_value").strip(),
            score_min=data.get("score_min"),
            score_max=data.get("score_max"),
            sort=get("sort", DEFAULT_SORT),
        )
