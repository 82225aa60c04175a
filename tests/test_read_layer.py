"""The read layer holds every query: no module of the pages or of the API runs one itself.

An AST scan of `dashboard/` and `sessions_app/api/` for what builds or runs a query: a model's
manager (`.objects`), a raw cursor or `.raw()`/`.extra()`, `get_object_or_404`, and the
QuerySet methods that build one (`.filter()`, `.annotate()`, ...). Reads go through
`sessions_app/selectors/`; writes through `sessions_app/services/`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("dashboard", "sessions_app/api")
# The health check pings the database on purpose: it reports whether the database answers.
ALLOWED = {("sessions_app/api/health.py", "cursor")}
QUERY_METHODS = frozenset(
    {
        "all",
        "filter",
        "exclude",
        "first",
        "last",
        "latest",
        "earliest",
        "annotate",
        "alias",
        "aggregate",
        "values_list",
        "select_related",
        "prefetch_related",
        "only",
        "defer",
        "in_bulk",
        "order_by",
        "distinct",
        "exists",
        "extra",
        "raw",
        "select_for_update",
        "get_or_create",
        "update_or_create",
        "bulk_create",
        "bulk_update",
        "iterator",
        "cursor",
    }
)
QUERY_FUNCTIONS = frozenset({"get_object_or_404", "get_list_or_404"})


def query_sites(source: str) -> list[tuple[int, str]]:
    """(line, what) for each place in `source` that builds or runs a query itself."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr == "objects":
            found.append((node.lineno, node.attr))
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in QUERY_METHODS:
                found.append((node.lineno, func.attr))
            elif isinstance(func, ast.Name) and func.id in QUERY_FUNCTIONS:
                found.append((node.lineno, func.id))
    return found


def scanned_modules() -> list[Path]:
    return sorted(
        p for d in SCANNED for p in (ROOT / d).rglob("*.py") if "migrations" not in p.parts
    )


def test_the_scan_finds_every_kind_of_query():
    source = """
from django.db import connection
from django.shortcuts import get_object_or_404
a = Event.objects.all()
b = session.runs.filter(pk=1).exists()
c = get_object_or_404(Run, pk=1)
with connection.cursor() as cursor:
    cursor.execute("SELECT 1")
d = qs.extra(where=["1 = 1"])
e = Event.objects.raw("SELECT 1")
f = rows.values_list("pk", flat=True)
"""
    kinds = {what for _, what in query_sites(source)}
    assert kinds == {
        "objects",
        "all",
        "filter",
        "exists",
        "get_object_or_404",
        "cursor",
        "extra",
        "raw",
        "values_list",
    }


def test_the_scan_leaves_dicts_forms_and_requests_alone():
    source = """
value = request.GET.get("q", "")
data = form.cleaned_data.get("from")
totals = {k: v for k, v in by_source.items()}
rows = list(by_source.values())
cursor = filters.cursor
"""
    assert query_sites(source) == []


def test_the_scan_covers_the_pages_and_the_api():
    names = {p.relative_to(ROOT).as_posix() for p in scanned_modules()}
    assert "dashboard/views/costs.py" in names
    assert "dashboard/access.py" in names
    assert "dashboard/forms.py" in names
    assert "dashboard/templatetags/dashboard.py" in names
    assert "sessions_app/api/usage.py" in names


@pytest.mark.parametrize("path", scanned_modules(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_page_or_api_module_runs_a_query_itself(path):
    name = path.relative_to(ROOT).as_posix()
    sites = [
        f"{name}:{line} {what}"
        for line, what in query_sites(path.read_text())
        if (name, what) not in ALLOWED
    ]
    assert sites == [], "read through sessions_app/selectors/ instead"
