"""Reads of one session and its tree: by id for the pages, by external id for the API."""

from __future__ import annotations

import pytest
from django.http import Http404

from sessions_app.errors import NotFound
from sessions_app.models import AgentSession
from sessions_app.selectors.sessions import (
    session_by_external_id,
    session_external_ids,
    session_heading,
    session_or_none,
    session_subtree_size,
)
from sessions_app.services.sessions import session_upsert

pytestmark = pytest.mark.django_db


def _tree(project) -> AgentSession:
    session_upsert(project=project, external_id="root", fields={})
    session_upsert(project=project, external_id="kid", fields={}, parent_external_id="root")
    session_upsert(project=project, external_id="grandkid", fields={}, parent_external_id="kid")
    return AgentSession.objects.get(project=project, external_id="root")


def test_deleting_a_session_would_remove_its_whole_subtree(project):
    root = _tree(project)
    assert session_subtree_size(root)["sessions"] == 3
    kid = AgentSession.objects.get(external_id="kid")
    assert session_subtree_size(kid)["sessions"] == 2


def test_the_api_addresses_a_session_by_external_id_with_its_parents(project):
    _tree(project)
    kid = session_by_external_id(project, "kid")
    assert kid.parent_external_id == "root"
    assert session_or_none(project, "kid").pk == kid.pk


def test_another_projects_session_is_not_found(project, other_project):
    theirs = _tree(other_project)
    with pytest.raises(NotFound):
        session_by_external_id(project, "root")
    assert session_or_none(project, "root") is None
    with pytest.raises(Http404):
        session_heading(project, theirs.pk)


def test_external_ids_come_by_primary_key(project):
    root = _tree(project)
    kid = AgentSession.objects.get(external_id="kid")
    assert session_external_ids({root.pk, kid.pk}) == {root.pk: "root", kid.pk: "kid"}
