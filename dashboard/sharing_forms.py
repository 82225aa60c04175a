"""Forms of saved views and share links."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.http import QueryDict

from sessions_app.list_query import SessionFilterForm
from sessions_app.models.sharing import SHARE_LINK_DEFAULT_DAYS
from sessions_app.selectors.session_list import DEFAULT_SORT
from sessions_app.services.sharing import MAX_SHARE_DAYS

# Paging is where you are in a view, not part of it.
NOT_SAVED = {"cursor"}
# Values that mean the same as leaving the field out (the filter form sends its sort along).
DEFAULTS = {"sort": DEFAULT_SORT}


def list_query(data: QueryDict) -> str:
    """The list's query string as a view keeps it: the filter form's valid, non-empty fields
    (whatever fields the form has), keys sorted, no cursor."""
    form = SessionFilterForm(data)
    form.is_valid()
    pairs: list[tuple[str, str]] = []
    for name in sorted(form.fields):
        if name in NOT_SAVED or name in form.errors:
            continue
        for value in data.getlist(name):
            if value != "" and value != DEFAULTS.get(name):
                pairs.append((name, value))
    return urlencode(pairs)


class SavedViewForm(forms.Form):
    """A name for the list's current filters, and whether the project sees it too."""

    name = forms.CharField(max_length=100)
    shared = forms.BooleanField(required=False)
    query = forms.CharField(required=False, max_length=2000)


class ShareLinkForm(forms.Form):
    """How long a new share link lasts, and a note on who it is for."""

    days = forms.IntegerField(
        min_value=1, max_value=MAX_SHARE_DAYS, initial=SHARE_LINK_DEFAULT_DAYS
    )
    note = forms.CharField(required=False, max_length=200)
