"""Stable addresses into transcripts: a session by its own id, the header's paste box, and the
jumps to the next or previous error or search hit."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse

from sessions_app.selectors.sessions import session_for_page
from sessions_app.selectors.transcript import (
    error_seq_after,
    error_seq_before,
    event_location,
    hit_seq_after,
    hit_seq_before,
    session_pk_by_external_id,
)

from ..access import project_for
from ..http import DashboardRequest
from .session import JUMPS, MAX_FIND, _int_param

# A request whose path held `%2F` has it as this character in the view's arguments once the
# API hardening's WSGI wrapper rebuilds PATH_INFO (config/handlers.py, ENCODED_SLASH and its
# request marker); without that wrapper the server decodes `%2F` to `/` itself, which the
# `path` converter takes as part of the id.
ENCODED_SLASH = "\x00"
ENCODED_SLASH_KEY = "sessionscope.encoded_slashes"


def session_at(slug: str, pk: int, *, at: int | None = None, find: str = "", **extra: str) -> str:
    """The session page's address, opened at event `at` (scrolled to it without JavaScript)."""
    query: dict[str, str | int] = {}
    if at is not None:
        query["at"] = at
    if find:
        query["find"] = find
    query.update({k: v for k, v in extra.items() if v})
    url = reverse("dashboard:session_detail", args=[slug, pk])
    if query:
        url += "?" + urlencode(query)
    return f"{url}#ev-{at}" if at is not None else url


@login_required
def session_by_external_id(
    request: DashboardRequest, slug: str, external_id: str
) -> HttpResponseRedirect:
    """`/p/<project>/s/<session id>`: the session page of the session with that id (a `/` in
    the id sent as `%2F`), keeping `?at=` and `?find=`."""
    project = project_for(request, slug)
    if request.META.get(ENCODED_SLASH_KEY):
        external_id = external_id.replace(ENCODED_SLASH, "/")
    pk = session_pk_by_external_id(project, external_id)
    if pk is None:
        raise Http404("No session with this id in this project.")
    url = reverse("dashboard:session_detail", args=[slug, pk])
    query = request.GET.urlencode()
    at = request.GET.get("at", "")
    return HttpResponseRedirect(
        url + (f"?{query}" if query else "") + (f"#ev-{at}" if at.isdigit() else "")
    )


@login_required
def go_to_id(request: DashboardRequest, slug: str) -> HttpResponseRedirect:
    """The header's paste box: a session's id opens the session, an event's id opens its
    session at that event; any other text goes to the sessions list's full-text search."""
    project = project_for(request, slug)
    text = request.GET.get("id", "").strip()[:255]
    if not text:
        return HttpResponseRedirect(reverse("dashboard:session_list", args=[slug]))
    pk = session_pk_by_external_id(project, text)
    if pk is not None:
        return HttpResponseRedirect(session_at(slug, pk))
    located = event_location(project, text)
    if located is not None:
        return HttpResponseRedirect(session_at(slug, located[0], at=located[1]))
    url = reverse("dashboard:session_list", args=[slug])
    return HttpResponseRedirect(f"{url}?{urlencode({'q': text})}")


@login_required
def session_jump(request: DashboardRequest, slug: str, pk: int) -> HttpResponseRedirect:
    """`?to=next-error|prev-error|next-hit|prev-hit&from=<seq>[&find=<text>]`: the session page
    at the next or previous error or search hit; back at `from`, saying so, when there is none."""
    project = project_for(request, slug)
    session = session_for_page(project, pk)
    to = request.GET.get("to", "")
    if to not in JUMPS:
        raise BadRequest(f"to must be one of {', '.join(JUMPS)}.")
    origin = _int_param(request, "from") or 0
    find = request.GET.get("find", "").strip()[:MAX_FIND]
    show_removed = request.GET.get("removed") == "1"
    if to.endswith("-hit") and not find:
        raise BadRequest("A jump to a search hit needs find=<text>.")
    if to == "next-error":
        seq = error_seq_after(session, origin, show_removed=show_removed)
    elif to == "prev-error":
        seq = error_seq_before(session, origin, show_removed=show_removed)
    elif to == "next-hit":
        seq = hit_seq_after(session, find, origin, show_removed=show_removed)
    else:
        seq = hit_seq_before(session, find, origin, show_removed=show_removed)
    # A jump keeps the transcript's removed events shown when they were.
    removed = "1" if show_removed else ""
    if seq is None:
        return HttpResponseRedirect(
            session_at(slug, pk, at=origin or None, find=find, none=to, removed=removed)
            if origin
            else session_at(slug, pk, find=find, none=to, removed=removed)
        )
    return HttpResponseRedirect(session_at(slug, pk, at=seq, find=find, removed=removed))
