"""The tree page: a whole session tree from its root, nodes expanding lazily."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.template.response import TemplateResponse

from sessions_app.selectors.sessions import (
    session_children_page,
    session_for_page,
    session_subtree_totals,
)

from ..access import project_for
from ..http import DashboardRequest
from .common import chrome

PAGE_SIZE = 50


@login_required
def session_tree(request: DashboardRequest, slug: str, pk: int) -> HttpResponse:
    """The tree that contains the session: the root with its totals and its first children."""
    project = project_for(request, slug)
    session = session_for_page(project, pk)
    root = (
        session
        if session.root_id is None or session.root_id == session.pk
        else session_for_page(project, session.root_id)
    )
    children, children_after = session_children_page(root, limit=PAGE_SIZE)
    context = chrome(
        request,
        project,
        session=session,
        root=root,
        subtree=session_subtree_totals(root),
        parent=root,
        children=children,
        children_after=children_after,
        current_pk=session.pk,
        nav="sessions",
    )
    return TemplateResponse(request, "dashboard/tree.html", context)
