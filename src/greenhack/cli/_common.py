"""What every verb shares: loading the event, printing errors, exit codes."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

import typer

from greenhack.config import EventConfig
from greenhack.errors import ConfigError
from greenhack.preflight import load_checked_event

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILED",
    "EXIT_UNAVAILABLE",
    "OutputFormat",
    "command_modules",
    "error",
    "fail",
    "load_config_or_exit",
    "print_json",
]

# Exit codes: 0 ok, 1 an operation failed, 2 bad input (config, predictions, arguments),
# 3 a service we depend on is unavailable (Prometheus, BoaviztAPI, GitLab).
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_UNAVAILABLE = 3

# Verb modules, in `greenhack --help` order; a missing module is a packaging bug, so import errors surface.
_COMMAND_MODULES = [
    "greenhack.cli.config_cmd",
    "greenhack.cli.deploy_cmd",
    "greenhack.cli.telemetry_cmd",
    "greenhack.cli.impacts_cmd",
    "greenhack.cli.measure_cmd",
    "greenhack.cli.demo_cmd",
    "greenhack.cli.score_cmd",
    "greenhack.cli.db_cmd",
    "greenhack.cli.serve_cmd",
    "greenhack.cli.gitlab_cmd",
    "greenhack.cli.admin_cmd",
]


def command_modules() -> Iterator[ModuleType]:
    for name in _COMMAND_MODULES:
        yield importlib.import_module(name)


class OutputFormat(str, Enum):
    table = "table"
    json = "json"


def error(message: str) -> None:
    typer.secho(f"error: {message}" if "\n" not in message else message, err=True, fg="red")


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    error(message)
    raise typer.Exit(code)


def load_config_or_exit(path: Path) -> EventConfig:
    """Load the event YAML or print every problem (FILE:LINE: key: message) and exit 2."""
    try:
        return load_checked_event(path)
    except ConfigError as exc:
        for problem in exc.problems:
            typer.secho(str(problem), err=True, fg="red")
        n = len(exc.problems)
        typer.secho(f"{n} problem{'s' if n != 1 else ''} in {path}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, default=str, ensure_ascii=False)
    sys.stdout.write("\n")
