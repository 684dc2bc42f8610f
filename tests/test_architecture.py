"""The rooms and their one-way imports (docs/architecture.md), checked over the source tree's AST.

Every import counts, lazy ones (inside a function) included: a lazy import hides a cycle from Python's
start-up, not from this test.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ROOMS = ("connectors", "warehouse", "analysis", "maps", "cities", "flows", "devkit")

#: room -> rooms it must never import (DEVELOPERS.md, ../shared/DESIGN.md)
FORBIDDEN = {
    "connectors": {"warehouse", "analysis", "maps", "flows", "cities", "devkit"},
    "warehouse": {"connectors", "analysis", "maps", "flows", "cities", "devkit"},
    "analysis": {"connectors", "maps", "flows", "cities", "devkit"},
    "maps": {"connectors", "flows", "cities", "devkit"},
    "cities": {"analysis", "maps", "flows", "devkit"},
}
#: the only modules outside tests/bench that may import the devkit: the CLI (demo, portal, run --replay) and
#: the flow's replay branch (an offline run serves the profile's files through the loopback portal)
DEVKIT_USERS = {"civicmash.flows.cli", "civicmash.flows.pipeline"}


def _module_name(path: Path) -> str:
    rel = path.relative_to(REPO).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(["civicmash", *parts])


def _sources() -> dict[str, Path]:
    out = {}
    for room in ROOMS:
        for path in sorted((REPO / room).rglob("*.py")):
            out[_module_name(path)] = path
    return out


def _imports(name: str, path: Path, known: set[str]) -> list[tuple[str, int]]:
    """(imported civicmash module, line) for every import in the file, relative and lazy ones included."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.append((mod, node.lineno))
            # "from civicmash.analysis import routing" imports the module civicmash.analysis.routing
            found += [(f"{mod}.{a.name}", node.lineno) for a in node.names if f"{mod}.{a.name}" in known]
    out = []
    for mod, line in found:
        if mod.split(".")[0] in ROOMS:
            pytest.fail(f"{path.relative_to(REPO)}:{line} imports {mod!r}: use civicmash.{mod} (one namespace)")
        if mod.startswith("civicmash.") and mod in known:
            out.append((mod, line))
    return out


def _graph() -> dict[str, list[tuple[str, int]]]:
    sources = _sources()
    known = set(sources)
    return {name: [(m, ln) for m, ln in _imports(name, path, known) if m != name] for name, path in sources.items()}


def _room(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def test_rooms_import_one_way():
    bad = []
    for name, deps in _graph().items():
        room = _room(name)
        for dep, line in deps:
            target = _room(dep)
            if target in FORBIDDEN.get(room, ()):
                bad.append(f"{name}:{line} imports {dep} ({room}/ must not import {target}/)")
            if target == "devkit" and room != "devkit" and name not in DEVKIT_USERS:
                bad.append(f"{name}:{line} imports {dep} (only tests, bench and {sorted(DEVKIT_USERS)} may)")
    assert not bad, "\n".join(bad)


def test_no_import_cycles_between_modules():
    graph = {name: sorted({d for d, _ in deps}) for name, deps in _graph().items()}
    # a package imports its own modules (civicmash.x -> civicmash.x.y) only to re-export: not a cycle edge back
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for dep in graph.get(node, ()):
            if state.get(dep) == 1:
                cycles.append(" -> ".join(stack[stack.index(dep):] + [dep]))
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_checker_sees_lazy_and_relative_imports(tmp_path):
    """The walk above must count an import inside a function and a relative one (else a hidden cycle passes)."""
    src = tmp_path / "m.py"
    src.write_text("from . import sibling\n\ndef f():\n    from civicmash.maps import render\n")
    mods = [m for m, _ in _imports("civicmash.analysis.m", src, {"civicmash.analysis.sibling", "civicmash.maps.render"})]
    assert mods == ["civicmash.analysis", "civicmash.analysis.sibling", "civicmash.maps", "civicmash.maps.render"] or \
        set(mods) >= {"civicmash.analysis.sibling", "civicmash.maps.render"}


def test_installed_names_live_under_one_namespace():
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    packages = project["tool"]["setuptools"]["packages"]
    assert all(p == "civicmash" or p.startswith("civicmash.") for p in packages), packages
    assert {f"civicmash.{r}" for r in ROOMS} <= set(packages)
    import civicmash.flows.cli as cli

    assert Path(cli.__file__).resolve() == REPO / "flows" / "cli.py"
