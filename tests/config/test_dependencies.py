"""Every runtime dependency in pyproject.toml is used by the application, none only listed."""

from __future__ import annotations

import ast
import re
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("config", "sessions_app", "dashboard")
# Used without an import: the server `make run` and the README's production command start.
RUN_AS_COMMANDS = {"gunicorn"}


def _runtime_distributions() -> set[str]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        deps = tomllib.load(f)["project"]["dependencies"]
    return {re.split(r"[\[~=<>!; ]", dep, maxsplit=1)[0].lower() for dep in deps}


def _names_used() -> set[str]:
    """Top-level modules imported by the apps, and dotted paths named in strings (settings)."""
    used: set[str] = set()
    for package in APPS:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    used.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    used.add(node.module.split(".")[0])
                elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                    used.add(node.value.split(".")[0])
    return used


def test_every_runtime_dependency_is_imported_by_the_application():
    modules_of: dict[str, set[str]] = {}
    for module, dists in packages_distributions().items():
        for dist in dists:
            modules_of.setdefault(dist.lower().replace("_", "-"), set()).add(module)
    used = _names_used()
    unused = sorted(
        dist
        for dist in _runtime_distributions() - RUN_AS_COMMANDS
        if not modules_of.get(dist.replace("_", "-"), set()) & used
    )
    assert unused == []
