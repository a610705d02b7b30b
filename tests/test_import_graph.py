"""The package has no import cycle: neither between modules nor between greenhack's subpackages.

The graph is read from the source with ``ast`` (nothing is imported): every ``import``/``from ... import``
counts, at module level or inside a function (a deferred import is still a dependency); relative imports are
resolved against the importing module; packages' ``__init__`` modules are nodes like any other, and importing
``a.b.c`` from outside ``a.b`` also runs ``a/b/__init__.py``, so it depends on that too (the importer's own
packages are already initialised); ``from a.b import c`` depends on the module ``a.b.c`` when there is one.

Two graphs are checked: the modules' graph (a cycle there is an import-order accident waiting to happen) and the
graph of greenhack's top-level parts (``config``, ``scoring``, ``store``, ``feedback``, ``evaluation``, ...),
where ``store -> feedback -> store`` is a cycle even when no single module imports itself back: the parts could
not be understood, tested or split off one without the other.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = "greenhack"
# Alembic's revision scripts and env.py are loaded by Alembic from files, never imported as modules
SKIP_PARTS = ("alembic",)


def _modules(src: Path = SRC) -> dict[str, Path]:
    """Every module of the package by dotted name (packages by their ``__init__``)."""
    out: dict[str, Path] = {}
    for path in sorted((src / ROOT).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if any(p in SKIP_PARTS for p in parts):
            continue
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _parents(name: str) -> Iterator[str]:
    """``a.b.c`` -> ``a``, ``a.b`` (the packages whose ``__init__`` runs first)."""
    parts = name.split(".")
    for i in range(1, len(parts)):
        yield ".".join(parts[:i])


def _imports(name: str, path: Path, modules: Mapping[str, Path]) -> set[str]:
    """The package's modules that ``name`` imports, anywhere in its body."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def add(target: str) -> None:
        if target in modules:
            found.add(target)
        found.update(p for p in _parents(target) if p in modules)

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = name if is_package else name.rpartition(".")[0]
                base_parts = package.split(".")
                if node.level > 1:
                    base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            add(base)
            for alias in node.names:  # from a.b import c: c may be a module
                if f"{base}.{alias.name}" in modules:
                    add(f"{base}.{alias.name}")
    # the importer's own packages are initialised before it runs (``a.b.c`` importing ``a.b.d`` does not wait on
    # ``a.b``'s __init__): they are not dependencies
    found.discard(name)
    found.difference_update(_parents(name))
    return found


def module_graph(src: Path = SRC) -> dict[str, set[str]]:
    modules = _modules(src)
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _part(module: str) -> str | None:
    """The top-level part of greenhack a module belongs to (``greenhack.store.queue`` -> ``store``)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def part_graph(modules: Mapping[str, set[str]]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, targets in modules.items():
        source = _part(name)
        if source is None:
            continue
        edges = graph.setdefault(source, set())
        edges.update(t for t in map(_part, targets) if t is not None and t != source)
    return graph


def components(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each sorted: the nodes on cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return sorted(found)


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component, as a closed path (``a -> b -> a``)."""
    return [_closed_path(graph, set(c)) for c in components(graph)]


def _closed_path(graph: Mapping[str, set[str]], component: set[str]) -> list[str]:
    """A shortest path from the component's first node back to itself, within the component."""
    start = min(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph.get(node, set()) & component):
                if nxt == start:
                    return [*paths[node], start]
                if nxt not in paths:
                    paths[nxt] = [*paths[node], nxt]
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"{sorted(component)} is not strongly connected")  # pragma: no cover


def _describe(found: list[list[str]]) -> str:
    return "; ".join(" -> ".join(cycle) for cycle in found)


def _members(graph: Mapping[str, set[str]]) -> str:
    """The nodes on cycles, per component, for the failure message (the cycle shown is one path of each)."""
    return "; ".join(", ".join(c) for c in components(graph))


def test_greenhacks_parts_import_each_other_in_one_direction_only() -> None:
    graph = part_graph(module_graph())
    found = cycles(graph)
    assert not found, f"import cycles between greenhack's parts: {_describe(found)} (on them: {_members(graph)})"


def test_no_module_imports_itself_back() -> None:
    graph = module_graph()
    found = cycles(graph)
    assert not found, f"import cycles between modules: {_describe(found)} (on cycles: {_members(graph)})"


def _third_party(path: Path) -> set[str]:
    """Top-level names of what a module imports from outside the package."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module.split(".")[0])
    return names - {ROOT}


def test_the_worker_and_the_evaluation_leave_the_database_to_the_store() -> None:
    modules = _modules()
    for name in (f"{ROOT}.worker", f"{ROOT}.evaluation"):
        assert "sqlalchemy" not in _third_party(modules[name]), f"{name} runs SQL itself"


# --- the walker itself, on a small package written for the test -----------------------------------------------


def _write(root: Path, files: Mapping[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    _write(
        tmp_path,
        {
            "greenhack/__init__.py": "",
            "greenhack/config.py": "def f():\n    from greenhack.scoring import expression\n",
            "greenhack/scoring/__init__.py": "from .ranking import rank\n",
            "greenhack/scoring/ranking.py": "from ..config import Cfg\n",
            "greenhack/scoring/expression.py": "X = 1\n",
            "greenhack/store/__init__.py": "",
            "greenhack/store/boards.py": "import greenhack.feedback.lifecycle\n",
            "greenhack/feedback/__init__.py": "",
            "greenhack/feedback/lifecycle.py": "from greenhack.store import db\n",
            "greenhack/store/db.py": "",
            "greenhack/store/alembic/env.py": "import greenhack.store.boards\n",
        },
    )
    return tmp_path


def test_the_walker_resolves_relative_deferred_and_package_imports(toy: Path) -> None:
    graph = module_graph(toy)
    # a function-level import, and the package's __init__ it runs
    assert graph["greenhack.config"] == {"greenhack.scoring", "greenhack.scoring.expression"}
    # a package's own __init__ counts; relative imports resolve; a sibling does not depend on its package
    assert graph["greenhack.scoring"] == {"greenhack.scoring.ranking"}
    assert graph["greenhack.scoring.ranking"] == {"greenhack.config"}
    assert graph["greenhack.feedback.lifecycle"] == {"greenhack.store", "greenhack.store.db"}
    assert "greenhack.store.alembic.env" not in graph


def test_the_walker_names_module_and_part_cycles(toy: Path) -> None:
    modules = module_graph(toy)
    # a function-level import closes config -> scoring (__init__) -> scoring.ranking -> config
    assert cycles(modules) == [
        ["greenhack.config", "greenhack.scoring", "greenhack.scoring.ranking", "greenhack.config"]
    ]
    # store -> feedback -> store is a cycle of parts though no module imports itself back
    assert cycles(part_graph(modules)) == [["config", "scoring", "config"], ["feedback", "store", "feedback"]]
