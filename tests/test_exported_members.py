"""Every module declares its public surface in ``__all__``, and every name listed there exists."""

from __future__ import annotations

import importlib
import pkgutil

import greenhack

# Alembic's env.py and revision files are scripts run by Alembic, and __main__ modules run the CLI on import.
SKIP_PARTS = ("alembic", "__main__")


def all_modules() -> list[str]:
    names = ["greenhack"]
    for info in pkgutil.walk_packages(greenhack.__path__, prefix="greenhack."):
        if not any(part in info.name.split(".") for part in SKIP_PARTS):
            names.append(info.name)
    return names


def test_every_module_has_a_consistent_all() -> None:
    missing, dangling = [], []
    for name in all_modules():
        module = importlib.import_module(name)
        exported = getattr(module, "__all__", None)
        if exported is None:
            missing.append(name)
            continue
        dangling += [f"{name}.{item}" for item in exported if not hasattr(module, item)]
    assert not missing, f"modules without __all__: {missing}"
    assert not dangling, f"__all__ names that do not exist: {dangling}"
