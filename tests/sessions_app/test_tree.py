"""Tree invariants: root, depth, path and children counts stay right as trees grow and move."""

import pytest

from sessions_app.errors import InvalidInput
from sessions_app.models import AgentSession
from sessions_app.selectors.sessions import session_ancestors, session_subtree
from sessions_app.services.sessions import session_upsert

pytestmark = pytest.mark.django_db


def _get(external_id: str) -> AgentSession:
    return AgentSession.objects.get(external_id=external_id)


def _check_invariants(project) -> None:
    for s in AgentSession.objects.filter(project=project):
        if s.parent_id is None:
            assert s.root_id == s.pk and s.depth == 0 and s.path == f"/{s.pk}/"
        else:
            parent = AgentSession.objects.get(pk=s.parent_id)
            assert s.root_id == parent.root_id
            assert s.depth == parent.depth + 1
            assert s.path == f"{parent.path}{s.pk}/"
        assert s.children_count == AgentSession.objects.filter(parent=s).count()


def test_nested_children_get_root_depth_and_path(project):
    session_upsert(project=project, external_id="a", fields={})
    session_upsert(project=project, external_id="b", fields={}, parent_external_id="a")
    session_upsert(project=project, external_id="c", fields={}, parent_external_id="b")
    session_upsert(
        project=project, external_id="d", fields={}, parent_external_id="b", kind="segment"
    )
    _check_invariants(project)
    assert _get("c").depth == 2
    assert _get("d").kind == "segment"
    assert _get("b").kind == "child"
    assert set(
        AgentSession.objects.filter(root=_get("a")).values_list("external_id", flat=True)
    ) == {"a", "b", "c", "d"}


def test_a_child_reported_before_its_parent_creates_the_parent(project):
    session_upsert(
        project=project, external_id="kid", fields={"title": "t"}, parent_external_id="p"
    )
    session_upsert(project=project, external_id="p", fields={"title": "parent"})
    assert _get("kid").parent == _get("p")
    assert _get("p").title == "parent"
    _check_invariants(project)


def test_moving_a_subtree_rewrites_every_descendant(project):
    for sid, parent in [("r1", None), ("r2", None), ("x", "r1"), ("y", "x"), ("z", "y")]:
        session_upsert(project=project, external_id=sid, fields={}, parent_external_id=parent)
    session_upsert(project=project, external_id="x", fields={}, parent_external_id="r2")
    _check_invariants(project)
    assert _get("z").root == _get("r2")
    assert _get("z").depth == 3
    assert _get("r1").children_count == 0


def test_detaching_a_child_makes_it_a_root(project):
    session_upsert(project=project, external_id="r", fields={})
    session_upsert(project=project, external_id="c", fields={}, parent_external_id="r")
    session_upsert(project=project, external_id="g", fields={}, parent_external_id="c")
    session_upsert(project=project, external_id="c", fields={}, parent_external_id=None)
    _check_invariants(project)
    assert _get("c").kind == "root"
    assert _get("g").root == _get("c")


def test_a_session_cannot_become_its_own_ancestor(project):
    session_upsert(project=project, external_id="a", fields={})
    session_upsert(project=project, external_id="b", fields={}, parent_external_id="a")
    with pytest.raises(InvalidInput) as err:
        session_upsert(project=project, external_id="a", fields={}, parent_external_id="b")
    assert err.value.field == "parent_id"
    _check_invariants(project)


def test_kind_must_agree_with_the_parent(project):
    with pytest.raises(InvalidInput):
        session_upsert(project=project, external_id="s", fields={}, kind="segment")
    session_upsert(project=project, external_id="p", fields={})
    with pytest.raises(InvalidInput):
        session_upsert(
            project=project, external_id="c", fields={}, parent_external_id="p", kind="root"
        )
    assert not AgentSession.objects.filter(external_id__in=["s", "c"]).exists()


def test_subtree_and_ancestors_selectors(project):
    for sid, parent in [("a", None), ("b", "a"), ("c", "b"), ("other", None)]:
        session_upsert(project=project, external_id=sid, fields={}, parent_external_id=parent)
    assert [s.external_id for s in session_ancestors(_get("c"))] == ["a", "b"]
    assert set(session_subtree(_get("b")).values_list("external_id", flat=True)) == {"b", "c"}


def test_trees_never_cross_projects(project, other_project):
    session_upsert(project=project, external_id="p", fields={})
    session_upsert(project=other_project, external_id="c", fields={}, parent_external_id="p")
    child = AgentSession.objects.get(project=other_project, external_id="c")
    assert child.parent.project == other_project
    assert AgentSession.objects.filter(external_id="p").count() == 2
