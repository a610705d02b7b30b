"""Every module declares its public surface in ``__all__``, and ``__all__`` is exactly that surface.

Modelled on httpx's ``tests/test_exported_members.py``, which asserts that its top level's ``__all__`` equals its
public names. Here, for every module of the package:

- every public name the module defines (a function, a class, a constant or a type alias at its top level, not
  starting with an underscore) is in ``__all__``;
- every name in ``__all__`` is one the module defines or imports (an import listed in ``__all__`` is a deliberate
  re-export, as ``greenhack.telemetry`` does for its submodules);
- ``__all__`` names nothing twice.

Imported names that ``__all__`` does not list are the module's tools, not its surface (``datetime``,
``BaseModel``), as are imported modules and ``annotations``. So are a module's logger and its type variables:
exporting ``log`` would shadow the importer's own logger under ``from module import *``.
"""

from __future__ import annotations

import ast
import importlib
import logging
import pkgutil
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TypeVar

import greenhack

# Alembic's env.py and revision files are scripts run by Alembic, and __main__ modules run the CLI on import.
SKIP_PARTS = ("alembic", "__main__")


def all_modules() -> list[str]:
    names = ["greenhack"]
    for info in pkgutil.walk_packages(greenhack.__path__, prefix="greenhack."):
        if not any(part in info.name.split(".") for part in SKIP_PARTS):
            names.append(info.name)
    return names


def _top_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Top-level statements, including those under a top-level ``if``/``try``/``with`` (not inside functions)."""
    for node in body:
        yield node
        if isinstance(node, ast.If | ast.With):
            yield from _top_level(node.body)
            yield from _top_level(getattr(node, "orelse", []))
        elif isinstance(node, ast.Try):
            yield from _top_level(node.body)
            for handler in node.handlers:
                yield from _top_level(handler.body)
            yield from _top_level(node.orelse)
            yield from _top_level(node.finalbody)


def _bound(target: ast.expr) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            yield from _bound(element)


def defined_and_imported(module: ModuleType) -> tuple[set[str], set[str]]:
    """The names ``module``'s source binds at its top level by definition, and those it binds by import."""
    assert module.__file__ is not None
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    defined: set[str] = set()
    imported: set[str] = set()
    for node in _top_level(tree.body):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            defined.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                defined.update(_bound(target))
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            defined.update(_bound(node.target))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            imported.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return defined, imported


def public_names(module: ModuleType) -> set[str]:
    """What ``module`` defines that does not start with an underscore (its logger and type variables aside)."""
    defined, _ = defined_and_imported(module)
    return {
        name
        for name in defined
        if not name.startswith("_")
        and not isinstance(getattr(module, name, None), logging.Logger | TypeVar)
    }


def test_every_module_has_an_all_that_is_its_public_surface() -> None:
    missing, unexported, foreign, dangling, repeated = [], [], [], [], []
    for name in all_modules():
        module = importlib.import_module(name)
        exported = getattr(module, "__all__", None)
        if exported is None:
            missing.append(name)
            continue
        defined, imported = defined_and_imported(module)
        unexported += [f"{name}.{item}" for item in sorted(public_names(module) - set(exported))]
        foreign += [f"{name}.{item}" for item in exported if item not in defined | imported]
        dangling += [f"{name}.{item}" for item in exported if not hasattr(module, item)]
        repeated += [f"{name}.{item}" for item in set(exported) if exported.count(item) > 1]
    assert not missing, f"modules without __all__: {missing}"
    assert not unexported, f"public names missing from __all__ (export them or start them with _): {unexported}"
    assert not foreign, f"__all__ names the module neither defines nor imports: {foreign}"
    assert not dangling, f"__all__ names that do not exist: {dangling}"
    assert not repeated, f"names listed twice in __all__: {repeated}"


def test_the_surface_check_sees_definitions_imports_and_exclusions(tmp_path: Path) -> None:
    """The rule itself, on a module written for it: it must flag what a wrong ``__all__`` would hide."""
    module = ModuleType("probe")
    source = (
        "from __future__ import annotations\n"
        "import logging\n"
        "from typing import TypeVar\n"
        "from datetime import datetime\n"
        "log = logging.getLogger(__name__)\n"
        "T = TypeVar('T')\n"
        "LIMIT, OTHER = 1, 2\n"
        "_hidden = 3\n"
        "if True:\n"
        "    def helper() -> None: ...\n"
        "class Thing: ...\n"
        "def _private() -> None: ...\n"
    )
    path = tmp_path / "probe.py"
    path.write_text(source, encoding="utf-8")
    module.__file__ = str(path)
    exec(compile(source, str(path), "exec"), module.__dict__)
    assert public_names(module) == {"LIMIT", "OTHER", "helper", "Thing"}
    defined, imported = defined_and_imported(module)
    assert {"logging", "TypeVar", "datetime", "annotations"} <= imported and "datetime" not in defined
